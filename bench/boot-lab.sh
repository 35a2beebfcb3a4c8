#!/bin/sh
# Boot of the guest kernel + husk-agent initramfs under husk-vmm and under
# QEMU -M microvm (the same kernel, initramfs, 1 vCPU, 256 MiB), side by
# side in one run: time from exec to the agent's ready line (median, min,
# max of N), and each monitor's own memory once the guest is up (RSS minus
# the guest's memory, which both map from a memfd). Runs in the nested lab
# when this host's KVM cannot boot the guest; then times are emulation
# times and only the ratio carries over.
set -eu
cd "$(dirname "$0")/.."
N=${N:-10}
mkdir -p bench/results
if [ -z "${HUSK_IN_LAB:-}" ]; then
	exec tests/lab/run --timeout 1500 --env N --env HUSK_IN_LAB -- env HUSK_IN_LAB=1 N="$N" "$0"
fi
K=build/guest/vmlinux
I=build/guest/initramfs.cpio
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ready_us CMD...: microseconds from exec to "husk-agent: ready" on stdout.
ready_us() {
	start=$(date +%s%N)
	"$@" 2>/dev/null | while IFS= read -r line; do
		case "$line" in
		*"husk-agent: ready"*) echo $((($(date +%s%N) - start) / 1000)) ;;
		esac
	done
}

# exec: callers run these in the background or in a pipeline, and $! must be
# the monitor itself.
husk() {
	exec build/husk-vmm --kernel "$K" --initrd "$I" --cpus 1 --memory 256 --cmdline "$*"
}
qemu() {
	exec qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem -accel kvm -cpu host -smp 1 -m 256M \
		-object memory-backend-memfd,id=mem,size=256M -nodefaults -no-user-config \
		-display none -serial stdio -no-reboot -kernel "$K" -initrd "$I" \
		-append "console=ttyS0 reboot=t panic=-1 quiet $*"
}

i=0
while [ $i -lt "$N" ]; do
	ready_us husk >>"$tmp/husk"
	ready_us qemu >>"$tmp/qemu"
	i=$((i + 1))
done

# overhead_kib NAME CMD...: starts the VM idling, samples the monitor.
overhead_kib() {
	name=$1
	shift
	"$@" husk.selftest=idle husk.sleep=4 >"$tmp/$name.out" 2>&1 &
	pid=$!
	deadline=$(($(date +%s) + 120))
	until grep -q "husk-agent: ready" "$tmp/$name.out"; do
		[ "$(date +%s)" -lt $deadline ] || break
		sleep 0.1
	done
	sleep 1 # settle: the agent is idle now
	awk '/^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} /^RssShmem:/ {s=$2}
	     END {printf "%d %d\n", a + f, s}' "/proc/$pid/status"
	wait $pid || true
}
set -- $(overhead_kib husk husk)
h_own=$1 h_guest=$2
set -- $(overhead_kib qemu qemu)
q_own=$1 q_guest=$2

stat() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%d %d %d", a[int((NR+1)/2)], a[1], a[NR]}'; }
set -- $(stat "$tmp/husk")
hm=$1 hmin=$2 hmax=$3
set -- $(stat "$tmp/qemu")
qm=$1 qmin=$2 qmax=$3
ratio=$(awk -v a="$hm" -v b="$qm" 'BEGIN {printf "%.2f", a / b}')
# Re-executed through tests/lab/run: the lab unless that ran us directly.
mode=native
[ -d /sys/module/kvm_amd ] && grep -q 'husk.lab=' /proc/cmdline 2>/dev/null && mode=lab
printf 'boot to init (%s mode, %d runs each)\n' "$mode" "$N"
printf '%-22s %12s %12s %12s\n' monitor "median us" "min us" "max us"
printf '%-22s %12d %12d %12d\n' husk-vmm "$hm" "$hmin" "$hmax"
printf '%-22s %12d %12d %12d\n' "qemu -M microvm" "$qm" "$qmin" "$qmax"
printf 'husk-vmm / qemu: %s\n\n' "$ratio"
printf '%-22s %18s %18s\n' monitor "own memory KiB" "guest touched KiB"
printf '%-22s %18d %18d\n' husk-vmm "$h_own" "$h_guest"
printf '%-22s %18d %18d\n' "qemu -M microvm" "$q_own" "$q_guest"
cat >bench/results/boot-lab.json <<JSON
{"benchmark":"boot-lab","mode":"$mode","runs":$N,"unit":"us",
 "husk_vmm":{"median":$hm,"min":$hmin,"max":$hmax,"own_kib":$h_own,"guest_kib":$h_guest},
 "qemu_microvm":{"median":$qm,"min":$qmin,"max":$qmax,"own_kib":$q_own,"guest_kib":$q_guest},
 "ratio":$ratio}
JSON
