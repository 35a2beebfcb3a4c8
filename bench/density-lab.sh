#!/bin/sh
# Density (issue 9): idle sandboxes (`create` + `start` of busybox
# `sleep 1000`) brought up one after another to each count of SIZES, husk
# against runc in one run. At each count: the seconds per sandbox of the
# batch that reached it (while the earlier ones keep running), and the
# memory per sandbox once idle: husk's is the PSS of every husk-vmm (which
# maps the guest memory the guest touched) and its virtiofsd, runc's the PSS
# of the container processes (runc leaves nothing else running). Everything
# is deleted at the end and checked gone. Runs in the nested lab when this
# host's KVM cannot boot the guest; then times are emulation times and only
# the ratios carry over (the memory figures hold as they are).
#
# In the lab, dozens of nested guests strain QEMU's TCG: in runs on a busy
# 2-CPU host one guest triple-faulted at 12 sandboxes (and L1 died at 31),
# one missed the agent's boot deadline at 11 and one stopped before its
# start at 6. The run then stops, naming the sandbox; a smaller SIZES gets
# through more often there.
#
#   bench/density-lab.sh     SIZES="1 10 20 40" (ascending), SETTLE=5 (s)
# Tables on stdout; bench/results/density-lab.json.
set -eu
cd "$(dirname "$0")/.."
SIZES=${SIZES:-1 10 20 40}
SETTLE=${SETTLE:-5}
if [ -z "${HUSK_IN_LAB:-}" ]; then
	# Each idle sandbox holds ~44 MiB; 40 of them and L1 itself want 6 GiB.
	# QEMU's stock CPU here, not bj_lab's: with up to 40 guests at once the
	# nested lab lost one (a hang, a triple fault) in both runs without
	# ERMS, none in the run with it.
	exec tests/lab/run --timeout 2400 --mem 6144 --env SIZES --env SETTLE --env HUSK_IN_LAB -- \
		env HUSK_IN_LAB=1 SIZES="$SIZES" SETTLE="$SETTLE" "$0"
fi
tmp=$(mktemp -d)
root=$tmp/husk-root
runc_root=$tmp/runc-root
: >"$tmp/husk-ids"
: >"$tmp/runc-ids"
cleanup() {
	set +e
	while read -r id; do build/husk --root "$root" delete --force "$id" >/dev/null 2>&1; done <"$tmp/husk-ids"
	while read -r id; do runc --root "$runc_root" delete --force "$id" >/dev/null 2>&1; done <"$tmp/runc-ids"
	rm -rf "$tmp"
}
trap cleanup EXIT

. bench/bundle.sh
b=$tmp/bundle
busybox_bundle "$b"
jq '.process.args = ["sleep", "1000"]' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"

