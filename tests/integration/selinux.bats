#!/usr/bin/env bats
# sVirt labels through create, state and delete, without a VM: the monitor
# named in husk.json is a stand-in that reports ready and exits, so create
# runs its whole host side (state, cgroup, labels) and the container is
# "stopped" right after. The labels themselves are checked against the
# compiled policy in tests/unit/test_selinux.c.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	requires root jq
	common_setup
	setup_empty_bundle
	local fake="$BATS_TEST_TMPDIR/fake-vmm"
	printf '#!/bin/sh\necho ok >&3\n' >"$fake"
	chmod +x "$fake"
	touch "$BATS_TEST_TMPDIR/vmlinux" "$BATS_TEST_TMPDIR/initramfs.cpio"
	export HUSK_CONFIG="$BATS_TEST_TMPDIR/husk.json"
	printf '{"vmm":"%s","kernel":"%s","initrd":"%s"}' "$fake" \
		"$BATS_TEST_TMPDIR/vmlinux" "$BATS_TEST_TMPDIR/initramfs.cpio" >"$HUSK_CONFIG"
	POOL="$HUSK_ROOT/@selinux-mcs"
}

teardown() {
	delete_all
}

# level ID: the MCS level of the container's monitor, from `husk state`.
level() {
	husk state "$1" | jq -r '.annotations["io.husk.selinux.label"]' | cut -d: -f4-
}

@test "create records the sVirt labels; state shows them as annotations" {
	run husk create --bundle "$BUNDLE" c1
	assert_success
	run husk state c1
	assert_success
	local exec file
	exec=$(jq -r '.annotations["io.husk.selinux.label"]' <<<"$output")
	file=$(jq -r '.annotations["io.husk.selinux.file-label"]' <<<"$output")
	[[ "$exec" =~ ^system_u:system_r:husk_vm_t:s0:c([0-9]+),c([0-9]+)$ ]]
	local a=${BASH_REMATCH[1]} b=${BASH_REMATCH[2]}
	[ "$a" -lt "$b" ] && [ "$b" -le 1023 ]
	assert_equal "$file" "system_u:object_r:husk_image_t:s0:c$a,c$b"
	# The pool holds the pair, in c1's name.
	assert_equal "$(cat "$POOL/c$a,c$b")" c1
	# The state record carries it too: what a delete after a crash reads.
	jq -e --arg l "$exec" '.annotations["io.husk.selinux.label"] == $l' "$HUSK_ROOT/c1/state.json"
}

@test "without SELinux the labels are not applied, and the log says so once" {
	[ ! -e /sys/fs/selinux/enforce ] || skip "this host runs SELinux"
	run husk --log "$BATS_TEST_TMPDIR/log" --log-format json create --bundle "$BUNDLE" c1
	assert_success
	assert_equal "$(grep -c 'SELinux is disabled on this host' "$BATS_TEST_TMPDIR/log")" 1
	grep 'SELinux is disabled' "$BATS_TEST_TMPDIR/log" | jq -e '.level == "info"'
	grep -q "husk_vm_t:$(level c1)" "$BATS_TEST_TMPDIR/log"
	# Nothing was labelled: the state directory has no security.selinux.
	if command -v getfattr >/dev/null; then
		run getfattr -n security.selinux "$HUSK_ROOT/c1"
		assert_failure
	fi
	# By hand (no --log) the line is debug: create prints nothing.
	run --separate-stderr husk create --bundle "$BUNDLE" c2
	assert_success
	assert_equal "$stderr" ""
}

@test "two containers get different pairs; delete frees each and leaves no pool" {
	husk create --bundle "$BUNDLE" c1
	husk create --bundle "$BUNDLE" c2
	local l1 l2
	l1=$(level c1)
	l2=$(level c2)
	[ -n "$l1" ] && [ -n "$l2" ]
	[ "$l1" != "$l2" ]
	run ls "$POOL"
	assert_equal "${#lines[@]}" 2
	husk delete c1
	assert [ ! -e "$POOL/${l1#s0:}" ]
	assert [ -e "$POOL/${l2#s0:}" ]
	husk delete --force c2
	assert [ ! -e "$POOL" ]
	run find "$HUSK_ROOT" -mindepth 1
	assert_output ""
}

