#!/usr/bin/env bats
# Faults: the guest kernel panics, a create is killed halfway, the agent's
# peer vanishes. After each, delete --force leaves nothing behind: no
# monitor, no virtiofsd, no mount, no state directory.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	container_setup
}

teardown() {
	container_teardown
}

@test "a guest kernel panic ends the container; delete --force leaves nothing" {
	# The VM's kernel is the container's own, so a sysctl may make a
	# cgroup OOM panic it (Kata allows guest-wide sysctls the same way).
	update_config '.linux.sysctl = {"vm.panic_on_oom": "2"} |
		.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
	set_args sh -c 'dd if=/dev/zero of=/dev/null bs=200M count=1'
	husk create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1 </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	husk start c1
	wait_for 120 gone "$pid"
	assert_equal "$(husk state c1 | jq -r .status)" stopped
	# The guest's console, kept in the state directory, names the panic.
	run cat "$HUSK_ROOT/c1/console.log"
	assert_output --partial "Kernel panic - not syncing"
	husk delete --force c1
	[ ! -e "$HUSK_ROOT/c1" ]
	assert_clean
}

@test "a create killed halfway (in its prestart hook) is cleaned up by delete --force" {
	update_config '.hooks = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo $$ >\"$0\"; exec sleep 1000", "'"$BATS_TEST_TMPDIR/in-hook"'"]}]}'
	set_args sleep 1000
	husk create --bundle "$BUNDLE" c1 </dev/null >/dev/null 2>&1 &
	creator=$!
	wait_for 120 test -s "$BATS_TEST_TMPDIR/in-hook"
	# The VM is up, the state says creating, and its creator dies.
	assert_equal "$(husk state c1 | jq -r .status)" creating
	kill -9 "$creator"
	wait "$creator" || true
	kill "$(cat "$BATS_TEST_TMPDIR/in-hook")" || true # the hook, orphaned
	husk delete --force c1
	run husk state c1
	assert_failure 1
	run husk delete --force c1
	assert_success
	assert_clean
}

@test "the monitor killed before start: delete --force, then the id is free again" {
	set_args true
	husk create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1 </dev/null >/dev/null 2>&1
	kill -9 "$(cat "$BATS_TEST_TMPDIR/pid")"
	wait_for 10 gone "$(cat "$BATS_TEST_TMPDIR/pid")"
	run husk start c1
	assert_failure 1
	husk delete --force c1
	run husk run --bundle "$BUNDLE" c1
	assert_success
	assert_clean
}

@test "a guest that dies before its agent answers fails the create with the reason, at once" {
	# An initramfs whose /init exits: the guest kernel panics ("Attempted
	# to kill init") while the monitor still waits to reach the agent. That
	# wait ends with the VM (it used to last its five-minute timeout, per
	# connection), and create reports why the VM stopped.
	printf '#!/bin/busybox sh\nexit 3\n' >"$BATS_TEST_TMPDIR/init"
	printf '%s\n' 'dir /dev 0755' 'nod /dev/console 0600 c 5 1' 'dir /bin 0755' \
		"file /bin/busybox $BUNDLE/rootfs/bin/busybox 0755" \
		"file /init $BATS_TEST_TMPDIR/init 0755" >"$BATS_TEST_TMPDIR/list"
	"$HUSK_SRC/build/guest/mkcpio" "$BATS_TEST_TMPDIR/list" "$BATS_TEST_TMPDIR/dying.cpio"
	jq -n --arg i "$BATS_TEST_TMPDIR/dying.cpio" '{initrd: $i}' >"$BATS_TEST_TMPDIR/husk.json"
	set_args true
	HUSK_CONFIG="$BATS_TEST_TMPDIR/husk.json" run husk create --bundle "$BUNDLE" c1 </dev/null
	assert_failure
	assert_output --partial "the VM stopped: guest kernel panic"
	assert_output --partial "Attempted to kill init"
	husk delete --force c1
	[ ! -e "$HUSK_ROOT/c1" ]
	assert_clean
}
