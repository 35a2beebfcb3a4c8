#!/usr/bin/env bats
# What confines the process inside its VM, applied by the agent as runc
# applies it on a host: seccomp, capabilities, no_new_privs, read-only root,
# masked and read-only paths, rlimits, namespaces; and the host-side hooks.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	container_setup
}

teardown() {
	container_teardown
}

@test "a seccomp profile denies with its errno and kills with SIGSYS" {
	update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
		             {"names": ["sethostname"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
	update_config '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]'
	set_args sh -c 'mkdir /tmp/x && echo made; echo after'
	run husk run --bundle "$BUNDLE" c1
	assert_success
	assert_output --partial "Operation not permitted"
	refute_output --partial made
	assert_output --partial after
	update_config '.linux.namespaces += [{"type": "uts"}]'
	set_args hostname other
	run husk run --bundle "$BUNDLE" c1
	assert_failure 159 # 128 + SIGSYS
	update_config '.linux.seccomp.syscalls[0].action = "SCMP_ACT_SOMETIMES"'
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial 'linux.seccomp.syscalls[0].action: unknown value'
	assert_output --partial SCMP_ACT_SOMETIMES
	assert_clean
}

@test "the process has exactly its capability sets, and no_new_privs" {
	set_args sh -c 'grep -E "^(CapBnd|CapEff|CapPrm|NoNewPrivs)" /proc/self/status'
	run husk run --bundle "$BUNDLE" c1
	assert_success
	# runc spec's defaults: AUDIT_WRITE, KILL, NET_BIND_SERVICE.
	assert_line --regexp '^CapBnd:\s+0000000020000420$'
	assert_line --regexp '^CapEff:\s+0000000020000420$'
	assert_line --regexp '^NoNewPrivs:\s+1$'
	# Root's execve makes its effective set its permitted one (runc's
	# containers too); a user's effective set is what it was given.
	update_config '.process.user = {"uid": 1000, "gid": 1000} | .process.noNewPrivileges = false
		| .process.capabilities = {"bounding": ["CAP_KILL", "CAP_CHOWN"],
			"permitted": ["CAP_KILL"], "inheritable": ["CAP_KILL"],
			"effective": ["CAP_KILL"], "ambient": ["CAP_KILL"]}'
	run husk run --bundle "$BUNDLE" c1
	assert_line --regexp '^CapBnd:\s+0000000000000021$'
	assert_line --regexp '^CapPrm:\s+0000000000000020$'
	assert_line --regexp '^CapEff:\s+0000000000000020$'
	assert_line --regexp '^NoNewPrivs:\s+0$'
	update_config '.process.user = {"uid": 0, "gid": 0} | del(.process.capabilities.ambient)
		| .process.capabilities.bounding = ["CAP_KILL"]'
	# Without CAP_SYS_ADMIN, not even root in the guest may mount.
	set_args mount -t tmpfs none /tmp
	run husk run --bundle "$BUNDLE" c1
	assert_failure
	assert_output --partial "permission denied" # busybox's words for EPERM
	assert_clean
}

@test "read-only root, masked and read-only paths" {
	# The guest kernel has no /proc/kcore or ns_last_pid (runc skips masked
	# paths that do not exist, and so does husk): mask one that does.
	update_config '.linux.maskedPaths += ["/proc/cpuinfo"]'
	set_args sh -c 'touch /x 2>&1; wc -c </proc/cpuinfo; echo x >/proc/sys/kernel/hostname 2>&1; ls /sys/firmware | wc -l'
	run husk run --bundle "$BUNDLE" c1
	assert_line --index 0 --partial "Read-only file system"
	assert_line --index 1 0
	assert_line --index 2 --partial "Read-only file system"
	assert_line --index 3 0
	assert_clean
}

@test "a read-only root gets its missing mount targets made, as runc makes them" {
	# The engines bind resolv.conf into images that may have no /etc (the
	# pause image). (That a target stays inside the image whatever its
	# symlinks say is tests/unit/test_lib.c's.)
	echo "nameserver 10.0.0.53" >"$BATS_TEST_TMPDIR/resolv.conf"
	rm -rf "$BUNDLE/rootfs/etc"
	update_config --arg r "$BATS_TEST_TMPDIR/resolv.conf" '.root.readonly = true
		| .mounts += [{destination: "/etc/resolv.conf", type: "bind", source: $r, options: ["rbind", "ro"]},
		              {destination: "/run/new/dir", type: "tmpfs", source: "tmpfs"}]'
	set_args sh -c 'cat /etc/resolv.conf; grep -c " /run/new/dir " /proc/mounts'
	run husk run --bundle "$BUNDLE" c1
	assert_success
	assert_line --index 0 "nameserver 10.0.0.53"
	assert_line --index 1 1
	# Made in the rootfs on the host, a file and a directory.
	[ -f "$BUNDLE/rootfs/etc/resolv.conf" ]
	[ -d "$BUNDLE/rootfs/run/new/dir" ]
	assert_clean
}

@test "rlimits, hostname, user and groups" {
	update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": 4000, "soft": 3000},
		{"type": "RLIMIT_NPROC", "hard": 500, "soft": 400}]'
	update_config '.process.user = {"uid": 1000, "gid": 100, "additionalGids": [5, 6]}'
	update_config '.linux.namespaces += [{"type": "uts"}] | .hostname = "box"'
	set_args sh -c 'ulimit -Sn; ulimit -Hn; ulimit -Su; hostname; id -u; id -g; id -G'
	run husk run --bundle "$BUNDLE" c1
	assert_success
	assert_equal "$output" "$(printf '%s\n' 3000 4000 400 box 1000 100 '100 5 6')"
	assert_clean
}

# same_as_runc NAME: runs the bundle under husk (in its VM) and under runc
# (on this host, the lab's L1), and fails on any line of the probe's output
# that differs.
same_as_runc() {
	local h="$BATS_TEST_TMPDIR/$1.husk" r="$BATS_TEST_TMPDIR/$1.runc"
	husk run --bundle "$BUNDLE" "h-$1" >"$h" 2>&1 || echo "exit $?" >>"$h"
	runc --root "$BATS_TEST_TMPDIR/runc" run --bundle "$BUNDLE" "r-$1" >"$r" 2>&1 ||
		echo "exit $?" >>"$r"
	echo "# $1: $(wc -l <"$h") lines under husk"
	diff -u --label "runc ($1)" --label "husk ($1)" "$r" "$h"
}

@test "the process's confinement matches runc's on the same bundle" {
	requires runc
	# What a process can see of its own confinement: ids, every capability
	# set, no_new_privs, seccomp mode, rlimits, hostname, the read-only
	# root, masked and read-only paths, and what a syscall filter denies.
	update_config '.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]'
	set_args sh -c 'grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status
		ulimit -Sn; ulimit -Hn; ulimit -Su; hostname
		touch /x 2>&1; wc -c </proc/cpuinfo; ls /sys/firmware | wc -l
		echo x 2>&1 >/proc/sys/kernel/hostname; mkdir /tmp/d 2>&1 && echo made'
	update_config '.linux.maskedPaths += ["/proc/cpuinfo"]'
	# An rlimit the config leaves out is the kernel's default, which in a
	# VM is the guest kernel's (the runc container inherits the host's
	# RLIMIT_NPROC, 11616 in the lab, the guest has 925): Kata's
	# containers are the same. So the bundle sets the one the probe reads.
	update_config '.process.rlimits += [{"type": "RLIMIT_NPROC", "hard": 700, "soft": 600}]'
	same_as_runc defaults
	# A user with groups and a hand-picked set of capabilities (ambient
	# ones reach the user's effective set), rlimits, another hostname.
	update_config '.process.user = {"uid": 1000, "gid": 100, "additionalGids": [5, 6]}
		| .process.noNewPrivileges = false
		| .process.capabilities = {"bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"],
			"permitted": ["CAP_KILL", "CAP_CHOWN"], "inheritable": ["CAP_KILL", "CAP_CHOWN"],
			"effective": ["CAP_KILL"], "ambient": ["CAP_KILL"]}
		| .process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": 4000, "soft": 3000},
			{"type": "RLIMIT_NPROC", "hard": 500, "soft": 400}]
		| .hostname = "box"'
	same_as_runc user
	# A syscall filter: mkdir denied with an errno of the profile's.
	update_config '.process.user = {"uid": 0, "gid": 0} | .process.noNewPrivileges = true
		| .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
		"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}'
	same_as_runc seccomp
	assert_clean
}

