#!/usr/bin/env bats
# Pods: containers that share namespaces run in one VM, the VM of the pod's
# first container (its sandbox), as in Kata. The app containers here are
# written as containerd's CRI writes them: the sandbox's ipc, uts and
# network namespaces (and its pid namespace when the pod shares one) by
# /proc/PID/ns path, the CRI container-type and sandbox-id annotations.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	container_setup
	APP="$BATS_TEST_TMPDIR/app"
	mkdir -p "$APP"
	cp -a "$BUNDLE/rootfs" "$APP/rootfs"
	echo app >"$APP/rootfs/etc/marker"
	update_config '.hostname = "pod1"'
}

teardown() {
	container_teardown
}

# app_config SANDBOX-ID NS-TYPE... [-- ARG...]: the app bundle's config: the
# sandbox's config.json with the sandbox's namespaces of those types by
# path, CRI's annotations, and the process ARGs.
app_config() {
	local sb=$1 pid args
	shift
	local types=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		types+=("$1")
		shift
	done
	[ "${1:-}" != -- ] || shift
	pid=$(husk state "$sb" | jq -r .pid)
	args=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -cs .)
	jq --arg sb "$sb" --arg pid "$pid" --argjson args "$args" \
		--argjson types "$(printf '%s\n' "${types[@]}" | jq -R . | jq -cs .)" '
		del(.hostname) | .process.args = $args
		| .annotations = {"io.kubernetes.cri.container-type": "container",
		                  "io.kubernetes.cri.sandbox-id": $sb}
		| .linux.namespaces = ([.linux.namespaces[] | select(.type as $t | $types | index($t) | not)]
		   + [$types[] | {type: ., path: "/proc/\($pid)/ns/\(if . == "network" then "net" else . end)"}])' \
		"$BUNDLE/config.json" >"$APP/config.json"
}

# in CTR CMD...: the output of CMD run in the container.
in_ctr() {
	husk exec "$@"
}

@test "a pod's container runs in its sandbox's VM: shared ipc, uts and pid namespaces, its own rootfs" {
	set_args sleep 1000
	husk run -d --bundle "$BUNDLE" sb
	wait_for 120 status_is sb running
	app_config sb ipc uts network pid -- sleep 1001
	husk run -d --bundle "$APP" app1
	wait_for 60 status_is app1 running
	# One VM: the same kernel boot, and one monitor with a kernel.
	assert_equal "$(in_ctr app1 cat /proc/sys/kernel/random/boot_id)" \
		"$(in_ctr sb cat /proc/sys/kernel/random/boot_id)"
	assert_equal "$(pgrep -f -- "--kernel .*--container sb" | wc -l)" 1
	run pgrep -f -- "--kernel .*--container app1"
	assert_failure
	# app1's process is the pod-mode monitor: no VM, the engine's pid.
	pid=$(husk state app1 | jq -r .pid)
	assert_equal "$(cat /proc/$pid/comm)" husk-vmm
	# The namespaces it joined by path are the sandbox's in the guest.
	for ns in ipc uts pid; do
		assert_equal "$(in_ctr app1 readlink /proc/self/ns/$ns)" "$(in_ctr sb readlink /proc/self/ns/$ns)"
	done
	assert_equal "$(in_ctr app1 hostname)" pod1
	# The mount namespace and root are its own.
	refute [ "$(in_ctr app1 readlink /proc/self/ns/mnt)" = "$(in_ctr sb readlink /proc/self/ns/mnt)" ]
	assert_equal "$(in_ctr app1 cat /etc/marker)" app
	run husk exec sb cat /etc/marker
	assert_failure
	# A shared pid namespace: the sandbox sees the app's sleep.
	run husk exec sb ps -o args
	assert_output --partial "sleep 1001"
	# The verbs act on the app container alone.
	run husk ps app1
	assert_success
	husk kill app1 KILL
	wait_for 60 status_is app1 stopped
	husk exec sb true
	assert_equal "$(husk state sb | jq -r .status)" running
	husk delete app1
	# Its files left the sandbox's share (virtiofsd's own mount namespace,
	# whose root is the share).
	fsd=$(pgrep -P "$(husk state sb | jq -r .pid)" virtiofsd | head -1)
	run ls -A "/proc/$fsd/root/pod"
	assert_success
	assert_output ""
	husk delete --force sb
	assert_clean
}

@test "a pod's container prints its output and exits with its status; exec, ps and a foreground run" {
	set_args sleep 1000
	husk run -d --bundle "$BUNDLE" sb
	wait_for 120 status_is sb running
	# Its own pid namespace (CRI's default): its shell is PID 1 there.
	app_config sb ipc uts network -- sh -c 'echo "app pid $$ on $(hostname)"; exit 3'
	run --separate-stderr husk run --bundle "$APP" app2
	assert_failure 3
	assert_output "app pid 1 on pod1"
	# run deletes it, as runc's does: the id is free again.
	run husk state app2
	assert_failure
	# Two at once, each with its own exit.
	app_config sb ipc uts network -- sh -c 'read line; echo "got $line"; exit 5'
	run husk run --bundle "$APP" app3 <<<"hello"
	assert_failure 5
	assert_output "got hello"
	app_config sb ipc uts network -- sleep 1000
	husk create --bundle "$APP" app4 </dev/null >/dev/null 2>&1
	assert_equal "$(husk state app4 | jq -r .status)" created
	husk start app4
	wait_for 60 status_is app4 running
	run husk exec app4 sh -c 'echo exec in app4; exit 4'
	assert_failure 4
	assert_output "exec in app4"
	run husk ps app4
	assert_output --partial sleep
	# Its PID 1 (sleep, no handler) ignores TERM, as under runc.
	husk kill app4 KILL
	wait_for 60 status_is app4 stopped
	husk delete app4
	husk delete --force sb
	assert_clean
}

@test "the sandbox's end ends its pod's containers as killed; nothing is left" {
	set_args sleep 1000
	husk run -d --bundle "$BUNDLE" sb
	wait_for 120 status_is sb running
	app_config sb ipc uts network -- sleep 1000
	(exec "$HUSK" --root "$HUSK_ROOT" run --bundle "$APP" app5 </dev/null) &
	runner=$!
	wait_for 60 status_is app5 running
	husk kill sb KILL
	rc=0
	wait "$runner" || rc=$?
	assert_equal "$rc" 137
	wait_for 60 status_is sb stopped
	# husk run deleted app5 on its way out, as runc's does.
	run husk state app5
	assert_failure
	husk delete sb
	assert_clean
}

@test "a pod whose sandbox is not running is refused with the reason; nothing leaked" {
	set_args sleep 1000
	husk run -d --bundle "$BUNDLE" sb
	wait_for 120 status_is sb running
	app_config sb ipc uts network -- true
	husk kill sb KILL
	wait_for 60 status_is sb stopped
	run husk create --bundle "$APP" app6
	assert_failure 1
	assert_output --partial "the pod's sandbox \`sb\` is not running"
	run husk state app6
	assert_failure 1
	husk delete sb
	assert_clean
}
