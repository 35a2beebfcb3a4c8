#!/bin/sh
# vCPU placement policies side by side, natively (no guest needed): 4
# "sandboxes" of 2 vCPU-like threads each (vCPU 0 busy 40% of the time, vCPU
# 1 5%, in bursts: 1.8 CPUs wanted in all), under static one-to-one pinning, adaptive affinity,
# work stealing, and the kernel alone (unpinned, for reference). Each policy
# runs R times for S seconds; the table gives the median (min-max) of the
# work done and of the threads' run delay per 100 ms (median and p99).
# Writes bench/results/sched.json and, with gnuplot, bench/results/sched.svg.
set -eu
cd "$(dirname "$0")/.."
R=${R:-3}
S=${S:-10}
make -s build/bench/sched-load
out=bench/results/sched.json
mkdir -p bench/results
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for r in $(seq "$R"); do
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

if command -v gnuplot >/dev/null; then
	jq -r '.summary[] | [.policy, .work_m.median, .delay_ms_p99.median] | @tsv' "$out" >"$tmp/plot.tsv"
	gnuplot <<-PLOT
		set terminal svg size 720,360 font "sans,11"
		set output "bench/results/sched.svg"
		set multiplot layout 1,2 title "vCPU placement: 4 sandboxes x 2 vCPUs on $(nproc) CPUs"
		set style fill solid 0.6
		set boxwidth 0.6
		set yrange [0:*]
		unset key
		set title "work done (M iterations, more is better)"
		plot "$tmp/plot.tsv" using 0:2:xtic(1) with boxes lc rgb "#4477aa"
		set title "run delay p99 (ms per 100 ms, less is better)"
		plot "$tmp/plot.tsv" using 0:3:xtic(1) with boxes lc rgb "#cc6677"
		unset multiplot
	PLOT
	echo "plot: bench/results/sched.svg"
fi
