#!/usr/bin/env bats
# The engines drive husk as they drive runc: containerd's ctr (shim
# io.containerd.runc.v2 with --runc-binary), Podman (--runtime) and Docker
# (a runtime registered in daemon.json). Each test starts its engine's
# daemon privately (state on tmpfs) and stops it, with the settings a host
# without CAP_SYS_RESOURCE or iptables needs (Podman's default ulimits
# lowered; Docker without iptables or a bridge). The network tests at the
# end give the container a CNI network; the others run without one.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	container_setup
	ENG="$BATS_TEST_TMPDIR/engine"
	mkdir -p "$ENG"
	mount -t tmpfs tmpfs "$ENG"
	DAEMON_PID=
	NET_UNDO=()
	VARLIB=
}

teardown() {
	# A setup that skipped made nothing (and an empty $ENG would match
	# every process below).
	[ -n "${ENG:-}" ] || return 0
	net_teardown
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait_for 60 gone "$DAEMON_PID"
	fi
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_engine_vms
	# What the engines' shims and conmon leave running while they stop.
	pkill -KILL -f "$ENG" 2>/dev/null || true
	container_teardown
	for r in /run/husk "$ENG/husk-root"; do
		for id in $("$HUSK" --root "$r" list --quiet 2>/dev/null); do
			"$HUSK" --root "$r" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
	[ -z "$VARLIB" ] || umount -l /var/lib 2>/dev/null || true
	grep -o " $ENG[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	umount -l "$ENG" 2>/dev/null || true
}

# A failed test's VMs under the engines' own state roots: each guest's
# console and the runtime's log beside it (the shims give husk --log), so
# that how a VM ended (a guest fault in the lab, a panic) is on record.
dump_engine_vms() {
	local f
	for f in $(find "$ENG" /run/husk \( -name console.log -o -name log.json \) 2>/dev/null); do
		echo "# --- $f (last 20 lines)"
		tail -n 20 "$f"
	done
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

# ---- containers that join another's namespaces (pods) ----------------------------
# `--network container:X` and `--ipc container:X` give the namespace of X's
# process by /proc path: husk runs the container in X's VM (runtime/pod.h).

# boot_id CMD...: the guest kernel's boot id, as CMD (an engine's exec) sees it.
boot_id() {
	"$@" cat /proc/sys/kernel/random/boot_id
}

@test "docker --network container:X and --ipc container:X run in X's VM" {
	command -v dockerd >/dev/null || skip "docker is not installed"
	start_docker
	docker_ run -d --name d1 --runtime husk --network none --ipc shareable busybox:husk sleep 1000
	docker_ run -d --name d2 --runtime husk --network container:d1 --ipc container:d1 \
		busybox:husk sleep 1001
	# One VM: one boot, one monitor with a kernel.
	assert_equal "$(boot_id docker_ exec d2)" "$(boot_id docker_ exec d1)"
	assert_equal "$(docker_ exec d2 readlink /proc/self/ns/ipc)" "$(docker_ exec d1 readlink /proc/self/ns/ipc)"
	assert_equal "$(pgrep -f -- "husk-vmm --kernel" | wc -l)" 1
	run docker_ run --rm --runtime husk --network container:d1 busybox:husk sh -c 'echo in the VM of d1; exit 6'
	assert_failure 6
	assert_output "in the VM of d1"
	docker_ rm -f d2 d1
	wait_for 30 no_vmm_left
}

@test "podman --network container:X runs in X's VM" {
	command -v podman >/dev/null || skip "podman is not installed"
	setup_podman
	podman_ run -d --name p1 --network none localhost/busybox:husk sleep 1000
	podman_ run -d --name p2 --network container:p1 localhost/busybox:husk sleep 1001
	assert_equal "$(boot_id podman_ exec p2)" "$(boot_id podman_ exec p1)"
	assert_equal "$(pgrep -f -- "husk-vmm --kernel" | wc -l)" 1
	run podman_ exec p2 cat /proc/1/cmdline
	assert_output --partial "sleep"
	# The dependent first: Podman refuses p1 while p2 needs it.
	podman_ rm -f -t 0 p2
	podman_ rm -f -t 0 p1
	wait_for 30 no_vmm_left
}

# ---- engine networks (CNI) --------------------------------------------------------
# The engine gives the container a network namespace wired by CNI's bridge
# plugin (Debian's plugins, /usr/lib/cni); the host side then reaches the
# container at the address the engine reports, and the container its
# gateway. Everything CNI writes stays in $ENG, and what it adds to the
# kernel (namespaces, links, iptables rules) is gone afterwards.

# The web page the containers serve.
www_page() {
	mkdir -p "$BUNDLE/rootfs/www"
	echo "hello from the guest" >"$BUNDLE/rootfs/www/index.html"
}

@test "podman's default network (CNI bridge): the host fetches from the container at its address; the container pings its gateway" {
	command -v podman >/dev/null || skip "podman is not installed"
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	private_var_lib
	net_state >"$BATS_TEST_TMPDIR/net.before"
	www_page
	setup_podman
	# Podman's default network ("podman": CNI's bridge and host-local, as
	# Podman writes it) from a private configuration directory, on a subnet
	# of its own, without its masquerade and firewall plugins where the
	# kernel has no netfilter (the lab's loads no iptables modules).
	cat >>"$ENG/containers.conf" <<-EOF2
	[network]
	network_backend = "cni"
	cni_plugin_dirs = ["/usr/lib/cni"]
	network_config_dir = "$ENG/cni"
	EOF2
	mkdir -p "$ENG/cni"
	local firewall=true
	iptables-save >/dev/null 2>&1 || firewall=false
	jq -n --argjson fw "$firewall" '{cniVersion: "0.4.0", name: "podman", plugins: ([
		{type: "bridge", bridge: "cni-podman0", isGateway: true, ipMasq: $fw, hairpinMode: true,
		 ipam: {type: "host-local", routes: [{dst: "0.0.0.0/0"}],
		        ranges: [[{subnet: "10.89.0.0/24", gateway: "10.89.0.1"}]]}}]
		+ (if $fw then [{type: "portmap", capabilities: {portMappings: true}}, {type: "firewall"}]
		   else [] end) + [{type: "tuning"}])}' >"$ENG/cni/87-podman-bridge.conflist"
	# Undone last to first.
	NET_UNDO+=(cni_firewall_chains_delete "ip link delete cni-podman0" "podman_ rm -f -t 0 p1")
	podman_ run -d --name p1 --cap-add NET_RAW localhost/busybox:husk \
		sh -c 'httpd -p 8080 -h /www && exec sleep 1000'
	ip=$(podman_ inspect -f '{{.NetworkSettings.IPAddress}}' p1)
	gw=$(podman_ inspect -f '{{.NetworkSettings.Gateway}}' p1)
	[[ "$ip" == 10.89.0.* ]] || fail "address from podman inspect: '$ip'"
	[ "$gw" = 10.89.0.1 ] || fail "gateway from podman inspect: '$gw'"
	wait_for 120 fetch "$ip" 8080
	assert_equal "$(fetch "$ip" 8080)" "hello from the guest"
	run podman_ exec p1 ping -c 1 -W 10 "$gw"
	assert_success
	assert_output --partial "1 packets received"
	# Inside, eth0 has the address the engine gave.
	run podman_ exec p1 ip -o -4 addr show dev eth0
	assert_output --partial "inet $ip/24"
	podman_ rm -f -t 2 p1
	wait_for 30 no_vmm_left
	# No rule for the container is left; the bridge and the firewall
	# plugin's own chains (kept by CNI for every container to come) are
	# Podman's, and removed here.
	run iptables-save
	refute_output --partial "$ip"
	ip link delete cni-podman0
	cni_firewall_chains_delete
	assert_equal "$(net_state)" "$(cat "$BATS_TEST_TMPDIR/net.before")"
}

