#!/bin/sh
# Host-side CLI cost: the cold start of `husk` against runc and crun for the
# verbs that need no container (version, spec, features). Medians with
# min/max of repeated runs, side by side in one run.
set -eu
cd "$(dirname "$0")/.."
N=${N:-200}
mkdir -p bench/results
out=bench/results/cli.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# time_cmd NAME CMD...: N runs, prints "name median min max" in microseconds.
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
	sort -n "$tmp/t" | awk -v n="$name" '{a[NR]=$1} END {printf "%s %d %d %d\n", n, a[int((NR+1)/2)], a[1], a[NR]}'
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

printf '%-16s %10s %10s %10s\n' "command" "median us" "min us" "max us"
awk '{n=$1" "$2; printf "%-16s %10d %10d %10d\n", n, $3, $4, $5}' "$tmp/rows"
awk 'BEGIN {printf "{\"benchmark\":\"cli\",\"runs\":'"$N"',\"unit\":\"us\",\"rows\":["}
     {printf "%s{\"command\":\"%s %s\",\"median\":%d,\"min\":%d,\"max\":%d}", NR>1?",":"", $1, $2, $3, $4, $5}
     END {print "]}"}' "$tmp/rows" >"$out"
echo "raw results: $out"
