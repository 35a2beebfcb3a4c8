# shellcheck shell=sh disable=SC2016 # the jq programs are single-quoted on purpose
# Sourced by the benchmarks (not run: not executable, so scripts/bench skips
# it). Each benchmark writes one bench/results/<name>.json in the schema that
# bench/report renders:
#
#   {"bench": NAME, "title": ..., "mode": "lab"|"native", "machine": ...,
#    "runs": N, "tables": [{"title", "columns": [...], "rows": [[...]]}],
#    "series": [{"title", "kind": "line"|"bars", "x", "y", "names": [...],
#                "points": [[x, y1, y2, ...]]}],
#    "notes": [...],
#    "summary": [{"what", "subject", "value", "peer", "peer_value", "unit",
#                 "ratio"}]}
#
# "summary" is optional: the headline figures for the report's first table.
# Cells that look like numbers become JSON numbers. Usage:
#
#   . bench/json.sh
#   bj_begin boot-lab "Boot to the agent" "$N"
#   bj_table "boot (us)" "monitor|median|min|max"
#   bj_row "husk-vmm|$hm|$hmin|$hmax"
#   bj_series "boot time" bars "monitor" "us" "median"
#   bj_point "husk-vmm|$hm"
#   bj_headline "boot to agent ready, median us" husk-vmm "$hm" qemu "$qm" us
#   bj_note "times are emulation times"
#   bj_end
#
# Cells are separated by `|`, so no cell may hold one.

# The benchmark's machine: CPU model, CPUs, memory, kernel. Inside the lab
# the host's own line comes along in HUSK_BENCH_HOST (benchmarks pass it
# with tests/lab/run --env).
bj_machine() {
	_m="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) CPUs,"
	_m="$_m $(awk '/^MemTotal:/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"
	if [ -n "${HUSK_BENCH_HOST:-}" ] && [ "$(bj_mode)" = lab ]; then
		_m="lab guest: $_m; host: $HUSK_BENCH_HOST"
	fi
	printf '%s\n' "$_m"
}

# lab when tests/lab/run put us in its L1 guest (its kernel command line
# names the lab), native otherwise.
bj_mode() {
	if grep -q 'husk.lab=' /proc/cmdline 2>/dev/null; then echo lab; else echo native; fi
}

# bj_lab SCRIPT [tests/lab/run options]: runs SCRIPT again in the lab (or
# directly where the host boots guests), with N, T and the host's machine
# line, unless it is there already.
bj_lab() {
	[ -z "${HUSK_IN_LAB:-}" ] || return 0
	_s=$1
	shift
	HUSK_BENCH_HOST=$(bj_machine) HUSK_IN_LAB=1 exec tests/lab/run "$@" --env N --env T \
		--env HUSK_IN_LAB --env HUSK_BENCH_HOST -- "$_s"
}

# bj_stats FILE: "median min max" of the numbers in FILE, one a line.
bj_stats() {
	sort -n "$1" | awk '{a[NR]=$1} END {if (NR == 0) {print "0 0 0"; exit}
		printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'
}

# bj_ratio A B: A / B with two decimals (B of 0 gives 0).
bj_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print 0; else printf "%.2f\n", a / b}'
}

# _bj_cells "a|b|c": a JSON array, numbers as numbers.
_bj_cells() {
	printf '%s' "$1" | jq -R 'split("|") | map(. as $c | (tonumber? // $c))'
}

# _bj_edit JQ-PROGRAM [jq args]: edits the document being built.
_bj_edit() {
	_p=$1
	shift
	jq "$@" "$_p" "$BJ_DOC" >"$BJ_DOC.new" && mv "$BJ_DOC.new" "$BJ_DOC"
}

# bj_begin NAME TITLE RUNS: starts bench/results/NAME.json.
bj_begin() {
	mkdir -p bench/results
	BJ_OUT=bench/results/$1.json
	BJ_DOC=bench/results/$1.json.tmp
	jq -n --arg b "$1" --arg t "$2" --arg m "$(bj_mode)" --arg mc "$(bj_machine)" \
		--argjson n "$3" \
		'{bench: $b, title: $t, mode: $m, machine: $mc, runs: $n,
		  tables: [], series: [], notes: []}' >"$BJ_DOC"
}

# bj_table TITLE "col|col|...": a new table; bj_row adds to it.
bj_table() {
	_bj_edit '.tables += [{title: $t, columns: $c, rows: []}]' \
		--arg t "$1" --argjson c "$(_bj_cells "$2")"
}
bj_row() {
	_bj_edit '.tables[-1].rows += [$r]' --argjson r "$(_bj_cells "$1")"
}

# bj_series TITLE line|bars XLABEL YLABEL "name|name|...": a new plot;
# bj_point "x|y1|y2|..." adds to it (one y per name).
bj_series() {
	_bj_edit '.series += [{title: $t, kind: $k, x: $x, y: $y, names: $n, points: []}]' \
		--arg t "$1" --arg k "$2" --arg x "$3" --arg y "$4" --argjson n "$(_bj_cells "$5")"
}
bj_point() {
	_bj_edit '.series[-1].points += [$p]' --argjson p "$(_bj_cells "$1")"
}

# bj_note TEXT
bj_note() {
	_bj_edit '.notes += [$t]' --arg t "$1"
}

# bj_headline WHAT SUBJECT VALUE PEER PEER_VALUE UNIT: a line of the
# report's summary, the ratio computed here.
# A figure with no peer has PEER and PEER_VALUE empty: null in the JSON.
bj_headline() {
	_bj_edit 'def num: if . == "" then null else tonumber end;
		.summary += [{what: $w, subject: $s, value: ($v | num), peer: (if $p == "" then null else $p end),
		peer_value: ($pv | num), unit: $u, ratio: (if $pv == "" then null else $r | num end)}]' \
		--arg w "$1" --arg s "$2" --arg v "$3" --arg p "$4" --arg pv "$5" --arg u "$6" \
		--arg r "$(bj_ratio "$3" "${5:-0}")"
}

# bj_end: the document in place, whole (a reader never sees half of one).
bj_end() {
	mv "$BJ_DOC" "$BJ_OUT"
	echo "raw results: $BJ_OUT"
}