@test "hooks: prestart and createRuntime get the state on stdin, poststop runs at delete" {
	hooks="$BATS_TEST_TMPDIR/hooks"
	mkdir -p "$hooks"
	update_config --arg d "$hooks" '.hooks = {
		"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "cat >\"$0/prestart\"", $d]}],
		"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "cat >\"$0/createRuntime\"", $d]}],
		"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", "cat >\"$0/poststart\"", $d]}],
		"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "cat >\"$0/poststop\"", $d]}]}'
	set_args sleep 1000
	husk create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" c1
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	jq -e --argjson p "$pid" --arg b "$BUNDLE" '.id == "c1" and .pid == $p and .status == "creating" and .bundle == $b' "$hooks/prestart"
	jq -e '.id == "c1"' "$hooks/createRuntime"
	[ ! -e "$hooks/poststart" ]
	husk start c1
	jq -e '.id == "c1" and .status == "running"' "$hooks/poststart"
	[ ! -e "$hooks/poststop" ]
	husk delete --force c1
	jq -e '.id == "c1" and .status == "stopped"' "$hooks/poststop"
	assert_clean
}

@test "a failing prestart hook fails create with its output and leaves nothing" {
	update_config '.hooks = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo no network for you >&2; exit 2"]}]}'
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "prestart hook 0: \`/bin/sh\` exited with status 2: no network for you"
	run husk state c1
	assert_failure 1
	assert_clean
}

