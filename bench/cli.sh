#!/bin/sh
# Host-side CLI cost: the cold start of `husk` against runc and crun for the
# verbs that need no container (version, spec, features), then `state` and
# `list` with 100 containers' state under --root. Medians with min/max of
# repeated runs, side by side in one run.
#
# The 100 husk containers are state directories as husk create writes them
# whose monitor is gone (no guest boots natively here): state and list read
# and check each one, without a guest to ask. runc's are 100 real containers
# in "created" (a process waiting to exec), which runc also checks by pid.
set -eu
cd "$(dirname "$0")/.."
N=${N:-200}
C=${C:-100}
. bench/json.sh
tmp=$(mktemp -d)
cleanup() {
	set +e
	for id in $(runc --root "$tmp/runc-root" list -q 2>/dev/null); do
		runc --root "$tmp/runc-root" delete --force "$id" >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# time_cmd NAME CMD...: N runs, prints "name|median|min|max" in microseconds.
time_cmd() {
	name=$1
	shift
	i=0
	: >"$tmp/t"
	while [ $i -lt "$N" ]; do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s%N)
		echo $(((e - s) / 1000)) >>"$tmp/t"
		i=$((i + 1))
	done
	bj_stats "$tmp/t" | awk -v n="$name" '{printf "%s|%d|%d|%d\n", n, $1, $2, $3}'
}

spec_in() { rm -f "$tmp/config.json"; "$@" --bundle "$tmp" 2>/dev/null || (cd "$tmp" && "$@"); }

{
	time_cmd "husk --version" build/husk --version
	time_cmd "runc --version" runc --version
	time_cmd "crun --version" crun --version
	time_cmd "husk spec" spec_in build/husk spec
	time_cmd "runc spec" spec_in runc spec
	time_cmd "crun spec" spec_in crun spec
	time_cmd "husk features" build/husk features
	time_cmd "runc features" runc features
	time_cmd "crun features" crun features
} >"$tmp/rows"

# C husk state directories: state.json and husk.json as rt_create leaves
# them, the monitor's start time not matching any process.
hroot=$tmp/husk-root
i=0
while [ $i -lt "$C" ]; do
	d=$hroot/c$i
	mkdir -p "$d"
	printf '{"ociVersion":"1.2.0","id":"c%d","status":"created","pid":999999,"bundle":"%s"}\n' \
		"$i" "$tmp/bundle" >"$d/state.json"
	printf '{"created":"2024-01-01T00:00:00.000000000Z","start_time":1,"cgroup":"","cgroup_memory":"","cgroup_pids":"","cgroup_v2":true}\n' \
		>"$d/husk.json"
	i=$((i + 1))
done
. bench/bundle.sh
busybox_bundle "$tmp/bundle"
jq '.process.args = ["true"]' "$tmp/bundle/config.json" >"$tmp/c" && mv "$tmp/c" "$tmp/bundle/config.json"
i=0
runc_ok=true
while [ $i -lt "$C" ]; do
	runc --root "$tmp/runc-root" create --bundle "$tmp/bundle" "c$i" >/dev/null 2>&1 </dev/null ||
		{ runc_ok=false; break; }
	i=$((i + 1))
done
n_husk=$(build/husk --root "$hroot" list -q | wc -l)
{
	time_cmd "husk state (of $C)" build/husk --root "$hroot" state c50
	$runc_ok && time_cmd "runc state (of $C)" runc --root "$tmp/runc-root" state c50
	time_cmd "husk list ($C)" build/husk --root "$hroot" list
	$runc_ok && time_cmd "runc list ($C)" runc --root "$tmp/runc-root" list
} >"$tmp/rows-state"

printf '%-22s %10s %10s %10s\n' "command" "median us" "min us" "max us"
cat "$tmp/rows" "$tmp/rows-state" | awk -F'|' '{printf "%-22s %10d %10d %10d\n", $1, $2, $3, $4}'

# ratio_to NAME PEER: NAME's median over PEER's, from the rows.
med() { awk -F'|' -v n="$1" '$1 == n {print $2}' "$tmp/rows" "$tmp/rows-state"; }

bj_begin cli "CLI cold start, state and list (host side)" "$N"
bj_table "verbs without a container, us" "command|median|min|max|vs runc|vs crun"
for v in --version spec features; do
	for rt in husk runc crun; do
		row=$(grep "^$rt $v|" "$tmp/rows")
		bj_row "$row|$(bj_ratio "$(med "$rt $v")" "$(med "runc $v")")|$(bj_ratio "$(med "$rt $v")" "$(med "crun $v")")"
	done
done
bj_table "with $C containers' state under --root, us" "command|median|min|max|vs runc"
while IFS= read -r row; do
	name=${row%%|*}
	peer="runc ${name#* }"
	bj_row "$row|$(bj_ratio "$(med "$name")" "$(med "$peer")")"
done <"$tmp/rows-state"
bj_series "median cold start, us" bars "verb" "microseconds" "husk|runc|crun"
for v in --version spec features; do
	bj_point "$v|$(med "husk $v")|$(med "runc $v")|$(med "crun $v")"
done
bj_headline "CLI cold start, husk --version (median us)" husk "$(med "husk --version")" runc "$(med "runc --version")" us
bj_headline "CLI cold start, husk features (median us)" husk "$(med "husk features")" runc "$(med "runc features")" us
if $runc_ok; then
	bj_headline "husk list with $C containers (median us)" husk "$(med "husk list ($C)")" runc "$(med "runc list ($C)")" us
	bj_headline "husk state with $C containers (median us)" husk "$(med "husk state (of $C)")" runc "$(med "runc state (of $C)")" us
else
	bj_note "runc could not create $C containers here; its state and list rows are missing."
fi
bj_note "husk's $C containers are state directories whose monitor is gone ($n_husk listed), so state and list read and check each without asking a guest; runc's are $C real containers in \"created\"."
bj_end
