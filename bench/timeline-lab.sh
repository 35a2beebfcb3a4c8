#!/bin/sh
# husk's startup timeline: `husk --debug --log-format json run` of busybox
# `true` N times, and the median length of each phase between the marks
# husk and husk-vmm log ("timeline: MARK", lib/log.h), from the exec of husk
# to its return. Both log to one file with one clock (CLOCK_REALTIME), as
# does this script for the exec and the return. Runs in the nested lab when
# this host's KVM cannot boot the guest; then the guest's phases are
# emulation times and the host's are slowed by the lab's TCG too.
set -eu
cd "$(dirname "$0")/.."
N=${N:-10}
. bench/json.sh
bj_lab "$0" --timeout 1500
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/bundle.sh
b=$tmp/bundle
busybox_bundle "$b"
jq '.process.args = ["true"]' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"

# The phases: each ends at its mark, the first begins at the exec of husk.
# "mark|phase|what it spends its time on" in order; "end" is husk's
# return, noted here. The last field is the report's reason when the phase
# is the slowest.
cat >"$tmp/phases" <<'EOF'
cli-parsed|CLI start and parse|exec and the dynamic loader under emulation, where each new page and each new block of code costs (a /bin/true takes some 160 ms in the lab); natively husk --version takes under 2 ms (the cli benchmark)
monitor-exec|create: state dir, cgroup, fork|the state directory, the sVirt label pair, the sandbox's cgroups and the fork
monitor-main|exec of husk-vmm to its main|exec and the dynamic loader again, for husk-vmm (libseccomp, libcap, yajl, libmnl)
vm-created|monitor set-up to VM created|KVM_CREATE_VM, the guest memory memfd and the event loop
kernel-entry|VM created to first KVM_RUN|loading the guest kernel, the 15 MB of an uncompressed vmlinux's segments read straight into guest memory, then waiting for virtiofsd, which starts meanwhile; in the lab the load alone took 0.3 s in a fresh L1 and 0.6 s once earlier guests had run, a copy that takes milliseconds on hardware
agent-ready|guest kernel boot to agent ready|the guest kernel's own boot (its initcalls, the virtio devices probed, the initramfs unpacked) and the agent's start, every instruction emulated in the lab; the same kernel under QEMU -M microvm takes longer still (boot-lab)
container-created|container created in the guest|the agent mounting the rootfs share and setting the container's process up
container-started|start: container process started|the start request and the process's exec in the guest
exit-seen|process runs until its exit is seen|the process itself and its exit status on its way out
monitor-exited|VM shutdown and monitor exit|the guest's shutdown, virtiofsd's stop and the monitor's exit
end|delete and return|delete: the cgroups, the label pair and the state directory removed
EOF

i=0
while [ $i -lt "$N" ]; do
	log=$tmp/log$i
	s=$(date +%s%N)
	build/husk --root "$tmp/root" --debug --log "$log" --log-format json \
		run --bundle "$b" "t$i" >/dev/null 2>&1 </dev/null ||
		{ echo "bench: husk run failed:" >&2; cat "$log" >&2; exit 1; }
	e=$(date +%s%N)
	# One line per run: the microseconds of each phase, in order.
	jq -rs --argjson s "$((s / 1000))" --argjson e "$((e / 1000))" --rawfile ph "$tmp/phases" '
		def us: (.[0:19] + "Z" | fromdateiso8601) * 1000000 + (.[20:26] | tonumber);
		(map(select(.msg | startswith("timeline: ")) | {key: .msg[10:], value: (.time | us)})
		 | from_entries + {end: $e}) as $t
		| [$ph | split("\n")[] | select(length > 0) | split("|")[0]]
		| reduce .[] as $m ({prev: $s, out: []};
			if $t[$m] == null then error("no mark \($m) in the log") else . end
			| .out += [$t[$m] - .prev] | .prev = $t[$m])
		| .out | map(tostring) | join(" ")' "$log" >>"$tmp/runs"
	i=$((i + 1))
done

bj_begin timeline-lab "Startup timeline of husk run (busybox true)" "$N"
bj_table "phases of husk run, us, median (min, max) of $N runs" "phase|ends at mark|median|min|max|share of total"
bj_series "median length of each phase of husk run, us" bars "phase" "microseconds" "median"
awk '{s = 0; for (i = 1; i <= NF; i++) s += $i; print s}' "$tmp/runs" >"$tmp/total"
bj_stats "$tmp/total" >"$tmp/st" && read -r tm tmin tmax <"$tmp/st"
k=1
slow=0 slowname= slowwhy=
while IFS='|' read -r mark phase why; do
	awk -v k=$k '{print $k}' "$tmp/runs" >"$tmp/col"
	bj_stats "$tmp/col" >"$tmp/st" && read -r m mn mx <"$tmp/st"
	bj_row "$phase|$mark|$m|$mn|$mx|$(awk -v a="$m" -v t="$tm" 'BEGIN {printf "%.0f%%", 100 * a / t}')"
	bj_point "$phase|$m"
	printf '%-44s %10d us  (%d-%d)\n' "$phase" "$m" "$mn" "$mx"
	if [ "$m" -gt "$slow" ]; then slow=$m slowname=$phase slowwhy=$why; fi
	k=$((k + 1))
done <"$tmp/phases"
bj_row "total: exec of husk to its return||$tm|$tmin|$tmax|100%"
printf '%-44s %10d us  (%d-%d)\nslowest phase: %s\n' total "$tm" "$tmin" "$tmax" "$slowname"
bj_headline "slowest phase of husk run: $slowname (median us)" husk "$slow" "" "" us
bj_why "The slowest phase of husk run, \"$slowname\", takes $((slow / 1000)) ms of $((tm / 1000)) ms ($(awk -v a="$slow" -v t="$tm" 'BEGIN {printf "%.0f%%", 100 * a / t}')): $slowwhy."
bj_note "The slowest phase is \"$slowname\": $slow us of a median total of $tm us."
bj_note "Marks are debug log lines (\"timeline: MARK\") of husk and husk-vmm, which log to one file with CLOCK_REALTIME; this script notes the exec of husk and its return on the same clock. A phase's median is over its own N values, so the medians need not add up to the median total."
[ "$(bj_mode)" = native ] || bj_note "Lab mode: husk runs inside the nested lab (QEMU TCG), so every phase is slowed by emulation, the guest's most."
bj_end
