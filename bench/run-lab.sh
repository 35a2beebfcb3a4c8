#!/bin/sh
# A container end to end: `husk run` of busybox `true` against `runc run` of
# the same bundle, side by side in one run (medians of N, min, max, ratio),
# then the memory of one idle husk sandbox: PSS of husk-vmm and virtiofsd
# (husk-vmm's share includes the guest memory the guest touched, which it
# maps). Runs in the nested lab when this host's KVM cannot boot the guest;
# then times are emulation times and only the ratio carries over.
set -eu
cd "$(dirname "$0")/.."
N=${N:-10}
. bench/json.sh
bj_lab "$0" --timeout 1500
tmp=$(mktemp -d)
root=$tmp/husk-root
cleanup() {
	build/husk --root "$root" delete --force idle >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

. bench/bundle.sh
b=$tmp/bundle
busybox_bundle "$b"
jq '.process.args = ["true"]' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"

us() {
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }
	echo $((($(date +%s%N) - s) / 1000))
}
i=0
while [ $i -lt "$N" ]; do
	us build/husk --root "$root" run --bundle "$b" "h$i" >>"$tmp/husk"
	us runc --root "$tmp/runc-root" run --bundle "$b" "r$i" >>"$tmp/runc"
	i=$((i + 1))
done

# One idle sandbox: created and started, its process asleep.
jq '.process.args = ["sleep", "1000"]' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
build/husk --root "$root" run -d --bundle "$b" idle
vmm=$(build/husk --root "$root" state idle | jq .pid)
sleep 2 # settle: the guest is idle now
pss() { awk '/^Pss:/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
vmm_kib=$(pss "$vmm")
vfs_kib=0
for p in $(pgrep -P "$vmm" -x virtiofsd); do
	vfs_kib=$((vfs_kib + $(pss "$p")))
	for c in $(pgrep -P "$p"); do vfs_kib=$((vfs_kib + $(pss "$c"))); done
done
shmem=$(awk '/^RssShmem:/ {print $2}' "/proc/$vmm/status")
build/husk --root "$root" delete --force idle

bj_stats "$tmp/husk" >"$tmp/st" && read -r hm hmin hmax <"$tmp/st"
bj_stats "$tmp/runc" >"$tmp/st" && read -r rm_ rmin rmax <"$tmp/st"
ratio=$(bj_ratio "$hm" "$rm_")
mode=$(bj_mode)
printf 'run of busybox true, end to end (%s mode, %d runs each)\n' "$mode" "$N"
printf '%-22s %12s %12s %12s\n' runtime "median us" "min us" "max us"
printf '%-22s %12d %12d %12d\n' "husk (microVM)" "$hm" "$hmin" "$hmax"
printf '%-22s %12d %12d %12d\n' "runc (namespaces)" "$rm_" "$rmin" "$rmax"
printf 'husk / runc: %s\n\n' "$ratio"
printf 'one idle sandbox (sleep 1000)\n'
printf '%-34s %10s\n' part "PSS KiB"
printf '%-34s %10d\n' "husk-vmm (with guest memory)" "$vmm_kib"
printf '%-34s %10d\n' "  of which guest memory touched" "$shmem"
printf '%-34s %10d\n' "virtiofsd" "$vfs_kib"
printf '%-34s %10d\n' total $((vmm_kib + vfs_kib))

bj_begin run-lab "A container end to end: husk run against runc run" "$N"
bj_table "run of busybox true, us" "runtime|median|min|max|vs runc"
bj_row "husk (microVM)|$hm|$hmin|$hmax|$ratio"
bj_row "runc (namespaces)|$rm_|$rmin|$rmax|1.00"
bj_table "one idle sandbox (sleep 1000), PSS KiB" "part|PSS KiB"
bj_row "husk-vmm (with guest memory)|$vmm_kib"
bj_row "of which guest memory touched|$shmem"
bj_row "virtiofsd|$vfs_kib"
bj_row "total|$((vmm_kib + vfs_kib))"
bj_series "run of busybox true (median, min, max)" bars "runtime" "microseconds" "median|min|max"
bj_point "husk|$hm|$hmin|$hmax"
bj_point "runc|$rm_|$rmin|$rmax"
bj_headline "husk run / runc run of busybox true (median us)" husk "$hm" runc "$rm_" us
bj_why "husk boots a VM (its kernel, then the agent) before the container's process starts, and stops it after; runc only makes namespaces. The startup timeline below names the slowest phase and what it spends its time on."
[ "$mode" = native ] || bj_note "Lab mode: the guest boots under the nested lab's KVM (QEMU TCG), so husk's times are emulation times; runc runs in the same lab, and only the ratio carries over."
bj_end
