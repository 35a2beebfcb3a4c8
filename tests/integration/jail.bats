#!/usr/bin/env bats
# What `husk create` asks of the monitor's confinement, without a VM: the
# monitor named in husk.json is a stand-in that records its arguments,
# reports ready and exits. The jail itself is tested in vmm.bats (a real
# monitor) and tests/lab/containers/security.bats (a container's).

load helpers

setup() {
	requires root jq
	common_setup
	setup_empty_bundle
	ARGS="$BATS_TEST_TMPDIR/vmm-args"
	local fake="$BATS_TEST_TMPDIR/fake-vmm"
	printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s"\necho ok >&3\n' "$ARGS" >"$fake"
	chmod +x "$fake"
	touch "$BATS_TEST_TMPDIR/vmlinux" "$BATS_TEST_TMPDIR/initramfs.cpio"
	export HUSK_CONFIG="$BATS_TEST_TMPDIR/husk.json"
	config '{}'
}

teardown() {
	delete_all
}

# config JSON: husk.json as JSON, with the stand-in monitor and guest.
config() {
	jq --arg v "$BATS_TEST_TMPDIR/fake-vmm" --arg k "$BATS_TEST_TMPDIR/vmlinux" \
		--arg i "$BATS_TEST_TMPDIR/initramfs.cpio" \
		'. + {vmm: $v, kernel: $k, initrd: $i}' <<<"$1" >"$HUSK_CONFIG"
}

# arg FLAG: the value the monitor was given for FLAG (empty if not given).
arg() {
	sed -n "/^$1\$/{n;p;q}" "$ARGS"
}

@test "every monitor is jailed in its state directory's empty jail; no user change unless asked" {
	husk create --bundle "$BUNDLE" c1
	assert_equal "$(arg --jail)" "$HUSK_ROOT/c1/jail"
	run find "$HUSK_ROOT/c1/jail" -mindepth 1
	assert_output ""
	run grep -x -e --uid -e --gid -e --no-seccomp -e --seccomp-log "$ARGS"
	assert_failure
}

@test "husk.json's vmm_uid and vmm_gid become the monitor's --uid and --gid" {
	config '{"vmm_uid": 4242, "vmm_gid": 4343}'
	husk create --bundle "$BUNDLE" c1
	assert_equal "$(arg --uid)" 4242
	assert_equal "$(arg --gid)" 4343
}

@test "vmm_uid without vmm_gid, a negative or an out-of-range id are refused before any monitor runs" {
	local bad
	for bad in '{"vmm_uid": 4242}' '{"vmm_gid": 4242}' '{"vmm_uid": -1, "vmm_gid": 0}' \
		'{"vmm_uid": 4294967295, "vmm_gid": 0}' '{"vmm_uid": "root", "vmm_gid": 0}'; do
		config "$bad"
		rm -f "$ARGS"
		run husk create --bundle "$BUNDLE" c1
		assert_failure 1
		assert_output --regexp 'vmm_(uid|gid)'
		[ ! -e "$ARGS" ]
		run husk state c1
		assert_failure
	done
}
