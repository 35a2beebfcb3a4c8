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

# known-bug: the guest does not live through its own PIO sweep. In three
# lab runs the monitor (ASan) ran on, refused all 42 malformed rings, took
# the MMIO garbage, then ended with "guest reset through the i8042
# controller" and status 0 partway through the port sweep, the console
# showing only the "K" of what looks like a guest "Kernel panic" (the UART
# is mid-garbage, so the rest is lost, and panic=-1 with reboot=k resets at
# once). Which port takes the guest down is not found yet; until it is,
# the PASS line and the neighbour checks after it are not reached.
# bats test_tags=known-bug
@test "a hostile guest cannot crash its ASan monitor or disturb the VM beside it" {
	run in_guest_host "$HUSK_SRC/tests/lab/hostile-run" "$BATS_TEST_TMPDIR"
	assert_success
	assert_line "hostile-run: neighbour beats before: yes"
	assert_line --regexp '^hostile-run: neighbour status before: \{"ok":true'
	# The guest's side: every malformed ring refused, the garbage written.
	assert_line --regexp '^hostile-console: husk-selftest hostile virtq refused=[1-9][0-9]* '
	assert_line --partial "hostile-console: husk-selftest hostile mmio garbage done"
	assert_line --partial "hostile-console: husk-selftest hostile pio garbage done"
	assert_line "hostile-console: husk-selftest: PASS hostile"
	# The monitor's side: it ran to the guest's reboot and left cleanly,
	# with no sanitizer report.
	assert_line "hostile-run: hostile monitor status: 0"
	refute_output --partial "ERROR: AddressSanitizer"
	refute_output --partial "runtime error:"
	refute_output --partial "ERROR: LeakSanitizer"
	# The neighbour never noticed.
	assert_line "hostile-run: neighbour beats after: yes"
	assert_line --regexp '^hostile-run: neighbour status after: \{"ok":true'
	assert_line "hostile-run: neighbour monitor status: 0"
	assert_line "hostile-run: monitors left: none"
	assert_line "hostile-run: virtiofsd left: none"
	assert_line "hostile-run: sockets left: none"
}
