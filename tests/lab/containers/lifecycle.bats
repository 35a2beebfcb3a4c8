#!/usr/bin/env bats
# The lifecycle verbs on a busybox bundle, each container in its own VM:
# modelled on runc's tests/integration (run, create/start, state, kill,
# delete, exit codes, stdin).

load helpers

bats_require_minimum_version 1.5.0

setup() {
	container_setup
}

teardown() {
	container_teardown
}

@test "run prints the container's output and exits with its status" {
	set_args sh -c 'echo hello from $(hostname); exit 0'
	run --separate-stderr husk run --bundle "$BUNDLE" c1
	assert_success
	assert_output "hello from husk"
	for code in 1 42 255; do
		set_args sh -c "exit $code"
		run husk run --bundle "$BUNDLE" c1
		assert_failure "$code"
	done
	assert_clean
}

@test "a container killed by a signal exits 128+N and its monitor dies by that signal" {
	# Without a pid namespace the shell is not an init, so its own SIGTERM
	# kills it, as on a host.
	update_config '.linux.namespaces |= map(select(.type != "pid"))'
	set_args sh -c 'kill -TERM $$; sleep 10'
	run husk run --bundle "$BUNDLE" c1
	assert_failure 143
	set_args sleep 1000
	# exec: the background job is the runtime itself, not a subshell.
	(exec "$HUSK" --root "$HUSK_ROOT" run --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c2) &
	runner=$!
	wait_for 60 test -s "$BATS_TEST_TMPDIR/pid"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	# The pid-file names the monitor, a child of the runtime that made it.
	assert_equal "$(cat /proc/$pid/comm)" husk-vmm
	assert_equal "$(awk '{print $4}' /proc/$pid/stat)" "$runner"
	wait_for 60 status_is c2 running
	husk kill c2 KILL
	rc=0
	wait "$runner" || rc=$?
	assert_equal "$rc" 137
	assert_clean
}

@test "create, start, state, kill and delete follow runc" {
	set_args sh -c 'trap "echo got TERM; exit 7" TERM; echo started; while :; do sleep 0.1; done'
	# Not under `run`: the monitor keeps the stdio it was given, and `run`
	# would wait for its end of the pipe (runc's detached processes do too).
	husk create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1 </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	run husk state c1
	assert_success
	echo "$output" | jq -e --arg b "$BUNDLE" --argjson p "$pid" \
		'.id == "c1" and .status == "created" and .pid == $p and .bundle == $b and .ociVersion'
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "container with id exists: c1"
	run husk delete c1
	assert_failure 1
	assert_output --partial "cannot delete container c1 that is not stopped: created"
	husk start c1
	run husk start c1
	assert_failure 1
	assert_output --partial "cannot start an already running container"
	assert_equal "$(husk state c1 | jq -r .status)" running
	run husk list --format json
	echo "$output" | jq -e '.[0].id == "c1" and .[0].status == "running"'
	wait_for 60 grep -q started "$BATS_TEST_TMPDIR/out" # its trap is set
	husk kill c1 TERM
	wait_for 60 status_is c1 stopped
	assert_equal "$(husk state c1 | jq .pid)" 0
	run husk kill c1 KILL
	assert_failure 1
	assert_output --partial "container not running"
	run husk start c1
	assert_failure 1
	assert_output --partial "cannot start a container that has stopped"
	husk delete c1
	run husk state c1
	assert_failure 1
	assert_clean
}

@test "kill takes signal names and numbers" {
	# The shell is the pid namespace's init: a signal it has no handler for
	# yet is dropped, so the test waits until the traps are set.
	update_config '.root.readonly = false'
	set_args sh -c 'trap "exit 10" USR1; trap "exit 12" USR2; touch /tmp/trapped; while :; do sleep 0.1; done'
	for sig in USR1 SIGUSR2 10; do
		rm -f "$BUNDLE/rootfs/tmp/trapped"
		husk run -d --bundle "$BUNDLE" c1
		wait_for 60 test -e "$BUNDLE/rootfs/tmp/trapped"
		husk kill c1 "$sig"
		wait_for 60 status_is c1 stopped
		husk delete c1
	done
	run husk kill c1 NOSUCH
	assert_failure 1
	assert_output --partial "unknown signal"
	assert_clean
}

@test "stdin reaches the container and its end is seen" {
	set_args sh -c 'wc -c; cat /etc/hostname 2>/dev/null; echo done'
	head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	run husk run --bundle "$BUNDLE" c1 <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 0 300000
	assert_line done
	set_args sh -c 'tr a-z A-Z'
	run husk run --bundle "$BUNDLE" c1 <<<"shout"
	assert_success
	assert_output SHOUT
	assert_clean
}

@test "stdout and stderr stay apart, and big output arrives whole" {
	set_args sh -c 'echo out; echo err >&2; head -c 2000000 /dev/zero | tr "\0" x'
	run --separate-stderr husk run --bundle "$BUNDLE" c1
	assert_success
	assert_equal "${stderr}" err
	assert_equal "${#output}" 2000004
	assert_clean
}

@test "delete --force of a running container, of an unknown one, and after kill -9 of the monitor" {
	set_args sleep 1000
	husk run -d --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1
	husk delete --force c1
	run husk state c1
	assert_failure 1
	run husk delete --force nosuch
	assert_success
	husk run -d --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c2
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	kill -9 "$pid"
	wait_for 10 gone "$pid"
	assert_equal "$(husk state c2 | jq -r .status)" stopped
	husk delete c2
	assert_clean
}

@test "a broken bundle fails create with the JSON path and leaves nothing" {
	update_config '.process.args = 7'
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "process.args: expected an array"
	update_config '.process.args = ["/no/such/program"]'
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial '/no/such/program'
	set_args nosuchprogram
	run husk run --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial 'nosuchprogram'
	assert_output --partial 'executable file not found in $PATH'
	assert_clean
}

@test "ten containers at once, each in its own VM" {
	set_args sh -c 'echo $(cat /proc/sys/kernel/random/boot_id)'
	local pids=()
	for i in $(seq 10); do
		(
			rc=0
			husk run --bundle "$BUNDLE" "c$i" >"$BATS_TEST_TMPDIR/out.$i" || rc=$?
			echo "$rc" >"$BATS_TEST_TMPDIR/status.$i"
		) &
		pids+=($!)
	done
	# These ten only: a bare `wait` would wait for the test's deadline
	# watchdog too (a background job of this shell since setup), and so
	# always take the whole deadline.
	wait "${pids[@]}"
	for i in $(seq 10); do
		[ -s "$BATS_TEST_TMPDIR/out.$i" ] || fail "container c$i printed nothing"
		# Each run ended on its own with the container's status (a
		# monitor killed at the test's deadline ends with 137).
		assert_equal "c$i: $(cat "$BATS_TEST_TMPDIR/status.$i")" "c$i: 0"
	done
	# Ten VMs, ten kernels, ten boot ids.
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/out.* | sort -u | wc -l)" 10
	assert_clean
}
