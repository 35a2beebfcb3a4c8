#!/bin/sh
# vCPU placement policies side by side, natively (no guest needed): 4
# "sandboxes" of 2 vCPU-like threads each (vCPU 0 busy 40% of the time, vCPU
# 1 5%, in bursts: 1.8 CPUs wanted in all), under static one-to-one pinning, adaptive affinity,
# work stealing, and the kernel alone (unpinned, for reference). Each policy
# runs R times for S seconds; the table gives the median (min-max) of the
# work done and of the threads' run delay per 100 ms (median and p99).
# Writes bench/results/sched.json (bench/report draws it); the raw runs are
# in bench/results/sched-runs.jsonl.
set -eu
cd "$(dirname "$0")/.."
R=${R:-3}
S=${S:-10}
make -s build/bench/sched-load
. bench/json.sh
out=bench/results/sched-summary.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for _ in $(seq "$R"); do
	for p in static adaptive steal unpinned; do
		build/bench/sched-load "$p" --seconds "$S" --table "$tmp/table" >>"$tmp/runs.jsonl"
	done
done
jq -s --arg cpus "$(nproc)" --arg host "$(uname -r)" '
	def med: sort | .[length / 2 | floor];
	{machine: {cpus: ($cpus | tonumber), kernel: $host, mode: "native"},
	 runs: .,
	 summary: (group_by(.policy) | map({
		policy: .[0].policy,
		work_m: (map(.work_m) | {median: med, min: min, max: max}),
		delay_ms_p50: (map(.delay_ms_p50) | {median: med, min: min, max: max}),
		delay_ms_p99: (map(.delay_ms_p99) | {median: med, min: min, max: max}),
		moves: (map(.moves) | med)}))}' "$tmp/runs.jsonl" >"$out"

echo "vCPU placement: 4 sandboxes x 2 vCPUs on $(nproc) CPUs, $R runs of $S s each (median (min-max))"
jq -r '(.summary[] | select(.policy == "static") | .work_m.median) as $base |
	["policy", "work (M iter)", "vs static", "run delay p50 (ms/100ms)", "p99", "moves"],
	(.summary | sort_by(-.work_m.median)[] |
	 [.policy,
	  "\(.work_m.median) (\(.work_m.min)-\(.work_m.max))",
	  "\(.work_m.median / $base * 100 | round / 100)x",
	  "\(.delay_ms_p50.median) (\(.delay_ms_p50.min)-\(.delay_ms_p50.max))",
	  "\(.delay_ms_p99.median) (\(.delay_ms_p99.min)-\(.delay_ms_p99.max))",
	  .moves]) | @tsv' "$out" | column -t -s "$(printf '\t')"

cp "$tmp/runs.jsonl" bench/results/sched-runs.jsonl

bj_begin sched "vCPU placement policies (host side)" "$R"
bj_table "4 sandboxes x 2 vCPU threads on $(nproc) CPUs, $S s per run, median (min-max) of $R runs" \
	"policy|work (M iter)|vs static|run delay p50 (ms/100ms)|run delay p99 (ms/100ms)|moves"
jq -r '(.summary[] | select(.policy == "static") | .work_m.median) as $base |
	.summary | sort_by(-.work_m.median)[] |
	[.policy,
	 "\(.work_m.median) (\(.work_m.min)-\(.work_m.max))",
	 (.work_m.median / $base * 100 | round / 100),
	 "\(.delay_ms_p50.median) (\(.delay_ms_p50.min)-\(.delay_ms_p50.max))",
	 "\(.delay_ms_p99.median) (\(.delay_ms_p99.min)-\(.delay_ms_p99.max))",
	 .moves] | map(tostring) | join("|")' "$out" >"$tmp/rows"
while IFS= read -r row; do bj_row "$row"; done <"$tmp/rows"
bj_series "work done, M iterations (more is better)" bars "policy" "M iterations" "median"
jq -r '.summary[] | "\(.policy)|\(.work_m.median)"' "$out" >"$tmp/pts"
while IFS= read -r p; do bj_point "$p"; done <"$tmp/pts"
bj_series "run delay p99, ms per 100 ms (less is better)" bars "policy" "ms per 100 ms" "median"
jq -r '.summary[] | "\(.policy)|\(.delay_ms_p99.median)"' "$out" >"$tmp/pts"
while IFS= read -r p; do bj_point "$p"; done <"$tmp/pts"
w() { jq -r --arg p "$1" '.summary[] | select(.policy == $p) | .work_m.median' "$out"; }
bj_headline "vCPU work done, work stealing vs static pinning (M iter)" steal "$(w steal)" static "$(w static)" "M iter"
bj_headline "vCPU work done, adaptive vs static pinning (M iter)" adaptive "$(w adaptive)" static "$(w static)" "M iter"
bj_note "Each sandbox's vCPU 0 is busy 40% of the time and vCPU 1 5%, in bursts: 1.8 CPUs wanted in all. unpinned is the kernel's scheduler alone, for reference."
bj_end
rm -f "$out"