ns() { date +%s%N; }
pss() { awk '/^Pss:/ {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# The lab: a sandbox whose guest the nested lab loses (a boot hang, a triple
# fault; one in dozens) is deleted and made once more, and the run says how
# many were; on a host whose KVM boots the guests, a failure stops the run.
mode=native
[ -d /sys/module/kvm_amd ] && grep -q 'husk.lab=' /proc/cmdline 2>/dev/null && mode=lab
: >"$tmp/redone"

# husk_one ID: create + start of one husk sandbox; its errors in husk.log.
husk_one() {
	build/husk --root "$root" create --bundle "$b" "$1" </dev/null >/dev/null 2>>"$tmp/husk.log" &&
		build/husk --root "$root" start "$1" 2>>"$tmp/husk.log"
}

husk_failed() {
	echo "bench: husk sandbox $1 failed:" >&2
	cat "$tmp/husk.log" >&2
	# A failed create removes its state directory, logs and all.
	tail -n 5 "$root/$1/vmm.log" "$root/$1/console.log" >&2 2>/dev/null || true
}

# up RUNTIME FROM TO: sandboxes FROM+1..TO; prints the nanoseconds they
# took (a lost try's time not counted).
up() {
	s=$(ns)
	lost=0
	i=$(($2 + 1))
	while [ $i -le "$3" ]; do
		if [ "$1" = husk ]; then
			echo "h$i" >>"$tmp/husk-ids"
			t0=$(ns)
			if ! husk_one "h$i"; then
				husk_failed "h$i"
				[ "$mode" = lab ] || exit 1
				build/husk --root "$root" delete --force "h$i" >/dev/null 2>&1 || true
				echo "h$i" >>"$tmp/redone"
				echo "bench: h$i lost to the lab; deleted, once more" >&2
				: >"$tmp/husk.log"
				lost=$((lost + $(ns) - t0))
				husk_one "h$i" || { husk_failed "h$i"; exit 1; }
			fi
		else
			echo "r$i" >>"$tmp/runc-ids"
			runc --root "$runc_root" create --bundle "$b" "r$i" </dev/null >/dev/null 2>>"$tmp/runc.log" &&
				runc --root "$runc_root" start "r$i" 2>>"$tmp/runc.log" ||
				{ echo "bench: runc container r$i failed:" >&2; cat "$tmp/runc.log" >&2; exit 1; }
		fi
		i=$((i + 1))
	done
	echo $(($(ns) - s - lost))
}

# mem_husk N: "vmm-KiB virtiofsd-KiB shmem-KiB", summed over h1..hN.
mem_husk() {
	v=0 f=0 g=0 i=1
	while [ $i -le "$1" ]; do
		p=$(build/husk --root "$root" state "h$i" | jq .pid)
		# A monitor that ended (its guest faulted, say) leaves pid 0: say so
		# rather than count nothing for it.
		if [ "$p" -le 0 ] || [ ! -e "/proc/$p/smaps_rollup" ]; then
			echo "bench: sandbox h$i is not running; its monitor's log:" >&2
			tail -n 5 "$root/h$i/vmm.log" >&2
			exit 1
		fi
		echo "$p" >>"$tmp/husk-pids"
		v=$((v + $(pss "$p")))
		g=$((g + $(awk '/^RssShmem:/ {print $2}' "/proc/$p/status")))
		for d in $(pgrep -P "$p" -x virtiofsd); do
			echo "$d" >>"$tmp/husk-pids"
			f=$((f + $(pss "$d")))
			for c in $(pgrep -P "$d"); do f=$((f + $(pss "$c"))); done
		done
		i=$((i + 1))
	done
	echo "$v $f $g"
}

# mem_runc N: KiB, summed over the container processes of r1..rN.
mem_runc() {
	m=0 i=1
	while [ $i -le "$1" ]; do
		p=$(runc --root "$runc_root" state "r$i" | jq .pid)
		[ "$p" -gt 0 ] || { echo "bench: container r$i is not running" >&2; exit 1; }
		m=$((m + $(pss "$p")))
		i=$((i + 1))
	done
	echo "$m"
}

# One line per count: "N ns vmm-KiB virtiofsd-KiB shmem-KiB" in $tmp/husk,
# "N ns KiB" in $tmp/runc.
: >"$tmp/husk-pids"
have=0
for n in $SIZES; do
	[ "$n" -gt "$have" ] || { echo "bench: SIZES must ascend" >&2; exit 1; }
	t=$(up husk "$have" "$n")
	sleep "$SETTLE" # the last guests finish booting and go idle
	m=$(mem_husk "$n")
	echo "$n $t $m" >>"$tmp/husk"
	have=$n
done
# What one CLI call costs alone (a `state`), to read the creation times by.
s=$(ns)
build/husk --root "$root" state h1 >/dev/null
husk_cli=$(($(ns) - s))
have=0
for n in $SIZES; do
	t=$(up runc "$have" "$n")
	sleep "$SETTLE"
	m=$(mem_runc "$n")
	echo "$n $t $m" >>"$tmp/runc"
	have=$n
done
s=$(ns)
runc --root "$runc_root" state r1 >/dev/null
runc_cli=$(($(ns) - s))

# Delete them all, then check that nothing is left: no state, no monitor,
# no virtiofsd, no runc container.
while read -r id; do build/husk --root "$root" delete --force "$id"; done <"$tmp/husk-ids"
while read -r id; do runc --root "$runc_root" delete --force "$id"; done <"$tmp/runc-ids"
: >"$tmp/husk-ids"
: >"$tmp/runc-ids"
left=$(build/husk --root "$root" list -q 2>/dev/null || build/husk --root "$root" list | tail -n +2)
left_r=$(runc --root "$runc_root" list -q)
alive=
for p in $(sort -u "$tmp/husk-pids"); do
	kill -0 "$p" 2>/dev/null && alive="$alive $p"
done
if [ -n "$left$left_r$alive" ]; then
	echo "bench: left behind: husk [$left] runc [$left_r] processes [$alive]" >&2
	exit 1
fi
redone=$(wc -l <"$tmp/redone")
clean="all $(echo "$SIZES" | awk '{print $NF}') + $(echo "$SIZES" | awk '{print $NF}') deleted: no state left, no husk-vmm or virtiofsd alive"

machine="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs,\
 $(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"

# prev-count/time per batch: the batch reaching N holds N - previous sandboxes.
jq -n -R --arg mode "$mode" --arg machine "$machine" --arg clean "$clean" --argjson redone "$redone" \
	--argjson hcli "$husk_cli" --argjson rcli "$runc_cli" \
	--rawfile h "$tmp/husk" --rawfile r "$tmp/runc" '
	def r2: . * 100 | round / 100;
	def ratio(a; b): if b == 0 then null else (a / b | r2) end;
	def lines: split("\n") | map(select(. != "") | split(" ") | map(tonumber));
	($h | lines) as $h | ($r | lines) as $r
	| [range(0; $h | length) as $i
		| ($h[$i][0]) as $n | (if $i == 0 then 0 else $h[$i - 1][0] end) as $prev
		| {n: $n, batch: ($n - $prev),
		   hs: ($h[$i][1] / 1e9 / ($n - $prev)), rs: ($r[$i][1] / 1e9 / ($n - $prev)),
		   vmm: ($h[$i][2] / 1024 / $n), vfs: ($h[$i][3] / 1024 / $n),
		   shm: ($h[$i][4] / 1024 / $n), runc: ($r[$i][2] / 1024 / $n)}] as $p
	| {bench: "density-lab",
	   title: "Density: idle sandboxes, husk against runc",
	   mode: $mode, machine: $machine, runs: 1,
	   tables: [
		{title: "create + start of sleep 1000, one after another: seconds per sandbox of the batch reaching N",
		 columns: ["sandboxes", "batch", "husk s", "runc s", "husk / runc"],
		 rows: [$p[] | [.n, .batch, (.hs | r2), (.rs * 1000 | round / 1000), ratio(.hs; .rs)]]},
		{title: "memory per idle sandbox (PSS, MiB): husk-vmm + virtiofsd against the runc container",
		 columns: ["sandboxes", "husk MiB", "runc MiB", "husk / runc"],
		 rows: [$p[] | [.n, (.vmm + .vfs | r2), (.runc | r2), ratio(.vmm + .vfs; .runc)]]},
		{title: "husk per sandbox, its parts (MiB)",
		 columns: ["sandboxes", "husk-vmm PSS", "of which guest memory touched", "virtiofsd PSS"],
		 rows: [$p[] | [.n, (.vmm | r2), (.shm | r2), (.vfs | r2)]]}],
	   series: [
		{title: "creation rate", kind: "line", x: "sandboxes running", y: "sandboxes/s",
		 names: ["husk", "runc"], points: [$p[] | [.n, (1 / .hs | r2), (1 / .rs | r2)]]},
		{title: "memory per idle sandbox", kind: "line", x: "sandboxes running", y: "MiB PSS per sandbox",
		 names: ["husk", "runc"], points: [$p[] | [.n, (.vmm + .vfs | r2), (.runc | r2)]]}],
	   summary: [$p[-1] | (.vmm + .vfs | r2) as $hm | (.runc | r2) as $rm
		| {what: "memory per idle sandbox at \(.n) (MiB PSS)", subject: "husk", value: $hm,
		   peer: "runc", peer_value: $rm, unit: "MiB", ratio: ratio($hm; $rm),
		   why: "A sandbox is a VM with a kernel of its own: of husk'"'"'s \($hm) MiB, \(.shm | r2) MiB is guest memory the guest touched (the kernel image husk-vmm loaded, the initramfs, the guest kernel'"'"'s own allocations and the page cache of what it read), husk-vmm itself \(.vmm - .shm | r2) MiB and virtiofsd \(.vfs | r2) MiB. runc'"'"'s container shares the host'"'"'s kernel and page cache, so its PSS is its process alone. A smaller guest kernel, and free page reporting to give back what the guest no longer uses, are where this would shrink."},
		  {what: "create + start per sandbox, batch reaching \(.n) (s)", subject: "husk",
		   value: (.hs | r2), peer: "runc", peer_value: (.rs * 1000 | round / 1000), unit: "s",
		   ratio: ratio(.hs; .rs),
		   why: "Each create boots a guest to its agent before it answers (the startup timeline says where that time goes)."}],
	   notes: [
		"Each batch is created while the sandboxes of the earlier batches keep running; the rate is the batch'"'"'s.",
		"husk-vmm'"'"'s PSS includes the guest memory the guest touched (RssShmem: its memfd), shared with nothing else.",
		"runc: the PSS of the container'"'"'s process (static busybox sleep); runc itself exits after start.",
		"One `state` call alone took \($hcli / 1e9 | r2) s with husk and \($rcli / 1e9 | r2) s with runc in this run: create + start is two such calls plus the work.",
		$clean,
		(if $redone > 0 then "\($redone) husk sandbox(es) lost to the lab (a guest hang or triple fault of nested SVM on TCG) were deleted and made once more; the lost tries'"'"' time is not counted." else empty end),
		(if $mode == "lab" then "lab mode: guests run nested under QEMU TCG, so times are emulation times and only their ratios carry over." else empty end)]}
	' >bench/results/density-lab.json

jq -r '.tables[] | "\n" + .title, (.columns | @tsv), (.rows[] | map(. // "-" | tostring) | @tsv)' \
	bench/results/density-lab.json | awk -F '\t' 'NF <= 1 {print; next}
	{printf "%-12s", $1; for (i = 2; i <= NF; i++) printf " %14s", $i; printf "\n"}'
echo
jq -r '.notes[]' bench/results/density-lab.json
printf '(%s mode, %s)\n' "$mode" "$machine"
