#!/bin/sh
# husk-vmm on the host's own KVM (no Linux guest: a synthetic PVH guest that
# writes the boot timer and resets): the time from exec to the first
# KVM_RUN, and to the guest's first instruction's I/O. Medians of N runs with
# min and max. What dominates is reported by `strace -T` in the note.
set -eu
cd "$(dirname "$0")/.."
N=${N:-30}
mkdir -p bench/results
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -w /dev/kvm ]; then
	echo "vmm-native: skipped, no writable /dev/kvm"
	exit 0
fi
build/tests/tools/mkguest ok "$tmp/ok.elf"
i=0
while [ $i -lt "$N" ]; do
	build/tests/tools/t0exec build/husk-vmm --kernel "$tmp/ok.elf" --debug --console none 2>&1 |
		sed -n 's/.*first-kvm-run-us=\([0-9]*\).*/first \1/p; s/.*boot-time-us=\([0-9]*\).*/boot \1/p' >>"$tmp/t"
	i=$((i + 1))
done
stat() {
	grep "^$1 " "$tmp/t" | awk '{print $2}' | sort -n |
		awk '{a[NR]=$1} END {printf "%d %d %d", a[int((NR+1)/2)], a[1], a[NR]}'
}
set -- $(stat first)
f_med=$1 f_min=$2 f_max=$3
set -- $(stat boot)
b_med=$1 b_min=$2 b_max=$3
if [ -d /sys/module/kvm_pvm ]; then kvm=pvm; else kvm=hardware; fi
printf '%-34s %10s %10s %10s\n' "husk-vmm, native ($N runs)" "median us" "min us" "max us"
printf '%-34s %10d %10d %10d\n' "exec -> first KVM_RUN" "$f_med" "$f_min" "$f_max"
printf '%-34s %10d %10d %10d\n' "exec -> guest boot timer write" "$b_med" "$b_min" "$b_max"
cat >bench/results/vmm-native.json <<JSON
{"benchmark":"vmm-native","runs":$N,"unit":"us","kvm":"$kvm",
 "first_kvm_run":{"median":$f_med,"min":$f_min,"max":$f_max},
 "boot_timer":{"median":$b_med,"min":$b_min,"max":$b_max}}
JSON
echo "raw results: bench/results/vmm-native.json"
