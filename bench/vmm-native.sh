#!/bin/sh
# husk-vmm on the host's own KVM (no Linux guest: a synthetic PVH guest that
# writes the boot timer and resets): the time from exec to the first
# KVM_RUN, and to the guest's first instruction's I/O. Medians of N runs with
# min and max. What dominates is reported by `strace -T` in the note.
set -eu
cd "$(dirname "$0")/.."
N=${N:-30}
. bench/json.sh
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
stat() { grep "^$1 " "$tmp/t" | awk '{print $2}' >"$tmp/$1"; bj_stats "$tmp/$1"; }
stat first >"$tmp/st" && read -r f_med f_min f_max <"$tmp/st"
stat boot >"$tmp/st" && read -r b_med b_min b_max <"$tmp/st"
if [ -d /sys/module/kvm_pvm ]; then kvm=pvm; else kvm=hardware; fi
printf '%-34s %10s %10s %10s\n' "husk-vmm, native ($N runs)" "median us" "min us" "max us"
printf '%-34s %10d %10d %10d\n' "exec -> first KVM_RUN" "$f_med" "$f_min" "$f_max"
printf '%-34s %10d %10d %10d\n' "exec -> guest boot timer write" "$b_med" "$b_min" "$b_max"
bj_begin vmm-native "husk-vmm on this host's KVM: exec to first KVM_RUN" "$N"
bj_table "husk-vmm with a synthetic guest, us (KVM: $kvm)" "from exec to|median|min|max"
bj_row "first KVM_RUN of vCPU 0|$f_med|$f_min|$f_max"
bj_row "the guest's boot timer write|$b_med|$b_min|$b_max"
bj_headline "husk-vmm exec to first KVM_RUN (median us)" husk-vmm "$f_med" "" "" us
bj_note "The guest is a synthetic PVH image (tests/tools/mkguest) that writes the boot timer and resets: this host's KVM ($kvm) creates VMs and runs vCPUs but cannot boot Linux. Exec is noted by tests/tools/t0exec just before it execs husk-vmm."
bj_end