@test "an OOM kill inside the guest exits 137 and is reported as an oom event" {
	update_config '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
	set_args sh -c 'echo start; dd if=/dev/zero of=/dev/null bs=200M count=1; echo survived'
	husk create --bundle "$BUNDLE" c1
	husk events c1 >"$BATS_TEST_TMPDIR/events" &
	epid=$!
	husk start c1
	wait_for 120 status_is c1 stopped
	wait_for 30 grep -q '"type":"oom"' "$BATS_TEST_TMPDIR/events"
	kill "$epid" 2>/dev/null || true
	husk delete c1
	set_args sh -c 'dd if=/dev/zero of=/dev/null bs=200M count=1'
	run husk run --bundle "$BUNDLE" c2
	assert_failure 137
	assert_clean
}

@test "sVirt: a running sandbox's state has its MCS labels, kept across hooks, freed at delete" {
	hooks="$BATS_TEST_TMPDIR/hooks"
	mkdir -p "$hooks"
	update_config --arg d "$hooks" '.hooks = {
		"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", "cat >\"$0/poststart\"", $d]}]}'
	set_args sleep 1000
	husk create --bundle "$BUNDLE" c1
	husk start c1
	run husk state c1
	assert_success
	echo "$output" | jq -e '.status == "running"'
	label=$(jq -r '.annotations["io.husk.selinux.label"]' <<<"$output")
	[[ "$label" =~ ^system_u:system_r:husk_vm_t:(s0:c[0-9]+,c[0-9]+)$ ]]
	level=${BASH_REMATCH[1]}
	echo "$output" | jq -e --arg f "system_u:object_r:husk_image_t:$level" \
		'.annotations["io.husk.selinux.file-label"] == $f'
	# The hook saw them, and the state rewritten for it kept them.
	jq -e --arg l "$label" '.annotations["io.husk.selinux.label"] == $l' "$hooks/poststart"
	jq -e --arg l "$label" '.annotations["io.husk.selinux.label"] == $l' "$HUSK_ROOT/c1/state.json"
	assert_equal "$(cat "$HUSK_ROOT/@selinux-mcs/${level#s0:}")" c1
	husk delete --force c1
	assert [ ! -e "$HUSK_ROOT/@selinux-mcs" ]
	assert_clean
}

# ---- the monitor's own confinement (policy/jail.c, policy/seccomp*) --------

