#!/usr/bin/env bats
# The engines drive husk as they drive runc: containerd's ctr (shim
# io.containerd.runc.v2 with --runc-binary), Podman (--runtime) and Docker
# (a runtime registered in daemon.json). Each test starts its engine's
# daemon privately (state on tmpfs, no network set-up) and stops it, with
# the settings a host without CAP_SYS_RESOURCE or iptables needs (Podman's
# default ulimits lowered; Docker without iptables or a bridge).

load helpers

bats_require_minimum_version 1.5.0

setup() {
	container_setup
	ENG="$BATS_TEST_TMPDIR/engine"
	mkdir -p "$ENG"
	mount -t tmpfs tmpfs "$ENG"
	DAEMON_PID=
}

teardown() {
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait_for 60 gone "$DAEMON_PID"
	fi
	# What the engines' shims and conmon leave running while they stop.
	pkill -KILL -f "$ENG" 2>/dev/null || true
	container_teardown
	for r in /run/husk "$ENG/husk-root"; do
		for id in $("$HUSK" --root "$r" list --quiet 2>/dev/null); do
			"$HUSK" --root "$r" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
	grep -o " $ENG[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	umount -l "$ENG" 2>/dev/null || true
}

rootfs_tar() {
	tar -C "$BUNDLE/rootfs" -cf "$ENG/rootfs.tar" .
}

# ---- containerd ----------------------------------------------------------------

start_containerd() {
	cat >"$ENG/containerd.toml" <<-EOF2
	version = 2
	root = "$ENG/containerd/root"
	state = "$ENG/containerd/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$ENG/containerd.sock"
	EOF2
	containerd --config "$ENG/containerd.toml" >"$ENG/containerd.log" 2>&1 &
	DAEMON_PID=$!
	wait_for 60 test -S "$ENG/containerd.sock"
	wait_for 60 ctr_ok version
}

ctr_() {
	ctr --address "$ENG/containerd.sock" "$@"
}

ctr_ok() {
	ctr_ "$@" >/dev/null 2>&1
}

@test "containerd: ctr run in the foreground, with a tty, in the background with exec and kill" {
	command -v containerd >/dev/null || skip "containerd is not installed"
	start_containerd
	rootfs="$BUNDLE/rootfs"
	run ctr_ run --rm --rootfs --runc-binary "$HUSK" "$rootfs" fg sh -c 'echo hello from ctr; exit 3'
	assert_output --partial "hello from ctr"
	assert_failure 3
	# A terminal: ctr wants one on its own stdin, which script(1) gives it.
	run script -qec "ctr --address $ENG/containerd.sock run --rm -t --rootfs --runc-binary $HUSK $rootfs tty sh -c 'tty; stty size'" /dev/null
	assert_success
	assert_output --partial "/dev/pts/"
	ctr_ run -d --rootfs --runc-binary "$HUSK" "$rootfs" bg sleep 1000
	wait_for 60 task_status bg RUNNING
	run ctr_ task exec --exec-id e1 bg sh -c 'echo exec in $(hostname)'
	assert_success
	assert_output --partial "exec in"
	ctr_ task kill -s SIGKILL bg
	wait_for 60 task_status bg STOPPED
	ctr_ task rm bg
	ctr_ container rm bg
	# No monitor left (the engines keep their own mounts until they stop).
	wait_for 30 no_vmm_left
}

task_status() {
	ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}' | grep -qx "$2"
}

# ---- Podman ----------------------------------------------------------------------

podman_() {
	CONTAINERS_CONF="$ENG/containers.conf" podman --root "$ENG/podman/storage" \
		--runroot "$ENG/podman/run" --storage-driver vfs --runtime "$HUSK" "$@"
}

setup_podman() {
	cat >"$ENG/containers.conf" <<-EOF2
	[containers]
	default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	events_logfile_path = "$ENG/podman-events.log"
	EOF2
	rootfs_tar
	podman_ import "$ENG/rootfs.tar" localhost/busybox:husk >/dev/null
}

@test "podman --runtime husk: run, logs, exec, stop, rm" {
	command -v podman >/dev/null || skip "podman is not installed"
	setup_podman
	run podman_ run --rm --network none localhost/busybox:husk sh -c 'echo hello from podman'
	assert_success
	assert_output "hello from podman"
	run podman_ run --rm --network none localhost/busybox:husk sh -c 'exit 42'
	assert_failure 42
	podman_ run -d --name p1 --network none localhost/busybox:husk sh -c 'echo logged; exec sleep 1000'
	wait_for 60 podman_logs_have p1 logged
	run podman_ exec p1 sh -c 'echo exec in podman'
	assert_success
	assert_output "exec in podman"
	podman_ stop -t 2 p1
	assert_equal "$(podman_ inspect -f '{{.State.Status}}' p1)" exited
	podman_ rm p1
	# No monitor left (the engines keep their own mounts until they stop).
	wait_for 30 no_vmm_left
}

podman_logs_have() {
	podman_ logs "$1" 2>/dev/null | grep -q "$2"
}

# ---- Docker ----------------------------------------------------------------------

docker_() {
	docker -H "unix://$ENG/docker.sock" "$@"
}

start_docker() {
	printf '{"runtimes": {"husk": {"path": "%s"}}}\n' "$HUSK" >"$ENG/daemon.json"
	dockerd --config-file "$ENG/daemon.json" --data-root "$ENG/docker/data" \
		--exec-root "$ENG/docker/exec" --pidfile "$ENG/docker.pid" \
		-H "unix://$ENG/docker.sock" --iptables=false --ip6tables=false --bridge=none \
		--storage-driver vfs >"$ENG/dockerd.log" 2>&1 &
	DAEMON_PID=$!
	wait_for 120 docker_ok version
	rootfs_tar
	docker_ import "$ENG/rootfs.tar" busybox:husk >/dev/null
}

docker_ok() {
	docker_ "$@" >/dev/null 2>&1
}

@test "docker with husk in daemon.json: run, exec, stop, rm" {
	command -v dockerd >/dev/null || skip "docker is not installed"
	start_docker
	run docker_ run --rm --runtime husk --network none busybox:husk sh -c 'echo hello from docker'
	assert_success
	assert_output "hello from docker"
	run docker_ run --rm --runtime husk --network none busybox:husk sh -c 'exit 7'
	assert_failure 7
	docker_ run -d --name d1 --runtime husk --network none busybox:husk sleep 1000
	run docker_ exec d1 sh -c 'echo exec in docker'
	assert_success
	assert_output "exec in docker"
	docker_ stop -t 2 d1
	assert_equal "$(docker_ inspect -f '{{.State.Status}}' d1)" exited
	docker_ rm d1
	# No monitor left (the engines keep their own mounts until they stop).
	wait_for 30 no_vmm_left
}
