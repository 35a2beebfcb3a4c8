#!/usr/bin/env bats
# Networking (DESIGN §6): the test plays CNI, making a network namespace
# with a veth whose other end stays here, as an engine's bridge plugin
# would; the container's VM must then be reachable exactly like a runc
# container in that namespace: ping, TCP, IPv6, a large MTU, two VMs on a
# bridge. Teardown leaves no tap and no filter behind (netlink dumps through
# ip and tc).

load helpers

bats_require_minimum_version 1.5.0

setup() {
	container_setup
	NETNS=()
	LINKS=()
	# ping needs a raw socket (Docker's default set has CAP_NET_RAW; runc
	# spec's does not).
	update_config '.root.readonly = false
		| .process.capabilities |= with_entries(.value += ["CAP_NET_RAW"])'
	mkdir -p "$BUNDLE/rootfs/www"
	echo "hello from the guest" >"$BUNDLE/rootfs/www/index.html"
}

teardown() {
	container_teardown
	local n l
	for n in "${NETNS[@]}"; do ip netns delete "$n" 2>/dev/null || true; done
	for l in "${LINKS[@]}"; do ip link delete "$l" 2>/dev/null || true; done
}

# cni NAME N [MTU]: netns NAME with eth0 = 10.77.N.2/24 and fd77:N::2/64,
# default routes via the host end (hk-N, .1 and ::1) left in this namespace.
cni() {
	local ns=$1 n=$2 mtu=${3:-1500}
	ip netns add "$ns"
	NETNS+=("$ns")
	ip link add "hk-$n" mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "$ns"
	LINKS+=("hk-$n")
	ip addr add "10.77.$n.1/24" dev "hk-$n"
	ip addr add "fd77:$n::1/64" dev "hk-$n" nodad
	ip link set "hk-$n" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "10.77.$n.2/24" dev eth0
	ip -n "$ns" addr add "fd77:$n::2/64" dev eth0 nodad
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "10.77.$n.1"
	ip -n "$ns" -6 route add default via "fd77:$n::1"
	# The namespace's own mounts are the test's, not husk's.
	snapshot_host
}

in_netns() {
	update_config --arg p "/run/netns/$1" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
}

# No tap and no ingress qdisc left in the namespace.
assert_net_clean() {
	run ip -n "$1" -o link show type tun
	assert_output ""
	run tc -n "$1" qdisc show dev eth0 ingress
	assert_output ""
}

