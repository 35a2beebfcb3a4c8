#!/usr/bin/env bats
# Kubernetes' way in: containerd's CRI plugin runs a pod with husk as its
# runtime handler (the runc shim with husk as its binary, as a RuntimeClass
# names it), driven as the kubelet drives it, over the CRI's gRPC, by the
# test's own client (cri/cri.py: Debian 12 has no crictl). containerd is
# started privately, everything it keeps under $ENG (a tmpfs): its root and
# state, husk's state root, the CNI configuration (CNI's bridge plugin, from
# Debian's containernetworking-plugins) and leases, the pods' logs and
# network namespaces. There is no registry: the pod's image (busybox, with
# a /pause for the sandbox and a web page for the app) is made from the
# test's rootfs and imported into the CRI's namespace, k8s.io.

load helpers

bats_require_minimum_version 1.5.0

CRI_PY="$HUSK_SRC/tests/lab/containers/cri/cri.py"
IMAGE=localhost/husk-busybox:cri

setup() {
	command -v containerd >/dev/null || skip "containerd is not installed"
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	command -v protoc >/dev/null && /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null ||
		skip "needs protobuf-compiler, python3-grpcio and python3-protobuf (scripts/install-deps)"
	container_setup
	ENG="$BATS_TEST_TMPDIR/engine"
	mkdir -p "$ENG"
	mount -t tmpfs tmpfs "$ENG"
	DAEMON_PID=
	NET_UNDO=()
	VARLIB=
	private_var_lib
	# husk's state root is the shim's Root (below) and the containerd
	# namespace; the watchdog and the checks look there.
	stop_deadline
	HUSK_ROOT="$ENG/husk/k8s.io"
	mkdir -p "$HUSK_ROOT"
	# What is there now, $ENG and /var/lib included, is not the test's leak.
	snapshot_host
	start_deadline
	export CRI_PROTO_OUT="$BATS_TEST_TMPDIR/cri-proto"
}

teardown() {
	# A setup that skipped made nothing (and an empty $ENG would match
	# every process below).
	[ -n "${ENG:-}" ] || return 0
	[ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "$DAEMON_PID" ] || cri_dump
	# The pods first, as the kubelet would, while containerd still runs.
	if [ -n "$DAEMON_PID" ]; then
		local p
		for p in $(cri pods 2>/dev/null | jq -r '.items[].id' 2>/dev/null); do
			cri stopp "$p" >/dev/null 2>&1 || true
			cri rmp "$p" >/dev/null 2>&1 || true
		done
	fi
	net_teardown
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait_for 60 gone "$DAEMON_PID"
	fi
	# What containerd's shims leave running while it stops.
	pkill -KILL -f "$ENG" 2>/dev/null || true
	container_teardown
	[ -z "$VARLIB" ] || umount -l /var/lib 2>/dev/null || true
	grep -o " ${ENG}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	umount -l "$ENG" 2>/dev/null || true
}

cri() {
	/usr/bin/python3 "$CRI_PY" --socket "$ENG/containerd.sock" "$@"
}

cri_ok() {
	cri "$@" >/dev/null 2>&1
}

ctr_() {
	ctr --address "$ENG/containerd.sock" --namespace k8s.io "$@"
}

# containerd with its CRI plugin: one runtime handler, husk (the runc shim
# running $HUSK, its state root in $ENG), the pods' network from CNI's bridge
# plugin on a subnet of its own (no masquerade: the lab's kernel has no
# netfilter), the sandbox image the local one (nothing is pulled), network
# namespaces under containerd's state, and the native snapshotter (the lab's
# kernel has no overlayfs).
start_containerd_cri() {
	mkdir -p "$ENG/cni/net.d"
	jq -n --arg d "$ENG/cni-ipam" '{cniVersion: "0.4.0", name: "husk-cri", plugins: [
		{type: "bridge", bridge: "hkcri0", isGateway: true, ipMasq: false,
		 ipam: {type: "host-local", subnet: "10.77.0.0/24", dataDir: $d, routes: [{dst: "0.0.0.0/0"}]}}]}' \
		>"$ENG/cni/net.d/10-husk-cri.conflist"
	cat >"$ENG/containerd.toml" <<-EOF2
	version = 2
	root = "$ENG/containerd/root"
	state = "$ENG/containerd/state"
	[grpc]
	  address = "$ENG/containerd.sock"
	[plugins."io.containerd.grpc.v1.cri"]
	  sandbox_image = "$IMAGE"
	  netns_mounts_under_state_dir = true
	  disable_apparmor = true
	  [plugins."io.containerd.grpc.v1.cri".cni]
	    bin_dir = "/usr/lib/cni"
	    conf_dir = "$ENG/cni/net.d"
	  [plugins."io.containerd.grpc.v1.cri".containerd]
	    snapshotter = "native"
	    default_runtime_name = "husk"
	    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
	      runtime_type = "io.containerd.runc.v2"
	      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk.options]
	        BinaryName = "$HUSK"
	        Root = "$ENG/husk"
	EOF2
	# The CRI's streaming server listens on 127.0.0.1 (the lab's L1 may
	# start with its loopback down).
	if ! ip -o -4 addr show dev lo | grep -q 127.0.0.1; then
		ip link set lo up
		NET_UNDO+=("ip link set lo down")
	fi
	containerd --config "$ENG/containerd.toml" >"$ENG/containerd.log" 2>&1 &
	DAEMON_PID=$!
	wait_for 120 test -S "$ENG/containerd.sock"
	wait_for 120 cri_ok version
}

