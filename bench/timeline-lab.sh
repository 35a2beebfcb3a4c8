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
# "mark|phase" in order; "end" is husk's return, noted here.
cat >"$tmp/phases" <<'EOF'
cli-parsed|CLI start and parse
monitor-exec|create: state dir, cgroup, fork
monitor-main|exec of husk-vmm to its main
vm-created|monitor set-up to VM created
kernel-entry|VM created to first KVM_RUN
agent-ready|guest kernel boot to agent ready
container-created|container created in the guest
container-started|start: container process started
exit-seen|process runs until its exit is seen
monitor-exited|VM shutdown and monitor exit
end|delete and return
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
slow=0 slowname=
while IFS='|' read -r mark phase; do
	awk -v k=$k '{print $k}' "$tmp/runs" >"$tmp/col"
	bj_stats "$tmp/col" >"$tmp/st" && read -r m mn mx <"$tmp/st"
	bj_row "$phase|$mark|$m|$mn|$mx|$(awk -v a="$m" -v t="$tm" 'BEGIN {printf "%.0f%%", 100 * a / t}')"
	bj_point "$phase|$m"
	printf '%-44s %10d us  (%d-%d)\n' "$phase" "$m" "$mn" "$mx"
	if [ "$m" -gt "$slow" ]; then slow=$m slowname=$phase; fi
	k=$((k + 1))
done <"$tmp/phases"
bj_row "total: exec of husk to its return||$tm|$tmin|$tmax|100%"
printf '%-44s %10d us  (%d-%d)\nslowest phase: %s\n' total "$tm" "$tmin" "$tmax" "$slowname"
bj_headline "slowest phase of husk run: $slowname (median us)" husk "$slow" "" "" us
bj_note "The slowest phase is \"$slowname\": $slow us of a median total of $tm us."
bj_note "Marks are debug log lines (\"timeline: MARK\") of husk and husk-vmm, which log to one file with CLOCK_REALTIME; this script notes the exec of husk and its return on the same clock. A phase's median is over its own N values, so the medians need not add up to the median total."
[ "$(bj_mode)" = native ] || bj_note "Lab mode: husk runs inside the nested lab (QEMU TCG), so every phase is slowed by emulation, the guest's most."
bj_end
