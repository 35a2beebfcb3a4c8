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
mkdir -p bench/results
if [ -z "${HUSK_IN_LAB:-}" ]; then
	exec tests/lab/run --timeout 1500 --env N --env HUSK_IN_LAB -- env HUSK_IN_LAB=1 N="$N" "$0"
fi
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

stat() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%d %d %d", a[int((NR+1)/2)], a[1], a[NR]}'; }
set -- $(stat "$tmp/husk")
hm=$1 hmin=$2 hmax=$3
set -- $(stat "$tmp/runc")
rm_=$1 rmin=$2 rmax=$3
ratio=$(awk -v a="$hm" -v b="$rm_" 'BEGIN {printf "%.1f", a / b}')
mode=native
[ -d /sys/module/kvm_amd ] && grep -q 'husk.lab=' /proc/cmdline 2>/dev/null && mode=lab
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
cat >bench/results/run-lab.json <<JSON
{"benchmark":"run-lab","mode":"$mode","runs":$N,"unit":"us",
 "husk":{"median":$hm,"min":$hmin,"max":$hmax},
 "runc":{"median":$rm_,"min":$rmin,"max":$rmax},"ratio":$ratio,
 "idle_sandbox_pss_kib":{"husk_vmm":$vmm_kib,"guest_touched":$shmem,"virtiofsd":$vfs_kib,"total":$((vmm_kib + vfs_kib))}}
JSON
