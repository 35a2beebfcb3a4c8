#!/usr/bin/env bats
# The guest image boots: under QEMU's microvm (the reference, before and
# beside husk's own monitor) and under husk-vmm, inside the lab when this
# host's KVM cannot boot it. The agent's self-test reports from inside.

load ../integration/helpers

KERNEL="$HUSK_SRC/build/guest/vmlinux"
BZIMAGE="$HUSK_SRC/build/guest/bzImage"
INITRD="$HUSK_SRC/build/guest/initramfs.cpio"

setup() {
	requires guest
	[ -e "$KERNEL" ] || fail "no guest kernel: run make guest"
	LAB_TIMEOUT=240
}

qemu_microvm() {
	in_guest_host qemu-system-x86_64 -M microvm,acpi=off -accel kvm -cpu host -smp 2 -m 256M \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$1" -initrd "$INITRD" -append "console=ttyS0 reboot=t panic=-1 quiet $2"
}

# QEMU passes the guest tty's \r\n through; husk-vmm's console drops the \r.
strip_cr() {
	output=$(printf '%s' "$output" | tr -d '\r')
	mapfile -t lines <<<"$output"
}

@test "QEMU microvm boots the guest: ready marker, 2 CPUs, cgroup2, clean exit" {
	run qemu_microvm "$KERNEL" husk.selftest=basic
	assert_success
	strip_cr
	assert_line "husk-agent: ready"
	assert_line "husk-selftest cpus=2 cgroup2=yes"
	assert_line "husk-selftest: PASS basic"
}

@test "husk-vmm boots the ELF vmlinux (PVH): ready marker, 2 CPUs, cgroup2, boot time, exit 0" {
	run in_guest_host "$HUSK_SRC/build/husk-vmm" --kernel "$KERNEL" --initrd "$INITRD" \
		--cpus 2 --memory 256 --cmdline husk.selftest=basic
	assert_success
	assert_line "husk-agent: ready"
	assert_line "husk-selftest cpus=2 cgroup2=yes"
	assert_line "husk-selftest: PASS basic"
	assert_output --regexp 'boot-time-us=[0-9]+'
}

@test "husk-vmm boots the bzImage through the 64-bit boot protocol" {
	run in_guest_host "$HUSK_SRC/build/husk-vmm" --kernel "$BZIMAGE" --initrd "$INITRD" \
		--cpus 2 --cmdline husk.selftest=basic
	assert_success
	assert_line "husk-selftest: PASS basic"
}

@test "a failing self-test is reported from inside the guest" {
	run in_guest_host "$HUSK_SRC/build/husk-vmm" --kernel "$KERNEL" --initrd "$INITRD" \
		--cmdline husk.selftest=fail
	assert_success
	assert_line "husk-selftest: FAIL fail: failing on purpose"
}

@test "a guest kernel panic makes husk-vmm exit 2 and name the panic" {
	run in_guest_host "$HUSK_SRC/build/husk-vmm" --kernel "$KERNEL" --initrd "$INITRD" \
		--console none --cmdline "rdinit=/no/such/init"
	assert_failure 2
	assert_output --partial "guest kernel panic: "
}