# oci_blob LAYOUT FILE: FILE moved into the image layout's blobs under its
# digest; prints its descriptor's digest and size.
oci_blob() {
	local d
	d=$(sha256sum "$2" | cut -d' ' -f1)
	jq -n --arg d "sha256:$d" --argjson s "$(stat -c %s "$2")" '{digest: $d, size: $s}'
	mv "$2" "$1/blobs/sha256/$d"
}

# oci_archive NAME ROOTFS OUT: an OCI image archive (the image-spec's layout,
# in a tar) of one image, NAME, whose one layer is ROOTFS and whose command
# is /pause.
oci_archive() {
	local d="$ENG/oci" diffid layer config manifest
	mkdir -p "$d/blobs/sha256"
	tar -C "$2" --numeric-owner --owner=0 --group=0 -cf "$d/layer" .
	diffid=sha256:$(sha256sum "$d/layer" | cut -d' ' -f1)
	layer=$(oci_blob "$d" "$d/layer")
	jq -n --arg arch "$(dpkg --print-architecture)" --arg id "$diffid" '{architecture: $arch, os: "linux",
		config: {Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/pause"]},
		rootfs: {type: "layers", diff_ids: [$id]}}' >"$d/config"
	config=$(oci_blob "$d" "$d/config")
	jq -n --argjson c "$config" --argjson l "$layer" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: ($c + {mediaType: "application/vnd.oci.image.config.v1+json"}),
		layers: [$l + {mediaType: "application/vnd.oci.image.layer.v1.tar"}]}' >"$d/manifest"
	manifest=$(oci_blob "$d" "$d/manifest")
	jq -n --argjson m "$manifest" --arg n "$1" '{schemaVersion: 2, manifests: [$m + {
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		annotations: {"io.containerd.image.name": $n}}]}' >"$d/index.json"
	echo '{"imageLayoutVersion": "1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$3" oci-layout index.json blobs
	rm -rf "$d"
}

# The pod's image: the test's busybox rootfs, with the sandbox's /pause (it
# sleeps until SIGTERM or SIGKILL) and the app's web page, in containerd's
# k8s.io namespace and unpacked for the CRI's snapshotter; the CRI sees it.
import_image() {
	printf '#!/bin/sh\ntrap "exit 0" TERM INT\nsleep 2147483647 &\nwait\n' >"$BUNDLE/rootfs/pause"
	chmod 755 "$BUNDLE/rootfs/pause"
	mkdir -p "$BUNDLE/rootfs/www"
	echo "hello from the pod" >"$BUNDLE/rootfs/www/index.html"
	# No targets for the files the CRI binds into the read-only sandbox
	# (resolv.conf; the pause image has no /etc at all): husk makes them
	# before it shares the root read-only, as runc does before its remount.
	rm -f "$BUNDLE/rootfs/etc/resolv.conf" "$BUNDLE/rootfs/etc/hostname" "$BUNDLE/rootfs/etc/hosts"
	oci_archive "$IMAGE" "$BUNDLE/rootfs" "$ENG/image.tar"
	ctr_ images import --snapshotter native "$ENG/image.tar" >/dev/null
	wait_for 60 cri_ok image-status "$IMAGE"
}

# The pod and its app container as the kubelet asks for them: pid namespace
# per container (the kubelet's default), network and ipc the pod's; the app
# serves /www over HTTP on 8080 and ends at SIGTERM.
pod_json() {
	jq -n --arg logs "$ENG/pod-logs" '{
		metadata: {name: "web", namespace: "husk-test", uid: "husk-cri-pod-1", attempt: 0},
		hostname: "husk-pod", log_directory: $logs,
		linux: {security_context: {namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}}' \
		>"$ENG/pod.json"
}

app_json() {
	jq -n --arg img "$IMAGE" '{metadata: {name: "web", attempt: 0}, image: {image: $img},
		command: ["sh", "-c", "trap \"exit 0\" TERM; echo web is up; httpd -f -p 8080 -h /www & wait"],
		log_path: "web.log",
		linux: {security_context: {namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}}' \
		>"$ENG/app.json"
}

