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
	tests/lab/run --timeout 120 --cpu max,erms=off -- true
	echo $((($(date +%s%N) - s) / 1000)) >>"$tmp/lab"
	tests/lab/run --timeout 120 --cpu max,erms=off -- build/husk-vmm --kernel build/guest/vmlinux \
		--initrd build/guest/initramfs.cpio --console none --cmdline husk.selftest=basic 2>&1 |
		sed -n 's/.*boot-time-us=\([0-9]*\).*/\1/p' >>"$tmp/boot"
	i=$((i + 1))
done
. bench/json.sh
bj_stats "$tmp/lab" >"$tmp/st" && read -r lm lmin lmax <"$tmp/st"
bj_stats "$tmp/boot" >"$tmp/st" && read -r bm bmin bmax <"$tmp/st"
printf '%-40s %12s %12s %12s\n' "the lab ($N runs)" "median us" "min us" "max us"
printf '%-40s %12d %12d %12d\n' "tests/lab/run -- true" "$lm" "$lmin" "$lmax"
printf '%-40s %12d %12d %12d\n' "guest boot timer inside (husk-vmm)" "$bm" "$bmin" "$bmax"
bj_begin lab "The lab itself (nested KVM under QEMU TCG)" "$N"
bj_table "round trip and guest boot, us" "what|median|min|max"
bj_row "tests/lab/run -- true|$lm|$lmin|$lmax"
bj_row "guest boot timer inside the lab (husk-vmm)|$bm|$bmin|$bmax"
bj_note "Measured from this host: the lab is a QEMU TCG guest with its own KVM, so every lab figure in this report is an emulation figure; only ratios carry over."
bj_end
