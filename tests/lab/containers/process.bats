#!/usr/bin/env bats
# Processes in a running container: exec (attached, detached, from a
# process.json), terminals through --console-socket, ps, pause and resume,
# update and events. Modelled on runc's exec.bats, tty.bats, ps.bats,
# pause.bats, update.bats and events.bats.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	container_setup
	update_config '.root.readonly = false'
	set_args sh -c 'echo ready >/tmp/ready; while :; do sleep 0.1; done'
}

teardown() {
	container_teardown
}

start_ctr() {
	husk run -d --bundle "$BUNDLE" c1
	wait_for 60 status_is c1 running
}

@test "exec runs in the container with its status, env, cwd and user" {
	start_ctr
	run husk exec c1 cat /tmp/ready
	assert_success
	assert_output ready
	run husk exec c1 sh -c 'exit 5'
	assert_failure 5
	run husk exec --env GREETING=hi --cwd /etc c1 sh -c 'echo $GREETING $(pwd)'
	assert_success
	assert_output "hi /etc"
	run husk exec --user 1000:1000 c1 sh -c 'echo $(id -u) $(id -g)'
	assert_success
	assert_output "1000 1000"
	# Same VM, same kernel: exec sees the init's processes (pid namespace).
	run husk exec c1 sh -c 'cat /proc/1/cmdline | tr "\0" " "'
	assert_output --partial "sh -c echo ready"
	run husk exec c1 nosuchprogram
	assert_failure
	assert_output --partial 'executable file not found in $PATH'
	husk delete --force c1
	assert_clean
}

@test "exec --detach --pid-file, and exec --process" {
	start_ctr
	husk exec -d --pid-file "$BATS_TEST_TMPDIR/epid" c1 sh -c 'echo detached >/tmp/d'
	[ -s "$BATS_TEST_TMPDIR/epid" ]
	wait_for 60 husk exec c1 test -s /tmp/d
	cat >"$BATS_TEST_TMPDIR/process.json" <<-'JSON'
	{"args": ["sh", "-c", "echo from process.json $X"], "env": ["X=y", "PATH=/bin"], "cwd": "/",
	 "user": {"uid": 0, "gid": 0}}
	JSON
	run husk exec --process "$BATS_TEST_TMPDIR/process.json" c1
	assert_success
	assert_output "from process.json y"
	husk delete --force c1
	assert_clean
}

@test "a terminal through --console-socket: output, input and a resize" {
	update_config '.process.terminal = true | .process.args = ["sh", "-c", "stty size; read line; echo got $line; stty size"]'
	sock="$BATS_TEST_TMPDIR/tty.sock"
	"$RECVTTY" "$sock" --size 30,100 --input "hello
" >"$BATS_TEST_TMPDIR/tty.out" &
	rpid=$!
	wait_for 10 test -S "$sock"
	husk run -d --console-socket "$sock" --bundle "$BUNDLE" c1
	wait_for 60 gone "$rpid"
	wait "$rpid"
	run cat "$BATS_TEST_TMPDIR/tty.out"
	assert_output --partial "got hello"
	# The size the engine set on the master is the container's.
	assert_output --partial "30 100"
	wait_for 60 status_is c1 stopped
	husk delete c1
	assert_clean
}

@test "exec -t with a console socket, resized by the engine" {
	start_ctr
	sock="$BATS_TEST_TMPDIR/tty.sock"
	"$RECVTTY" "$sock" --size 24,80 --after "first" --resize 50,132 >"$BATS_TEST_TMPDIR/tty.out" &
	rpid=$!
	wait_for 10 test -S "$sock"
	husk exec -t --console-socket "$sock" c1 \
		sh -c 'tty; stty size; echo first; while [ "$(stty size)" = "24 80" ]; do sleep 0.05; done; stty size'
	wait_for 60 gone "$rpid"
	wait "$rpid"
	run cat "$BATS_TEST_TMPDIR/tty.out"
	assert_output --partial "/dev/pts/"
	assert_output --partial "24 80"
	assert_output --partial "50 132"
	husk delete --force c1
	assert_clean
}

@test "ps lists the container's processes" {
	start_ctr
	run husk ps --format json c1
	assert_success
	echo "$output" | jq -e 'type == "array" and length >= 1 and all(.[]; type == "number")'
	run husk ps c1
	assert_success
	assert_line --index 0 --partial PID
	assert_output --partial "sh -c"
	husk delete --force c1
	assert_clean
}

@test "pause freezes the container and resume thaws it" {
	set_args sh -c 'while :; do date +%s%N >/tmp/tick; sleep 0.05; done'
	start_ctr
	husk pause c1
	assert_equal "$(husk state c1 | jq -r .status)" paused
	run husk exec c1 true
	assert_failure
	assert_output --partial "paused"
	husk resume c1
	assert_equal "$(husk state c1 | jq -r .status)" running
	a=$(husk exec c1 cat /tmp/tick)
	wait_for 30 tick_moved "$a"
	run husk resume c1
	assert_failure
	husk delete --force c1
	assert_clean
}

tick_moved() {
	[ "$(husk exec c1 cat /tmp/tick)" != "$1" ]
}

@test "update changes the container's cgroup inside the guest" {
	start_ctr
	echo '{"memory": {"limit": 67108864}, "pids": {"limit": 77}}' | husk update --resources - c1
	run husk exec c1 cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max
	assert_success
	assert_line --index 0 67108864
	assert_line --index 1 77
	husk update --pids-limit 88 c1
	assert_equal "$(husk exec c1 cat /sys/fs/cgroup/pids.max)" 88
	husk delete --force c1
	assert_clean
}

@test "the sandbox runs in its host cgroup on the CPUs asked for; update changes its bandwidth live" {
	update_config '.linux.resources.cpu = {cpus: "1", quota: 50000, period: 100000}
		| .annotations["io.husk.vcpus"] = "2"'
	start_ctr
	local pid cg=/sys/fs/cgroup/husk/c1
	pid=$(husk state c1 | jq .pid)
	grep -qx "$pid" "$cg/vmm/cgroup.procs"
	assert_equal "$(cat "$cg/cpu.max")" "50000 100000"
	# Both vCPU threads on host CPU 1, as state reports and the kernel says.
	run husk state c1
	echo "$output" | jq -e '(.vcpus | length) == 2 and all(.vcpus[]; .cpu == 1 and .run_ns > 0)'
	for tid in $(echo "$output" | jq '.vcpus[].tid'); do
		assert_equal "$(awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$tid/status")" 1
	done
	husk update --cpu-quota 20000 --cpu-period 50000 c1
	assert_equal "$(cat "$cg/cpu.max")" "20000 50000"
	run husk events --stats c1
	echo "$output" | jq -e '(.data.vcpus | length) == 2'
	husk delete --force c1
	[ ! -e "$cg" ]
	assert_clean
}

@test "events --stats reports the container's usage" {
	start_ctr
	run husk events --stats c1
	assert_success
	echo "$output" | jq -e '.type == "stats" and .id == "c1" and .data.pids.current >= 1 and
		.data.memory.usage.usage > 0 and .data.cpu.usage.total > 0'
	husk delete --force c1
	assert_clean
}