# The chains CNI's firewall plugin makes on first use and never removes.
cni_firewall_chains_delete() {
	iptables -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null || true
	local c
	for c in CNI-FORWARD CNI-ADMIN; do
		iptables -F "$c" 2>/dev/null && iptables -X "$c" 2>/dev/null || true
	done
}

# cni_bridge ADD|DEL NETNS: CNI's bridge plugin run as a CNI runtime would,
# with a private configuration (its IPAM leases in $ENG); ADD prints the
# result.
cni_bridge() {
	local conf
	conf=$(jq -cn --arg d "$ENG/cni-ipam" '{cniVersion: "0.4.0", name: "husk-ctr", type: "bridge",
		bridge: "hkctr0", isGateway: true, ipMasq: false,
		ipam: {type: "host-local", subnet: "10.78.0.0/24", dataDir: $d, routes: [{dst: "0.0.0.0/0"}]}}')
	CNI_COMMAND=$1 CNI_CONTAINERID=husk-ctr-c1 CNI_NETNS="/run/netns/$2" CNI_IFNAME=eth0 \
		CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$conf"
}

# ctr 1.6's --cni wires the namespace of the task's pid after create, from
# /etc/cni/net.d and /opt/cni/bin only; a VM has taken its NICs by then, so
# the namespace is made and wired first, as containerd's CRI does for a pod,
# and given to ctr with --with-ns.
@test "containerd: a container in a namespace wired by CNI's bridge plugin serves HTTP to the host and pings its gateway" {
	command -v containerd >/dev/null || skip "containerd is not installed"
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
	net_state >"$BATS_TEST_TMPDIR/net.before"
	www_page
	ip netns add hkctr1
	NET_UNDO+=("ip netns delete hkctr1" "ip link delete hkctr0" "cni_bridge DEL hkctr1")
	result=$(cni_bridge ADD hkctr1)
	ip=$(jq -r '.ips[0].address | split("/")[0]' <<<"$result")
	gw=$(jq -r '.ips[0].gateway' <<<"$result")
	[[ "$ip" == 10.78.0.* ]] || fail "CNI result: $result"
	start_containerd
	NET_UNDO+=("ctr_ container rm c1" "ctr_ task rm -f c1" "ctr_ task kill -s SIGKILL c1")
	ctr_ run -d --rootfs --runc-binary "$HUSK" --cap-add CAP_NET_RAW \
		--with-ns network:/run/netns/hkctr1 "$BUNDLE/rootfs" c1 \
		sh -c 'httpd -p 8080 -h /www && exec sleep 1000'
	wait_for 120 fetch "$ip" 8080
	assert_equal "$(fetch "$ip" 8080)" "hello from the guest"
	run ctr_ task exec --exec-id e1 c1 ping -c 1 -W 10 "$gw"
	assert_success
	assert_output --partial "1 packets received"
	ctr_ task kill -s SIGKILL c1
	wait_for 60 task_status c1 STOPPED
	ctr_ task rm c1
	ctr_ container rm c1
	wait_for 30 no_vmm_left
	# The redirects went with the VM; CNI's DEL takes the veth and lease.
	run tc -n hkctr1 qdisc show dev eth0 ingress
	assert_output ""
	cni_bridge DEL hkctr1
	ip netns delete hkctr1
	ip link delete hkctr0
	run ls "$ENG/cni-ipam/husk-ctr"
	refute_output --partial "$ip"
	assert_equal "$(net_state)" "$(cat "$BATS_TEST_TMPDIR/net.before")"
}
