#!/bin/bash
# Network throughput and latency of a container, husk against runc, in one
# run: each runs iperf3's server in a network namespace wired as CNI would
# (a veth, eth0 inside, the other end here), and the host side of the veth
# sends to it (host -> container) and receives from it (container -> host,
# iperf3 -R), then pings it 100 times. husk's path is veth -> tc mirred ->
# tap -> virtio-net -> guest; runc's is the veth alone. Runs in the nested
# lab when this host's KVM cannot boot the guest; then the absolute figures
# are emulation figures and only the ratios carry over.
#
#   bench/net-lab.sh                 T=10 (seconds per iperf3 run)
# Table on stdout; raw iperf3 and ping output in bench/results/net-lab/,
# the summary in bench/results/net-lab.json.
set -eu
cd "$(dirname "$0")/.."
T=${T:-10}
. bench/json.sh
bj_lab "$0" --timeout 1800 --mem 3072
command -v iperf3 >/dev/null || { echo "bench: iperf3 is not installed (scripts/install-deps)" >&2; exit 1; }
raw=bench/results/net-lab
mkdir -p "$raw"
tmp=$(mktemp -d)
root=$tmp/husk-root
cleanup() {
	set +e
	build/husk --root "$root" delete --force srv >/dev/null 2>&1
	runc --root "$tmp/runc-root" delete --force srv >/dev/null 2>&1
	for n in 1 2; do
		ip netns delete "hkbench$n" 2>/dev/null
		ip link delete "hkb-$n" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# A busybox bundle with iperf3 and the libraries it loads.
. bench/bundle.sh
b=$tmp/bundle
busybox_bundle "$b"
cp "$(command -v iperf3)" "$b/rootfs/bin/iperf3"
for lib in $(ldd "$(command -v iperf3)" | grep -o '/[^ ]*'); do
	mkdir -p "$b/rootfs$(dirname "$lib")"
	cp -L "$lib" "$b/rootfs$lib"
done
# iperf3 keeps each stream's buffer in a file it makes in /tmp.
jq '.process.args = ["iperf3", "-s"] | .root.readonly = false' "$b/config.json" >"$b/c"
mv "$b/c" "$b/config.json"

# wire N: namespace hkbench N, eth0 = 10.79.N.2/24 inside, hkb-N = .1 here.
wire() {
	ip netns add "hkbench$1"
	ip link add "hkb-$1" type veth peer name eth0 netns "hkbench$1"
	ip addr add "10.79.$1.1/24" dev "hkb-$1"
	ip link set "hkb-$1" up
	ip -n "hkbench$1" link set lo up
	ip -n "hkbench$1" addr add "10.79.$1.2/24" dev eth0
	ip -n "hkbench$1" link set eth0 up
	jq --arg p "/run/netns/hkbench$1" \
		'.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		"$b/config.json" >"$b/c"
	mv "$b/c" "$b/config.json"
}

# Until the server takes a test (the guest boots slowly in the lab): the
# probe is a short iperf3 run, since a bare connect and close leaves
# iperf3 3.12's server failing the next test.
wait_server() {
	local deadline=$(($(date +%s) + 300))
	until timeout 30 iperf3 -c "$1" -t 1 >/dev/null 2>&1; do
		[ "$(date +%s)" -lt $deadline ] || { echo "bench: no iperf3 server at $1" >&2; exit 1; }
		sleep 0.5
	done
}

# measure NAME ADDR: Gbit/s each way and the median ping in ms.
measure() {
	wait_server "$2"
	local dir rev
	for dir in to from; do
		rev=
		[ $dir = to ] || rev=-R
		iperf3 -c "$2" -t "$T" ${rev:+"$rev"} -J >"$raw/$1-$dir-container.json" || true
		if [ "$(jq -r '.error // empty' "$raw/$1-$dir-container.json")" ]; then
			echo "bench: iperf3 $1 $dir: $(jq -r .error "$raw/$1-$dir-container.json")" >&2
			exit 1
		fi
	done
	# busybox's: the lab's root need not have iputils.
	busybox ping -c 100 -i 0.05 -q "$2" >/dev/null # warm: ARP, caches
	busybox ping -c 100 -i 0.05 "$2" >"$raw/$1-ping.txt"
	gbps() { jq '.end.sum_received.bits_per_second / 1e9' "$1"; }
	printf '%s %s %s\n' "$(gbps "$raw/$1-to-container.json")" \
		"$(gbps "$raw/$1-from-container.json")" \
		"$(grep -o 'time=[0-9.]*' "$raw/$1-ping.txt" | cut -d= -f2 | sort -n |
			awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
}

wire 1
build/husk --root "$root" run -d --bundle "$b" srv >"$raw/husk-server.log" 2>&1 </dev/null
measure husk 10.79.1.2 >"$tmp/husk"
read -r h_in h_out h_ping <"$tmp/husk"
build/husk --root "$root" delete --force srv

wire 2
runc --root "$tmp/runc-root" run -d --bundle "$b" srv >"$raw/runc-server.log" 2>&1 </dev/null
measure runc 10.79.2.2 >"$tmp/runc"
read -r r_in r_out r_ping <"$tmp/runc"
runc --root "$tmp/runc-root" delete --force srv

mode=$(bj_mode)
ratio() { bj_ratio "$@"; }
printf 'container network, host side of the veth <-> container (%s mode, iperf3 TCP %d s, ping -c 100)\n' "$mode" "$T"
printf '%-26s %14s %14s %12s\n' runtime "to Gbit/s" "from Gbit/s" "ping ms"
printf '%-26s %14.3f %14.3f %12s\n' "husk (tc mirred + tap)" "$h_in" "$h_out" "$h_ping"
printf '%-26s %14.3f %14.3f %12s\n' "runc (veth)" "$r_in" "$r_out" "$r_ping"
printf '%-26s %14s %14s %12s\n' "husk / runc" "$(ratio "$h_in" "$r_in")" "$(ratio "$h_out" "$r_out")" \
	"$(ratio "$h_ping" "$r_ping")"
r3() { awk -v v="$1" 'BEGIN {printf "%.3f", v}'; }
bj_begin net-lab "Container network: husk against runc" 1
bj_table "host side of the veth <-> container (iperf3 TCP $T s each way, ping -c 100)" \
	"runtime|to container Gbit/s|from container Gbit/s|ping median ms"
bj_row "husk (tc mirred + tap + virtio-net)|$(r3 "$h_in")|$(r3 "$h_out")|$h_ping"
bj_row "runc (veth)|$(r3 "$r_in")|$(r3 "$r_out")|$r_ping"
bj_row "husk / runc|$(ratio "$h_in" "$r_in")|$(ratio "$h_out" "$r_out")|$(ratio "$h_ping" "$r_ping")"
bj_series "throughput, Gbit/s" bars "direction" "Gbit/s" "husk|runc"
bj_point "to container|$h_in|$r_in"
bj_point "from container|$h_out|$r_out"
path="every packet crosses the veth, the tc mirred redirect to the tap and husk-vmm's event loop, which copies it between the tap and the guest's rings (an interrupt into the guest one way, a kick that exits it the other); runc's container sits on the veth itself"
bj_headline "TCP to the container (Gbit/s)" husk "$(r3 "$h_in")" runc "$(r3 "$r_in")" Gbit/s
bj_why "As for all traffic, $path. There is no vhost-net: one thread of husk-vmm does the copies for every queue."
bj_headline "TCP from the container (Gbit/s)" husk "$(r3 "$h_out")" runc "$(r3 "$r_out")" Gbit/s
bj_why "The same path the other way; the guest's tx kicks are exits, each through L1's KVM in the lab."
bj_headline "ping round trip (median ms)" husk "$h_ping" runc "$r_ping" ms
bj_why "A round trip is one interrupt into the guest and one exit out of it, with husk-vmm's event loop woken for each: $path."
bj_note "One iperf3 run of $T s per direction and runtime (T in the environment sets it); raw iperf3 and ping output in bench/results/net-lab/."
[ "$mode" = native ] || bj_note "Lab mode: both runtimes run in the nested lab (QEMU TCG), so the absolute figures are emulation figures; only the ratios carry over."
bj_end