# sock_path DIR NAME: where the monitor puts a socket of a state directory
# (lib/util.c hk_sock_path: in the directory, or under /run/husk-sockets/HASH
# when the path would not fit a sockaddr_un).
sock_path() {
	if [ $((${#1} + 1 + ${#2} + 12)) -lt 108 ]; then
		echo "$1/$2"
	else
		echo "/run/husk-sockets/$(printf '%s' "$1" | python3 -c '
import sys
h = 14695981039346656037
for b in sys.stdin.buffer.read():
    h = ((h ^ b) * 1099511628211) % 2**64
print("%016x" % h)')/$2"
	fi
}

@test "the monitor runs jailed: seccomp on every thread, no_new_privs, no capabilities, own root, sized cgroup; virtiofsd in a cgroup of its own" {
	update_config '.annotations["io.husk.memory"] = "512" | .annotations["io.husk.vcpus"] = "2"'
	set_args sleep 1000
	husk run -d --bundle "$BUNDLE" c1
	pid=$(husk state c1 | jq -r .pid)
	run grep -E '^(Seccomp|NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' "/proc/$pid/status"
	assert_line --regexp '^Seccomp:\s+2$'
	assert_line --regexp '^NoNewPrivs:\s+1$'
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_line --regexp "^$set:\s+0000000000000000$"
	done
	# Each thread (loop, vCPUs, the agent client) has a filter of its own.
	local threads=0
	for t in /proc/"$pid"/task/*; do
		run grep -E '^Seccomp:' "$t/status"
		assert_output --regexp '^Seccomp:\s+2$'
		threads=$((threads + 1))
	done
	[ "$threads" -ge 4 ]
	# Its own mount namespace, whose root holds the agent's socket and
	# nothing else: no /dev, no kernel, no host file system.
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
	sock=$(sock_path "$HUSK_ROOT/c1" vsock.sock)
	run find "/proc/$pid/root/" -mindepth 1 ! -type d
	assert_output "/proc/$pid/root$sock"
	[ ! -e "/proc/$pid/root/dev/kvm" ]
	[ ! -e "/proc/$pid/root/usr" ]
	# Nothing of the jail shows on the host: an empty directory.
	run find "$HUSK_ROOT/c1/jail" -mindepth 1
	assert_output ""
	# The sandbox's cgroup: guest RAM + 256 MiB overhead, 128 tasks + 1 a
	# vCPU; the monitor in its leaf `vmm`, virtiofsd in `virtiofsd` beside
	# it, each charged apart.
	vfs=$(pgrep -P "$pid" -x virtiofsd | head -n 1)
	[ -n "$vfs" ]
	if grep -q '^0::' "/proc/$pid/cgroup" && [ ! -d /sys/fs/cgroup/memory ]; then
		assert_equal "$(sed -n 's/^0:://p' "/proc/$pid/cgroup")" /husk/c1/vmm
		assert_equal "$(sed -n 's/^0:://p' "/proc/$vfs/cgroup")" /husk/c1/virtiofsd
		cg=/sys/fs/cgroup/husk/c1
		assert_equal "$(cat "$cg/memory.max")" $(((512 + 256) << 20))
		assert_equal "$(cat "$cg/pids.max")" 130
		[ "$(cat "$cg/vmm/memory.current")" -gt 0 ]
		[ "$(cat "$cg/virtiofsd/memory.current")" -gt 0 ]
		[ "$(cat "$cg/virtiofsd/pids.current")" -ge 1 ]
	else
		for ctl in memory pids; do
			assert_equal "$(sed -n "s/^[0-9]*:$ctl://p" "/proc/$pid/cgroup")" /husk/c1/vmm
			assert_equal "$(sed -n "s/^[0-9]*:$ctl://p" "/proc/$vfs/cgroup")" /husk/c1/virtiofsd
		done
		assert_equal "$(cat /sys/fs/cgroup/memory/husk/c1/memory.limit_in_bytes)" $(((512 + 256) << 20))
		assert_equal "$(cat /sys/fs/cgroup/pids/husk/c1/pids.max)" 130
	fi
	husk delete --force c1
	assert_clean
}

@test "a syscall off the monitor's allow-list kills it with SIGSYS; delete --force leaves nothing" {
	set_args sleep 1000
	# In the foreground, husk run leaves with the monitor's fate.
	husk run --bundle "$BUNDLE" c1 >"$BATS_TEST_TMPDIR/out" 2>&1 &
	rpid=$!
	wait_for 120 status_is c1 running
	pid=$(husk state c1 | jq -r .pid)
	run socat -t 5 - "UNIX-CONNECT:$(sock_path "$HUSK_ROOT/c1" control.sock)" <<<'{"cmd":"debug-forbidden-syscall"}'
	assert_output '{"ok":true}'
	wait_for 30 gone "$pid"
	run wait "$rpid"
	assert_equal "$status" 159 # 128 + SIGSYS
	assert_clean
	# Detached, the state stays behind for delete --force to clear.
	husk create --bundle "$BUNDLE" c2
	husk start c2
	pid=$(husk state c2 | jq -r .pid)
	run socat -t 5 - "UNIX-CONNECT:$(sock_path "$HUSK_ROOT/c2" control.sock)" <<<'{"cmd":"debug-forbidden-syscall"}'
	assert_output '{"ok":true}'
	wait_for 30 gone "$pid"
	wait_for 10 status_is c2 stopped
	husk delete --force c2
	run husk state c2
	assert_failure
	assert_clean
}
