#!/usr/bin/env bats
# The lab itself: status and output come back, timeouts are enforced with a
# clear message, nothing is left running or mounted, two labs can run at once.

load ../integration/helpers

setup() {
	requires guest
	export HUSK_LAB=${HUSK_LAB:-force}
	labs_now >"$BATS_TEST_TMPDIR/labs.before"
}

labs_now() {
	{
		pgrep -f "husk-lab\.|qemu-system-x86_64 .*husk.lab=" || true
		ls -d "${TMPDIR:-/tmp}"/husk-lab.* 2>/dev/null || true
		grep husk-lab /proc/self/mountinfo || true
	} | sort
}

# What this test's labs left: only what appeared counts, as other labs
# may be running on the host meanwhile.
lab_leftovers() {
	comm -13 "$BATS_TEST_TMPDIR/labs.before" <(labs_now)
}

@test "a command in the lab returns its own status and output" {
	run tests/lab/run --timeout 60 -- sh -c 'echo "out $(pwd)"; echo err >&2; exit 7'
	assert_failure 7
	assert_line "out $HUSK_SRC"
	assert_line "err"
	run lab_leftovers
	assert_output ""
}

@test "the lab is a KVM host that boots standard guests" {
	run tests/lab/run --timeout 60 -- sh -c 'test -c /dev/kvm && grep -qw svm /proc/cpuinfo && tests/lab/kvm-kind'
	assert_success
	assert_output "hardware-svm"
}

@test "a hung command is killed at the timeout with a clear message" {
	run tests/lab/run --timeout 5 -- sleep 1000
	assert_failure 124
	assert_output --partial "lab: the command timed out"
	run lab_leftovers
	assert_output ""
}

@test "two labs run at once" {
	tests/lab/run --timeout 60 -- sh -c 'echo one' >"$BATS_TEST_TMPDIR/one" &
	local a=$!
	tests/lab/run --timeout 60 -- sh -c 'echo two; exit 3' >"$BATS_TEST_TMPDIR/two" &
	local b=$!
	local sa=0 sb=0
	wait $a || sa=$?
	wait $b || sb=$?
	assert_equal "$sa" 0
	assert_equal "$sb" 3
	run cat "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	assert_output $'one\ntwo'
	run lab_leftovers
	assert_output ""
}
