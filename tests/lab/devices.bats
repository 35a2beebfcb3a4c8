#!/usr/bin/env bats
# husk-vmm's virtio devices checked from inside a booted guest (the agent's
# self-tests), in the lab when this host cannot boot guests itself.

load ../integration/helpers

KERNEL="$HUSK_SRC/build/guest/vmlinux"
INITRD="$HUSK_SRC/build/guest/initramfs.cpio"
VMM="$HUSK_SRC/build/husk-vmm"

setup() {
	requires guest
	[ -e "$KERNEL" ] || fail "no guest kernel: run make guest"
	LAB_TIMEOUT=240
}

@test "virtio-rng: the guest reads entropy from /dev/hwrng" {
	run in_guest_host "$VMM" --kernel "$KERNEL" --initrd "$INITRD" --cmdline husk.selftest=rng
	assert_success
	assert_line "husk-selftest: PASS rng"
}

@test "virtio-blk: the guest reads a pattern, writes through, and a read-only disk refuses writes" {
	local img="$BATS_TEST_TMPDIR/disk.img" ro="$BATS_TEST_TMPDIR/ro.img"
	"$HUSK_SRC/build/tests/tools/pattern" "$img" $((4 << 20))
	"$HUSK_SRC/build/tests/tools/pattern" "$ro" $((1 << 20))
	local sum_ro
	sum_ro=$(sha256sum <"$ro")
	run in_guest_host "$VMM" --kernel "$KERNEL" --initrd "$INITRD" \
		--blk "$img" --blk "$ro,ro" --cmdline husk.selftest=blk
	assert_success
	assert_line "husk-selftest blk vda bytes=4194304 pattern=ok"
	assert_line "husk-selftest blk vdb read-only=yes"
	assert_line "husk-selftest: PASS blk"
	run dd if="$img" bs=1 skip=$((2 << 20)) count=20 status=none
	assert_output "written by the guest"
	assert_equal "$(sha256sum <"$ro")" "$sum_ro"
}

@test "virtio-vsock: 1 MiB each way, 64 concurrent host connections, checked on both sides" {
	run in_guest_host "$HUSK_SRC/tests/lab/vsock-run" "$BATS_TEST_TMPDIR" --kernel "$KERNEL" \
		--initrd "$INITRD" --cpus 2 --cmdline husk.selftest=vsock
	assert_success
	assert_line "husk-selftest vsock guest->host 1048576 bytes ok"
	assert_line "husk-selftest vsock host->guest 65 connections served"
	assert_line "husk-selftest: PASS vsock"
	assert_line "vsock-echo: guest->host echoed 1048576 bytes"
	assert_line "vsock-echo: host->guest 1048576 bytes ok"
	assert_line "vsock-echo: 64 concurrent connections ok"
	[ ! -e "$BATS_TEST_TMPDIR/v.sock" ]
}

@test "virtio-fs: read, write, rename, symlink and unlink on a share; a read-only share refuses writes" {
	local share="$BATS_TEST_TMPDIR/share"
	mkdir -p "$share"
	echo "hello from the host" >"$share/hello.txt"
	run in_guest_host "$VMM" --kernel "$KERNEL" --initrd "$INITRD" \
		--fs "share=$share" --fs "roshare=$share,ro" --cmdline husk.selftest=fs
	assert_success
	assert_line "husk-selftest fs read write rename symlink unlink ok"
	assert_line --partial "husk-selftest fs read-only share refused a write"
	assert_line "husk-selftest: PASS fs"
	run cat "$share/renamed.txt"
	assert_output "written by the guest"
	assert_equal "$(readlink "$share/link")" "renamed.txt"
	[ ! -e "$share/from-guest.txt" ] && [ ! -e "$share/gone.txt" ] && [ ! -e "$share/denied.txt" ]
	# The monitor's virtiofsd processes and their sockets are gone.
	run pgrep -f "virtiofsd --socket-path=.*husk-vmm"
	assert_failure
}

# known-bug: the only lab test with an SMP guest (--cpus 2). It failed twice
# in three runs (a triple fault on vCPU 0 during the vsock part, once no
# exit after the reboot), then passed six in a row once the guest kernel
# lost JUMP_LABEL; in a fresh-clone CI run on a loaded machine the guest
# passed every self-test, printed "reboot: Restarting system", and its
# monitor did not exit before the lab's timeout. vsock-run now prints where
# each of the monitor's threads waits when that happens (past 180 s): run
# `make lab-known-bugs` to see it.
# bats test_tags=known-bug
@test "every device at once, and the monitor exits 0 after the guest's reboot" {
	local share="$BATS_TEST_TMPDIR/share" img="$BATS_TEST_TMPDIR/disk.img"
	mkdir -p "$share"
	echo "hello from the host" >"$share/hello.txt"
	"$HUSK_SRC/build/tests/tools/pattern" "$img" $((4 << 20))
	"$HUSK_SRC/build/tests/tools/pattern" "$BATS_TEST_TMPDIR/ro.img" $((1 << 20))
	run in_guest_host "$HUSK_SRC/tests/lab/vsock-run" "$BATS_TEST_TMPDIR" --kernel "$KERNEL" \
		--initrd "$INITRD" --cpus 2 --fs "share=$share" --fs "roshare=$share,ro" \
		--blk "$img" --blk "$BATS_TEST_TMPDIR/ro.img,ro" \
		--cmdline husk.selftest=basic,rng,blk,vsock,fs
	assert_success
	assert_line "husk-selftest cpus=2 cgroup2=yes"
	for t in basic rng blk vsock fs; do
		assert_line "husk-selftest: PASS $t"
	done
}
