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
#                 "ratio", "why"}]}
#
# "summary" is optional: the headline figures for the report's first table;
# "why" (optional) says what costs the subject the most where it is behind
# its peer, and the report lists it when this run's ratio shows it is.
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
# The lab's CPU is the container suites' (BJ_LAB_CPU): with ERMS, TCG runs
# the kernels' rep movsb/stosb a byte at a time, and loading the guest
# kernel into memory an earlier guest used took 2 s instead of 0.6 s, an
# emulation cost no hardware has (tests/lab/run says more).
BJ_LAB_CPU=max,erms=off
bj_lab() {
	[ -z "${HUSK_IN_LAB:-}" ] || return 0
	_s=$1
	shift
	HUSK_BENCH_HOST=$(bj_machine) HUSK_IN_LAB=1 exec tests/lab/run --cpu "$BJ_LAB_CPU" "$@" \
		--env N --env T --env HUSK_IN_LAB --env HUSK_BENCH_HOST -- "$_s"
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

# The calls below append one line each, fields apart by tabs, to
# BJ_OPS; bj_end builds the document from them with a single jq, since a
# process per call is slow in the lab's emulated guest.
_bj_op() {
	_l=$1
	shift
	for _f in "$@"; do _l="$_l	$(printf %s "$_f" | tr '\t\n' '  ')"; done
	printf '%s\n' "$_l" >>"$BJ_OPS"
}

# bj_begin NAME TITLE RUNS: starts bench/results/NAME.json.
bj_begin() {
	mkdir -p bench/results
	BJ_OUT=bench/results/$1.json
	BJ_OPS=bench/results/$1.json.tmp
	: >"$BJ_OPS"
	_bj_op begin "$1" "$2" "$(bj_mode)" "$(bj_machine)" "$3"
}

# bj_table TITLE "col|col|...": a new table; bj_row adds to it.
bj_table() { _bj_op table "$1" "$2"; }
bj_row() { _bj_op row "$1"; }

# bj_series TITLE line|bars XLABEL YLABEL "name|name|...": a new plot;
# bj_point "x|y1|y2|..." adds to it (one y per name).
bj_series() { _bj_op series "$1" "$2" "$3" "$4" "$5"; }
bj_point() { _bj_op point "$1"; }

# bj_note TEXT
bj_note() { _bj_op note "$1"; }

# bj_headline WHAT SUBJECT VALUE PEER PEER_VALUE UNIT: a line of the
# report's summary, the ratio computed here.
# A figure with no peer has PEER and PEER_VALUE empty: null in the JSON.
bj_headline() { _bj_op headline "$1" "$2" "$3" "$4" "$5" "$6" "$(bj_ratio "$3" "${5:-0}")"; }

# bj_why TEXT: what costs the subject of the last headline the most, for
# when it is behind its peer (the report shows it only then).
bj_why() { _bj_op why "$1"; }

# bj_end: the document in place, whole (a reader never sees half of one).
bj_end() {
	jq -Rn '
		def cells: split("|") | map(. as $c | (tonumber? // $c));
		def num: if . == "" then null else tonumber end;
		reduce (inputs | split("\t")) as $l ({};
			if $l[0] == "begin" then
				{bench: $l[1], title: $l[2], mode: $l[3], machine: $l[4],
				 runs: ($l[5] | tonumber), tables: [], series: [], notes: []}
			elif $l[0] == "table" then
				.tables += [{title: $l[1], columns: ($l[2] | cells), rows: []}]
			elif $l[0] == "row" then .tables[-1].rows += [$l[1] | cells]
			elif $l[0] == "series" then
				.series += [{title: $l[1], kind: $l[2], x: $l[3], y: $l[4],
					names: ($l[5] | cells), points: []}]
			elif $l[0] == "point" then .series[-1].points += [$l[1] | cells]
			elif $l[0] == "note" then .notes += [$l[1]]
			elif $l[0] == "headline" then
				.summary += [{what: $l[1], subject: $l[2], value: ($l[3] | num),
					peer: (if $l[4] == "" then null else $l[4] end),
					peer_value: ($l[5] | num), unit: $l[6],
					ratio: (if $l[5] == "" then null else $l[7] | num end)}]
			elif $l[0] == "why" then .summary[-1].why = $l[1]
			else error("bench/json.sh: unknown line \($l[0])") end)' \
		"$BJ_OPS" >"$BJ_OUT.new"
	rm -f "$BJ_OPS"
	mv "$BJ_OUT.new" "$BJ_OUT"
	echo "raw results: $BJ_OUT"
}
