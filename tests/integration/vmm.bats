#!/usr/bin/env bats
# husk-vmm on the host's own KVM with tiny synthetic guests (tests/tools/
# mkguest): exit statuses, console, boot timer, signals, bad input, and that
# nothing is left behind. Booting Linux is tested in the lab (tests/lab).

load helpers

VMM="$HUSK_SRC/build/husk-vmm"
MKGUEST="$HUSK_SRC/build/tests/tools/mkguest"

setup() {
	common_setup
	requires kvm
	G="$BATS_TEST_TMPDIR"
	snapshot_host
}

# A monitor a failed test left running in the background (its guest is
# under the test's directory) and a cgroup it made (CG), gone whatever the
# test's fate: a spinning guest left behind would hold a host CPU for good.
teardown() {
	local p
	for p in $(pgrep -f -- "--kernel $G/"); do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -n "${CG:-}" ] && [ -d "$CG" ]; then
		xargs -r kill -9 <"$CG/cgroup.procs" 2>/dev/null || true
		rmdir "$CG" 2>/dev/null || true
	fi
}

guest() {
	"$MKGUEST" "$1" "$G/$1.elf"
}

# wait_for COND-COMMAND SECONDS: polls a condition with a deadline.
wait_for() {
	local deadline=$((SECONDS + $2))
	until eval "$1"; do
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

@test "a guest that resets exits 0 and logs the boot timer" {
	guest ok
	run "$VMM" --kernel "$G/ok.elf"
	assert_success
	assert_output --regexp 'boot-time-us=[0-9]+'
	assert_nothing_leaked
}

@test "the console goes to stdout or to a file" {
	guest hello
	run "$VMM" --kernel "$G/hello.elf"
	assert_success
	assert_output --partial "hello from the guest"
	run "$VMM" --kernel "$G/hello.elf" --console "$G/console.log"
	assert_success
	refute_output --partial "hello from the guest"
	run cat "$G/console.log"
	assert_output "hello from the guest"
}

@test "a guest kernel panic exits 2 and names the panic" {
	guest panic
	run "$VMM" --kernel "$G/panic.elf" --console none
	assert_failure 2
	assert_output --partial "guest kernel panic: synthetic test panic"
	assert_nothing_leaked
}

@test "SIGTERM stops a running guest: exit 143, no thread or process left" {
	guest spin
	"$VMM" --kernel "$G/spin.elf" --cpus 2 --log "$G/log" &
	local pid=$!
	# Running means its vCPU threads exist.
	wait_for "[ \$(ls /proc/$pid/task 2>/dev/null | wc -l) -ge 3 ]" 10
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	run grep -c 'stopped by signal 15' "$G/log"
	assert_output 1
	run kill -0 "$pid"
	assert_failure
	assert_nothing_leaked
}

@test "descriptors inherited from the caller are closed" {
	guest spin
	exec 7>"$G/leak"
	"$VMM" --kernel "$G/spin.elf" &
	local pid=$!
	exec 7>&-
	wait_for "[ -d /proc/$pid/task ] && [ \$(ls /proc/$pid/task | wc -l) -ge 2 ]" 10
	run ls -l /proc/$pid/fd
	refute_output --partial "$G/leak"
	kill -TERM "$pid"
	wait "$pid" || true
}

@test "several vCPUs and memory above the 32-bit hole" {
	guest ok
	run "$VMM" --kernel "$G/ok.elf" --cpus 4 --memory 4096
	assert_success
}

@test "bad arguments and bad kernels fail with status 1 and a reason" {
	run "$VMM"
	assert_failure 1
	assert_output --partial "--kernel is required"
	run "$VMM" --kernel /nonexistent
	assert_failure 1
	assert_output --partial 'open `/nonexistent`: No such file or directory'
	run "$VMM" --kernel /bin/true
	assert_failure 1
	assert_output --partial "no PVH entry note"
	head -c 5000 /dev/urandom >"$G/junk"
	run "$VMM" --kernel "$G/junk"
	assert_failure 1
	assert_output --partial "neither an ELF vmlinux nor a bzImage"
	run "$VMM" --kernel /bin/true --cpus 0
	assert_failure 1
	assert_output --partial "--cpus 0: want 1 to 64"
	run "$VMM" --kernel /bin/true --memory 8
	assert_failure 1
	assert_output --partial "--memory 8"
	assert_nothing_leaked
}

@test "a virtiofsd that dies before it listens fails the start with the reason, not the deadline" {
	guest ok
	mkdir "$G/share"
	run "$VMM" --kernel "$G/ok.elf" --fs "share=$G/share" --virtiofsd /bin/false
	assert_failure 1
	assert_output --partial 'virtio-fs `share` (/bin/false): vhost-user back end'
	# The early way out, not the 30 s wait for a slow virtiofsd's socket
	# (which ends with "No such file or directory").
	assert_output --partial "exited before it listened"
	assert_nothing_leaked
}

@test "--virtiofsd-cgroup: virtiofsd joins the cgroup given, not the monitor; one it cannot join fails the start" {
	guest spin
	guest ok
	mkdir "$G/share"
	local root=/sys/fs/cgroup/pids
	[ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] || root=/sys/fs/cgroup
	[ -d "$root" ] || skip "no cgroup2 or pids hierarchy at /sys/fs/cgroup"
	CG=$root/husk-vmm-test-$$
	mkdir "$CG"
	"$VMM" --kernel "$G/spin.elf" --fs "share=$G/share" --virtiofsd-cgroup "$CG" --console none &
	local pid=$! vfs
	# (cgroup files have no size: read them)
	wait_for '[ -n "$(cat "$CG/cgroup.procs")" ]' 30
	wait_for 'vfs=$(pgrep -P "$pid" -x virtiofsd)' 30
	grep -qx "$vfs" "$CG/cgroup.procs"
	run grep -x "$pid" "$CG/cgroup.procs"
	assert_failure
	kill -TERM "$pid"
	wait "$pid" || true
	wait_for '[ -z "$(cat "$CG/cgroup.procs")" ]' 10
	rmdir "$CG"
	run "$VMM" --kernel "$G/ok.elf" --fs "share=$G/share" --virtiofsd-cgroup /nonexistent/cg
	assert_failure 1
	assert_output --partial "virtiofsd's cgroup \`/nonexistent/cg\`: No such file or directory"
	assert_output --partial "exited before it listened"
	run "$VMM" --kernel "$G/ok.elf" --virtiofsd-cgroup relative
	assert_failure 1
	assert_output --partial "--virtiofsd-cgroup relative: want an absolute path"
	assert_nothing_leaked
}

@test "husk vm run starts the monitor in the foreground" {
	guest hello
	run "$HUSK" vm run --kernel "$G/hello.elf"
	assert_success
	assert_output --partial "hello from the guest"
}

@test "the control socket reports status and stops the VM; the socket is removed" {
	guest spin
	"$VMM" --kernel "$G/spin.elf" --cpus 2 --control "$G/ctl.sock" --log "$G/log" &
	local pid=$!
	wait_for "[ -S '$G/ctl.sock' ]" 10
	run sh -c "printf '{\"cmd\":\"status\"}\n{\"cmd\":\"nope\"}\n' | socat -t 2 - UNIX-CONNECT:$G/ctl.sock"
	assert_line --index 0 --regexp '^\{"ok":true,"boot_time_us":[0-9]+,"first_run_us":[0-9]+,"vcpus":\[[0-9]+,[0-9]+\]\}$'
	assert_line --index 1 '{"ok":false,"error":"unknown command"}'
	run sh -c "printf '{\"cmd\":\"stop\"}\n' | socat -t 2 - UNIX-CONNECT:$G/ctl.sock"
	assert_output '{"ok":true}'
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	[ ! -e "$G/ctl.sock" ]
	assert_nothing_leaked
}

@test "--jail refuses a relative, missing or non-empty directory; --uid needs --gid" {
	run "$VMM" --kernel /bin/true --jail relative/dir
	assert_failure 1
	assert_output --partial "--jail \`relative/dir\`: want an absolute path"
	run "$VMM" --kernel /bin/true --jail "$G/missing"
	assert_failure 1
	assert_output --partial "No such file or directory"
	mkdir -p "$G/full/x"
	run "$VMM" --kernel /bin/true --jail "$G/full"
	assert_failure 1
	assert_output --partial "want an empty directory"
	run "$VMM" --kernel /bin/true --uid 1000
	assert_failure 1
	assert_output --partial "--uid and --gid go together"
	assert_nothing_leaked
}

@test "a jailed monitor: seccomp on every thread, no capabilities, its own root; a forbidden syscall kills it" {
	guest spin
	mkdir "$G/jail"
	"$VMM" --kernel "$G/spin.elf" --cpus 2 --control "$G/ctl.sock" --jail "$G/jail" --log "$G/log" &
	local pid=$!
	wait_for "[ -S '$G/ctl.sock' ] && grep -q '^Seccomp:.*2' /proc/$pid/status" 10
	run grep -E '^(Seccomp|NoNewPrivs|CapPrm|CapEff|CapBnd):' "/proc/$pid/status"
	assert_line --regexp '^Seccomp:\s+2$'
	assert_line --regexp '^NoNewPrivs:\s+1$'
	assert_line --regexp '^CapPrm:\s+0+$'
	assert_line --regexp '^CapEff:\s+0+$'
	assert_line --regexp '^CapBnd:\s+0+$'
	for t in /proc/"$pid"/task/*; do
		grep -Eq '^Seccomp:\s+2$' "$t/status"
	done
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
	run find "/proc/$pid/root/" -mindepth 1
	assert_output ""
	run find "$G/jail" -mindepth 1
	assert_output ""
	run sh -c "printf '{\"cmd\":\"debug-forbidden-syscall\"}\n' | socat -t 2 - UNIX-CONNECT:$G/ctl.sock"
	assert_output '{"ok":true}'
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 159 # 128 + SIGSYS
	rm -f "$G/ctl.sock" # out of the jail's reach: its caller's to remove
	assert_nothing_leaked
}

@test "--uid and --gid: the jailed monitor runs its guest as that user, with no capabilities" {
	guest spin
	mkdir "$G/jail"
	"$VMM" --kernel "$G/spin.elf" --control "$G/ctl.sock" --jail "$G/jail" --uid 65534 --gid 65534 \
		--log "$G/log" &
	local pid=$!
	wait_for "[ -S '$G/ctl.sock' ] && grep -q '^Seccomp:.*2' /proc/$pid/status" 10
	run grep -E '^(Uid|Gid|Groups|CapEff|CapPrm):' "/proc/$pid/status"
	assert_line --regexp '^Uid:\s+65534\s+65534\s+65534\s+65534$'
	assert_line --regexp '^Gid:\s+65534\s+65534\s+65534\s+65534$'
	assert_line --regexp '^Groups:\s*$'
	assert_line --regexp '^CapEff:\s+0+$'
	assert_line --regexp '^CapPrm:\s+0+$'
	run sh -c "printf '{\"cmd\":\"stop\"}\n' | socat -t 2 - UNIX-CONNECT:$G/ctl.sock"
	assert_output '{"ok":true}'
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	rm -f "$G/ctl.sock"
	assert_nothing_leaked
}

@test "--no-seccomp leaves the filters off (debugging); the debug syscall then only fails" {
	guest spin
	"$VMM" --kernel "$G/spin.elf" --control "$G/ctl.sock" --no-seccomp --log "$G/log" &
	local pid=$!
	wait_for "[ -S '$G/ctl.sock' ]" 10
	run grep -E '^Seccomp:' "/proc/$pid/status"
	assert_output --regexp '^Seccomp:\s+0$'
	run sh -c "printf '{\"cmd\":\"debug-forbidden-syscall\"}\n{\"cmd\":\"stop\"}\n' | socat -t 2 - UNIX-CONNECT:$G/ctl.sock"
	assert_line --index 0 '{"ok":true}'
	local st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	run cat "$G/log"
	assert_output --partial "seccomp is off"
	assert_nothing_leaked
}

# vcpu_cpus SOCKET: each vCPU thread's allowed CPUs, one line per vCPU.
vcpu_cpus() {
	local tids
	tids=$(printf '{"cmd":"status"}\n' | socat -t 2 - "UNIX-CONNECT:$1" | jq -r '.vcpus[]')
	for t in $tids; do
		awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$t/status"
	done
}

@test "vCPU threads are pinned to --cpu-list, as a set or one-to-one" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs to tell the placements apart"
	guest spin
	"$VMM" --kernel "$G/spin.elf" --cpus 2 --cpu-list 1 --control "$G/a.sock" &
	local a=$!
	"$VMM" --kernel "$G/spin.elf" --cpus 2 --cpu-list 0-1 --pin one-to-one \
		--control "$G/b.sock" &
	local b=$!
	wait_for "[ -S '$G/a.sock' ] && [ -S '$G/b.sock' ]" 10
	# The vCPUs report their thread ids once they run.
	wait_for "[ \$(vcpu_cpus '$G/a.sock' | wc -l) = 2 ] && [ \$(vcpu_cpus '$G/b.sock' | wc -l) = 2 ]" 10
	run vcpu_cpus "$G/a.sock"
	assert_output $'1\n1'
	run vcpu_cpus "$G/b.sock"
	assert_output $'0\n1'
	kill -TERM $a $b
	wait $a $b || true
}

# vcpu_field SOCKET FIELD: /proc/TID/stat's field FIELD of each vCPU thread.
vcpu_stat() {
	local tids
	tids=$(printf '{"cmd":"status"}\n' | socat -t 2 - "UNIX-CONNECT:$1" | jq -r '.vcpus[]')
	for t in $tids; do
		sed 's/.*) //' "/proc/$t/stat" | cut -d' ' -f$(($2 - 2))
	done
}

@test "--affinity adaptive starts each vCPU on a CPU of its own; --priority sets their nice value" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs to tell the placements apart"
	guest spin
	"$VMM" --kernel "$G/spin.elf" --cpus 2 --cpu 0-1 --affinity adaptive --priority 80 \
		--control "$G/a.sock" &
	local a=$!
	wait_for "[ -S '$G/a.sock' ]" 10
	wait_for "[ \$(vcpu_cpus '$G/a.sock' | wc -l) = 2 ]" 10
	run vcpu_cpus "$G/a.sock"
	assert_output $'0\n1'
	# Priority 80 is nice -12 (field 19 of stat).
	run vcpu_stat "$G/a.sock" 19
	assert_output $'-12\n-12'
	# The threads are named for `husk state` and people.
	run cat /proc/$a/task/*/comm
	assert_line vcpu0
	assert_line vcpu1
	kill -TERM $a
	wait $a || true
}

@test "a priority the monitor may not take is refused with the reason" {
	guest spin
	run capsh --drop=cap_sys_nice -- -c "exec '$VMM' --kernel '$G/spin.elf' --priority 99"
	assert_failure 5
	assert_output --partial "vCPU 0: priority 99 (nice -20) for thread"
	assert_output --partial "needs CAP_SYS_NICE or RLIMIT_NICE"
	run "$VMM" --kernel "$G/spin.elf" --realtime fifo
	assert_failure 1
	assert_output --partial "a realtime policy needs --priority 1 to 99"
	run "$VMM" --kernel "$G/spin.elf" --affinity sideways
	assert_failure 1
	assert_output --partial "--affinity: affinity \`sideways\`: static or adaptive"
}

@test "a --cpu-list naming CPUs that are not ours, or malformed, is refused" {
	guest ok
	run "$VMM" --kernel "$G/ok.elf" --cpu-list 1000
	assert_failure 1
	assert_output --partial "vCPU placement: CPU 1000 is not one this process may use"
	run "$VMM" --kernel "$G/ok.elf" --cpu-list 2-1
	assert_failure 1
	assert_output --partial "bad element \`2-1\`"
	run "$VMM" --kernel "$G/ok.elf" --pin sideways
	assert_failure 1
	assert_output --partial "--pin sideways: set or one-to-one"
}