@test "the container pings its gateway and serves HTTP over IPv4 and IPv6; a second VM in its namespace is refused" {
	cni hkn1 1
	in_netns hkn1
	set_args sh -c 'cat /sys/class/net/eth0/address >/tmp/mac; ip addr show dev eth0 >/tmp/addrs;
		ping -c 1 -W 10 10.77.1.1 >/tmp/ping4 2>&1; ping -c 1 -W 10 fd77:1::1 >/tmp/ping6 2>&1;
		httpd -p 8080 -h /www && touch /tmp/serving; exec sleep 1000'
	husk run -d --bundle "$BUNDLE" c1
	wait_for 90 test -e "$BUNDLE/rootfs/tmp/serving"
	if ! wait_for 90 fetch 10.77.1.2 8080; then
		head -50 "$BUNDLE"/rootfs/tmp/* || true
		husk exec c1 sh -c 'netstat -ltn; ip addr; ip route; ip -6 route' || true
		tc -n hkn1 -s filter show dev eth0 ingress || true
		false
	fi
	assert_equal "$(fetch 10.77.1.2 8080)" "hello from the guest"
	assert_equal "$(fetch fd77:1::2 8080)" "hello from the guest"
	# The guest's NIC is the namespace's eth0: same MAC, same addresses.
	assert_equal "$(cat "$BUNDLE/rootfs/tmp/mac")" "$(ip -n hkn1 -o link show eth0 | grep -o 'link/ether [^ ]*' | cut -d' ' -f2)"
	run cat "$BUNDLE/rootfs/tmp/addrs"
	assert_output --partial "10.77.1.2/24"
	assert_output --partial "fd77:1::2/64"
	run cat "$BUNDLE/rootfs/tmp/ping4" "$BUNDLE/rootfs/tmp/ping6"
	assert_output --partial "1 packets received"
	refute_output --partial "0 packets received"
	# While it runs: a tap and a redirect filter on each side.
	run ip -n hkn1 -o link show type tun
	assert_output --partial husk
	run tc -n hkn1 filter show dev eth0 ingress
	assert_output --partial "mirred"
	# A second VM in the namespace c1's took (docker --network container:c1)
	# is refused before it boots, and c1 keeps its network.
	run husk create --bundle "$BUNDLE" c2
	assert_failure 1
	assert_output --partial "network: namespace \`/run/netns/hkn1\` is already another husk VM's (its tap \`husk"
	assert_output --partial "a pod's containers share its sandbox's VM when they say which pod they are in"
	run husk state c2
	assert_failure 1
	assert_equal "$(fetch 10.77.1.2 8080)" "hello from the guest"
	assert_equal "$(ip -n hkn1 -o link show type tun | wc -l)" 1
	husk delete --force c1
	assert_net_clean hkn1
	assert_clean
}

@test "MTU 9000 reaches the guest and carries large frames" {
	cni hkn2 2 9000
	in_netns hkn2
	set_args sh -c 'cat /sys/class/net/eth0/mtu; ping -c 1 -W 10 -s 8000 10.77.2.1 | grep -o "1 packets received"'
	run husk run --bundle "$BUNDLE" c1
	assert_success
	assert_line --index 0 9000
	assert_line --index 1 "1 packets received"
	assert_net_clean hkn2
	assert_clean
}

@test "two containers in two VMs talk through a bridge" {
	cni hkn3 3
	cni hkn4 4
	# One L2 segment: both host ends on a bridge, the second moved to
	# 10.77.3.3 so both sit in one subnet.
	ip link add hkbr type bridge
	LINKS+=(hkbr)
	ip addr flush dev hk-3
	ip addr flush dev hk-4
	ip link set hk-3 master hkbr
	ip link set hk-4 master hkbr
	ip link set hkbr up
	ip -n hkn4 addr flush dev eth0
	ip -n hkn4 route flush dev eth0
	ip -n hkn4 -6 route flush dev eth0
	ip -n hkn4 addr add 10.77.3.3/24 dev eth0
	in_netns hkn3
	set_args sh -c 'httpd -p 8080 -h /www && touch /tmp/serving; exec sleep 1000'
	husk run -d --bundle "$BUNDLE" a
	wait_for 90 test -e "$BUNDLE/rootfs/tmp/serving"
	in_netns hkn4
	# nc, not wget: the static busybox's wget dies of SIGSEGV in the lab,
	# in the guests as on the lab's host side, where nc works.
	set_args sh -c 'for i in $(seq 120); do
		body=$(printf "GET / HTTP/1.0\r\n\r\n" | nc -w 2 10.77.3.2 8080 | tr -d "\r" | sed "1,/^$/d")
		[ -n "$body" ] && { echo "$body"; exit 0; }; sleep 0.5; done; exit 1'
	run husk run --bundle "$BUNDLE" b
	assert_success
	assert_output "hello from the guest"
	husk delete --force a
	assert_net_clean hkn3
	assert_net_clean hkn4
	assert_clean
}

@test "a namespace of its own gives only lo; the host's namespace is refused" {
	set_args sh -c 'ls /sys/class/net; ping -c 1 -W 2 127.0.0.1 | grep -o "1 packets received"'
	run husk run --bundle "$BUNDLE" c1
	assert_success
	assert_output $'lo\n1 packets received'
	# The container's pid (the monitor's) is in a namespace of its own, not
	# the host's: an engine that wires the pid's namespace after create
	# must not reach the host's stack.
	set_args sleep 1000
	husk run -d --bundle "$BUNDLE" c1
	local pid
	pid=$(husk state c1 | jq .pid)
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] ||
		fail "the monitor is in the host's network namespace"
	run nsenter -t "$pid" -n ip -o link show
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_line --index 0 --partial ": lo: "
	husk delete --force c1
	set_args sh -c 'ls /sys/class/net; ping -c 1 -W 2 127.0.0.1 | grep -o "1 packets received"'
	update_config '.linux.namespaces |= map(select(.type != "network"))'
	run husk run --bundle "$BUNDLE" c1
	assert_failure
	assert_output --partial "network namespace, which a VM cannot share"
	update_config '.annotations["io.husk.network"] = "none"'
	set_args ls /sys/class/net
	run husk run --bundle "$BUNDLE" c1
	assert_success
	assert_output lo
	assert_clean
}

@test "a monitor killed with SIGKILL leaves filters that delete --force removes" {
	cni hkn5 5
	in_netns hkn5
	set_args sleep 1000
	husk run -d --bundle "$BUNDLE" c1
	wait_for 90 status_is c1 running
	kill -9 "$(husk state c1 | jq .pid)"
	wait_for 30 status_is c1 stopped
	# The tap went with the monitor; the engine's side still redirects.
	run tc -n hkn5 qdisc show dev eth0 ingress
	assert_output --partial ingress
	husk delete --force c1
	assert_net_clean hkn5
	assert_clean
}
