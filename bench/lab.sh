#!/bin/sh
# The lab itself: how long `tests/lab/run -- true` takes (L1 boot, chroot,
# power-off), and how long the guest takes inside it to reach the agent's
# boot timer under husk-vmm (console off). Medians of N with min and max.
set -eu
cd "$(dirname "$0")/.."
N=${N:-5}
mkdir -p bench/results
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case "$(tests/lab/kvm-kind)" in
hardware-*) echo "lab: this host boots guests directly; the lab is not used here"; exit 0 ;;
esac
i=0
while [ $i -lt "$N" ]; do
	s=$(date +%s%N)
	tests/lab/run --timeout 120 -- true
	echo $((($(date +%s%N) - s) / 1000)) >>"$tmp/lab"
	tests/lab/run --timeout 120 -- build/husk-vmm --kernel build/guest/vmlinux \
		--initrd build/guest/initramfs.cpio --console none 2>&1 |
		sed -n 's/.*boot-time-us=\([0-9]*\).*/\1/p' >>"$tmp/boot"
	i=$((i + 1))
done
stat() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%d %d %d", a[int((NR+1)/2)], a[1], a[NR]}'; }
set -- $(stat "$tmp/lab")
lm=$1 lmin=$2 lmax=$3
set -- $(stat "$tmp/boot")
bm=$1 bmin=$2 bmax=$3
printf '%-40s %12s %12s %12s\n' "the lab ($N runs)" "median us" "min us" "max us"
printf '%-40s %12d %12d %12d\n' "tests/lab/run -- true" "$lm" "$lmin" "$lmax"
printf '%-40s %12d %12d %12d\n' "guest boot timer inside (husk-vmm)" "$bm" "$bmin" "$bmax"
printf '{"benchmark":"lab","runs":%d,"unit":"us","lab_roundtrip":{"median":%d,"min":%d,"max":%d},"guest_boot_timer":{"median":%d,"min":%d,"max":%d}}\n' \
	"$N" "$lm" "$lmin" "$lmax" "$bm" "$bmin" "$bmax" >bench/results/lab.json