# What a failed test leaves to read, before the teardown removes the pod:
# the husk containers' state and logs, the OCI configuration containerd's
# CRI wrote for each container (the shim's bundle, or containerd's record of
# a container without a task), the CRI's view of them, and containerd's log.
cri_dump() {
	local id b
	dump_containers
	for id in $(ctr_ containers list --quiet 2>/dev/null); do
		b="$ENG/containerd/state/io.containerd.runtime.v2.task/k8s.io/$id"
		if [ -f "$b/config.json" ]; then
			echo "# --- $b/config.json"
			jq -S . "$b/config.json"
		else
			echo "# --- containerd's spec of $id (no task)"
			ctr_ containers info "$id" | jq -S .Spec
		fi
	done
	echo "# --- CRI containers"
	cri ps 2>&1 | jq -c '.containers[] | {id, state, metadata}' 2>&1
	echo "# --- $ENG/containerd.log (errors and warnings, last 30)"
	grep -E 'level=(error|warning)' "$ENG/containerd.log" | tail -n 30
}

# The sandbox's task runs, as a husk container of the shim's state root,
# with its monitor.
sandbox_is_husk() {
	local pid
	husk list --quiet | grep -qx "$1" || return 1
	status_is "$1" running || return 1
	pid=$(husk state "$1" | jq -r .pid)
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = husk-vmm ]
}

ctr_state_is() {
	[ "$(cri inspect "$1" 2>/dev/null | jq -r .status.state)" = "$2" ]
}

log_has() {
	grep -q "$2" "$ENG/pod-logs/$1" 2>/dev/null
}

@test "containerd CRI, runtime handler husk: a pod's sandbox and app container serve HTTP to the host, exec, stop and remove with nothing left" {
	net_state >"$BATS_TEST_TMPDIR/net.before"
	start_containerd_cri
	import_image
	pod_json
	app_json

	# The pod: its sandbox (the pause container) is a husk VM, on the
	# network CNI gave it.
	pod=$(cri runp --runtime husk "$ENG/pod.json")
	NET_UNDO+=("ip link delete hkcri0")
	run cri inspectp "$pod"
	assert_success
	assert_equal "$(jq -r .status.state <<<"$output")" SANDBOX_READY
	assert_equal "$(jq -r .status.runtime_handler <<<"$output")" husk
	ip=$(jq -r .status.network.ip <<<"$output")
	[[ "$ip" == 10.77.0.* ]] || fail "the pod's address from PodSandboxStatus: '$ip'"
	sandbox_is_husk "$pod" || fail "the sandbox $pod is not a running husk container: $(husk list 2>&1)"

	# The app container, in the pod.
	ctr=$(cri create "$pod" "$ENG/app.json" "$ENG/pod.json")
	cri start "$ctr"
	wait_for 120 ctr_state_is "$ctr" CONTAINER_RUNNING
	wait_for 60 log_has web.log "stdout F web is up"
	# The host reaches the app at the pod's address.
	wait_for 120 fetch "$ip" 8080
	assert_equal "$(fetch "$ip" 8080)" "hello from the pod"
	# ExecSync: its output and exit status come back; it runs with the
	# pod's hostname.
	run cri exec-sync "$ctr" -- sh -c 'echo exec in $(hostname); exit 3'
	assert_failure 3
	assert_output "exec in husk-pod"
	run cri exec-sync "$ctr" -- cat /www/index.html
	assert_success
	assert_output "hello from the pod"

	# Stopped (SIGTERM: the app exits 0) and removed; then the pod.
	cri stop -t 30 "$ctr"
	run cri inspect "$ctr"
	assert_equal "$(jq -r .status.state <<<"$output")" CONTAINER_EXITED
	assert_equal "$(jq -r .status.exit_code <<<"$output")" 0
	cri rm "$ctr"
	cri stopp "$pod"
	assert_equal "$(cri inspectp "$pod" | jq -r .status.state)" SANDBOX_NOTREADY
	cri rmp "$pod"

	# Nothing is left: no pod or container for the CRI or containerd, no
	# husk container or monitor, no lease, no network namespace or link
	# (the bridge is CNI's, kept for pods to come, and removed here).
	assert_equal "$(cri pods | jq '.items | length')" 0
	assert_equal "$(cri ps | jq '.containers | length')" 0
	run ctr_ containers list --quiet
	assert_output ""
	run husk list --quiet
	assert_output ""
	wait_for 30 no_vmm_left
	run ls "$ENG/cni-ipam/husk-cri"
	refute_output --partial "$ip"
	ip link delete hkcri0
	assert_equal "$(net_state)" "$(cat "$BATS_TEST_TMPDIR/net.before")"
	# containerd stopped: no mount, process, cgroup or state directory of
	# the test's is left.
	kill "$DAEMON_PID"
	wait_for 60 gone "$DAEMON_PID"
	DAEMON_PID=
	assert_clean
}
