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
. bench/json.sh
bj_lab "$0" --timeout 1500
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
	# The agent serves its vsock port once ready; the self-test powers
	# the guest off instead, so the pipeline ends.
	ready_us husk husk.selftest=basic >>"$tmp/husk"
	ready_us qemu husk.selftest=basic >>"$tmp/qemu"
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
	kill $pid 2>/dev/null || true
	wait $pid || true
}
overhead_kib husk husk >"$tmp/st" && read -r h_own h_guest <"$tmp/st"
overhead_kib qemu qemu >"$tmp/st" && read -r q_own q_guest <"$tmp/st"

bj_stats "$tmp/husk" >"$tmp/st" && read -r hm hmin hmax <"$tmp/st"
bj_stats "$tmp/qemu" >"$tmp/st" && read -r qm qmin qmax <"$tmp/st"
ratio=$(bj_ratio "$hm" "$qm")
mode=$(bj_mode)
printf 'boot to init (%s mode, %d runs each)\n' "$mode" "$N"
printf '%-22s %12s %12s %12s\n' monitor "median us" "min us" "max us"
printf '%-22s %12d %12d %12d\n' husk-vmm "$hm" "$hmin" "$hmax"
printf '%-22s %12d %12d %12d\n' "qemu -M microvm" "$qm" "$qmin" "$qmax"
printf 'husk-vmm / qemu: %s\n\n' "$ratio"
printf '%-22s %18s %18s\n' monitor "own memory KiB" "guest touched KiB"
printf '%-22s %18d %18d\n' husk-vmm "$h_own" "$h_guest"
printf '%-22s %18d %18d\n' "qemu -M microvm" "$q_own" "$q_guest"

bj_begin boot-lab "Guest boot: husk-vmm against QEMU -M microvm" "$N"
bj_table "exec to the agent's ready line, us (same kernel and initramfs, 1 vCPU, 256 MiB)" \
	"monitor|median|min|max|vs qemu"
bj_row "husk-vmm|$hm|$hmin|$hmax|$ratio"
bj_row "qemu -M microvm|$qm|$qmin|$qmax|1.00"
bj_table "memory once the guest is up, KiB" "monitor|own memory|guest touched|own vs qemu"
bj_row "husk-vmm|$h_own|$h_guest|$(bj_ratio "$h_own" "$q_own")"
bj_row "qemu -M microvm|$q_own|$q_guest|1.00"
bj_series "exec to agent ready (median, min, max)" bars "monitor" "microseconds" "median|min|max"
bj_point "husk-vmm|$hm|$hmin|$hmax"
bj_point "qemu -M microvm|$qm|$qmin|$qmax"
bj_headline "guest boot, exec to agent ready (median us)" husk-vmm "$hm" "qemu -M microvm" "$qm" us
bj_headline "monitor's own memory, guest up (KiB)" husk-vmm "$h_own" "qemu -M microvm" "$q_own" KiB
[ "$mode" = native ] || bj_note "Lab mode: both monitors run in the nested lab (QEMU TCG), so the times are emulation times; the ratio is what carries over."
bj_note "Own memory is RSS minus the guest's memory, which both monitors map from a memfd."
bj_end