@test "an engine's process.selinuxLabel and linux.mountLabel are honoured" {
	update_config '.process.selinuxLabel = "system_u:system_r:container_t:s0:c100,c200"'
	update_config '.linux.mountLabel = "system_u:object_r:container_file_t:s0:c100,c200"'
	husk create --bundle "$BUNDLE" c1
	run husk state c1
	echo "$output" | jq -e '.annotations["io.husk.selinux.label"] == "system_u:system_r:husk_vm_t:s0:c100,c200"'
	echo "$output" | jq -e '.annotations["io.husk.selinux.file-label"] == "system_u:object_r:husk_image_t:s0:c100,c200"'
	# Held in the pool, so no other sandbox is given it; freed at delete.
	assert_equal "$(cat "$POOL/c100,c200")" c1
	husk delete c1
	assert [ ! -e "$POOL" ]

	# Only a mount label: both labels take its level.
	update_config 'del(.process.selinuxLabel) | .linux.mountLabel = "system_u:object_r:container_file_t:s0:c3,c9"'
	husk create --bundle "$BUNDLE" c2
	assert_equal "$(level c2)" "s0:c3,c9"
	husk state c2 | jq -e '.annotations["io.husk.selinux.file-label"] == "system_u:object_r:husk_image_t:s0:c3,c9"'
}

@test "two sandboxes an engine gave one level (a pod) share its pair until the last is deleted" {
	update_config '.process.selinuxLabel = "system_u:system_r:container_t:s0:c40,c41"'
	husk create --bundle "$BUNDLE" c1
	husk create --bundle "$BUNDLE" c2
	assert_equal "$(level c1)" "s0:c40,c41"
	assert_equal "$(level c2)" "s0:c40,c41"
	assert_equal "$(cat "$POOL/c40,c41")" "$(printf 'c1\nc2')"
	husk delete c1
	assert_equal "$(cat "$POOL/c40,c41")" c2
	husk delete c2
	assert [ ! -e "$POOL" ]
}

@test "a label that is not one is refused and leaves nothing" {
	update_config '.process.selinuxLabel = "system_u:system_r:container_t:s0;c1"'
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial 'process.selinuxLabel: SELinux label `system_u:system_r:container_t:s0;c1`: bad level'
	run find "$HUSK_ROOT" -mindepth 1
	assert_output ""
}

@test "a create that fails after claiming its pair frees it" {
	printf '#!/bin/sh\necho "error no VM today" >&3\n' >"$BATS_TEST_TMPDIR/fake-vmm"
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "no VM today"
	run find "$HUSK_ROOT" -mindepth 1
	assert_output ""
}

@test "labels forged in config.json annotations are replaced by the runtime's" {
	update_config '.annotations["io.husk.selinux.label"] = "system_u:system_r:unconfined_t:s0-s0:c0.c1023"'
	husk create --bundle "$BUNDLE" c1
	run level c1
	assert_output --regexp '^s0:c[0-9]+,c[0-9]+$'
}

@test "a pair left by a create that crashed is reclaimed at the next delete" {
	husk create --bundle "$BUNDLE" c1
	local l1
	l1=$(level c1)
	# c1's record vanishes without a delete (as after a crash between
	# claiming and recording), and a claim died before naming its owner.
	rm -rf "$HUSK_ROOT/c1"
	: >"$POOL/c1,c2"
	husk create --bundle "$BUNDLE" c2
	[ "$(level c2)" != "s0:c1,c2" ]
	husk delete c2
	assert [ ! -e "$POOL" ]
	run find "$HUSK_ROOT" -mindepth 1
	assert_output ""
	[ -n "$l1" ]
}

@test "delete --force of a container whose state is broken frees what it held" {
	husk create --bundle "$BUNDLE" c1
	echo garbage >"$HUSK_ROOT/c1/state.json"
	run husk delete --force c1
	assert_success
	assert [ ! -e "$POOL" ]
}
