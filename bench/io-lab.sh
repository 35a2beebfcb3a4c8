#!/bin/sh
# I/O of a container, husk against runc, side by side in one run (issue 9):
#  - fio on a bind mount, which husk serves to its guest through virtio-fs
#    (virtiofsd, cache=auto) and runc hands its process directly: sequential
#    read and write (1 MiB blocks), random read and write (4 KiB blocks) of
#    one SIZE_MIB file, psync, direct=0, one pass each (capped at T s). The
#    bind mount's source is a tmpfs made here for both, so the figures
#    compare the paths to the files, not a disk (or, in the lab, the lab's
#    own virtio-fs root);
#  - a stream from the host into the container: husk's hybrid vsock (the
#    monitor's vsock.sock, CONNECT PORT) against a Unix socket the runc
#    container listens on through a bind mount; bench/vsock-bench serves in
#    the container and measures on the host: RR round trips of 1 B and
#    4 KiB (median, p99), then MIB MiB each way (median of RUNS).
# Runs in the nested lab when this host's KVM cannot boot the guest; then
# the figures are emulation figures and only the ratios carry over.
#
#   bench/io-lab.sh     T=10 SIZE_MIB=64 RR=1000 MIB=64 RUNS=3
# Tables on stdout; bench/results/io-lab.json, raw fio output in
# bench/results/io-lab/.
set -eu
cd "$(dirname "$0")/.."
T=${T:-10}
SIZE_MIB=${SIZE_MIB:-64}
RR=${RR:-1000}
MIB=${MIB:-64}
RUNS=${RUNS:-3}
if [ -z "${HUSK_IN_LAB:-}" ]; then
	# The lab's CPU is bj_lab's (bench/json.sh says why).
	exec tests/lab/run --timeout 1500 --mem 3072 --cpu max,erms=off --env T --env SIZE_MIB --env RR --env MIB \
		--env RUNS --env HUSK_IN_LAB -- env HUSK_IN_LAB=1 T="$T" SIZE_MIB="$SIZE_MIB" RR="$RR" \
		MIB="$MIB" RUNS="$RUNS" "$0"
fi
command -v fio >/dev/null || { echo "bench: fio is not installed (scripts/install-deps)" >&2; exit 1; }
[ -x build/bench/vsock-bench ] || { echo "bench: build/bench/vsock-bench is missing (make all)" >&2; exit 1; }
raw=bench/results/io-lab
mkdir -p "$raw"
tmp=$(mktemp -d)
root=$tmp/husk-root
cleanup() {
	set +e
	build/husk --root "$root" delete --force fio >/dev/null 2>&1
	build/husk --root "$root" delete --force echo >/dev/null 2>&1
	runc --root "$tmp/runc-root" delete --force fio >/dev/null 2>&1
	runc --root "$tmp/runc-root" delete --force echo >/dev/null 2>&1
	umount "$tmp/data" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# The files fio works on: memory for both runtimes (see above).
mkdir -p "$tmp/data"
mount -t tmpfs -o size=$((4 * SIZE_MIB + 64))m bench-io "$tmp/data"
mkdir -p "$tmp/data/husk" "$tmp/data/runc" "$tmp/sock"

# A busybox bundle with fio and vsock-bench. fio's libraries (80 MiB with
# the ceph and gluster engines it links) are the host's, bind-mounted
# read-only where they are on the host, rather than copied in.
. bench/bundle.sh
b=$tmp/bundle
busybox_bundle "$b"
cp "$(command -v fio)" "$b/rootfs/bin/fio"
cp build/bench/vsock-bench "$b/rootfs/bin/vsock-bench"
libdir=/usr/lib/x86_64-linux-gnu
mkdir -p "$b/rootfs$libdir" "$b/rootfs/lib64"
ln -s usr/lib "$b/rootfs/lib"
ln -s "$libdir/ld-linux-x86-64.so.2" "$b/rootfs/lib64/ld-linux-x86-64.so.2"
# One pass over the file per job; stonewall runs them one after another.
# thread: fio keeps its jobs' state in SysV shared memory otherwise.
cat >"$b/rootfs/jobs.fio" <<FIO
[global]
directory=/data
filename=fio.dat
size=${SIZE_MIB}m
ioengine=psync
direct=0
thread
runtime=$T
stonewall
[seq-read]
rw=read
bs=1m
[seq-write]
rw=write
bs=1m
[rand-read]
rw=randread
bs=4k
[rand-write]
rw=randwrite
bs=4k
FIO
jq --arg lib "$libdir" '.root.readonly = false
	| .process.env += ["LD_LIBRARY_PATH=" + $lib]
	| .mounts += [{"destination": $lib, "type": "bind", "source": $lib, "options": ["rbind", "ro"]},
		{"destination": "/data", "type": "bind", "source": "DATA", "options": ["rbind", "rw"]},
		{"destination": "/sock", "type": "bind", "source": "SOCK", "options": ["rbind", "rw"]}]' \
	"$b/config.json" >"$b/c"
mv "$b/c" "$b/config.json"

# config ARGS-JSON DATA-DIR: the bundle's process and its /data.
config() {
	jq --argjson a "$1" --arg d "$2" --arg s "$tmp/sock" '.process.args = $a
		| .mounts |= map(if .source == "DATA" or .destination == "/data" then .source = $d
			elif .source == "SOCK" or .destination == "/sock" then .source = $s else . end)' \
		"$b/config.json" >"$b/c"
	mv "$b/c" "$b/config.json"
}

fio_args='["fio", "--output-format=json", "--output=/data/fio.json", "/jobs.fio"]'
config "$fio_args" "$tmp/data/husk"
build/husk --root "$root" run --bundle "$b" fio >"$raw/husk-fio.log" 2>&1 </dev/null ||
	{ echo "bench: fio in husk failed:" >&2; cat "$raw/husk-fio.log" >&2; exit 1; }
cp "$tmp/data/husk/fio.json" "$raw/husk-fio.json"
rm -f "$tmp/data/husk/fio.dat"
config "$fio_args" "$tmp/data/runc"
runc --root "$tmp/runc-root" run --bundle "$b" fio >"$raw/runc-fio.log" 2>&1 </dev/null ||
	{ echo "bench: fio in runc failed:" >&2; cat "$raw/runc-fio.log" >&2; exit 1; }
cp "$tmp/data/runc/fio.json" "$raw/runc-fio.json"
rm -f "$tmp/data/runc/fio.dat"

# fio_fig FILE JOB FIELD: read or write figure (bw_bytes, iops) of one job.
fio_fig() {
	jq -r --arg j "$2" --arg f "$3" '.jobs[] | select(.jobname == $j)
		| if ($j | test("read")) then .read else .write end | .[$f]' "$1"
}

# vsock: the same server in both, measured from here.
port=5555
config "[\"vsock-bench\", \"serve\", \"vsock:$port\"]" "$tmp/data/husk"
build/husk --root "$root" run -d --bundle "$b" echo >"$raw/husk-echo.log" 2>&1 </dev/null
uds=$root/echo/vsock.sock
[ -S "$uds" ] || { echo "bench: no vsock socket at $uds" >&2; exit 1; }
config '["vsock-bench", "serve", "unix:/sock/echo.sock"]' "$tmp/data/runc"
runc --root "$tmp/runc-root" run -d --bundle "$b" echo >"$raw/runc-echo.log" 2>&1 </dev/null

# stream NAME TARGET: one line "rr1-median rr1-p99 rr4k-median rr4k-p99 put get".
stream() {
	build/bench/vsock-bench rr "$2" "$RR" 1 >"$raw/$1-rr1.txt"
	build/bench/vsock-bench rr "$2" "$RR" 4096 >"$raw/$1-rr4k.txt"
	for dir in put get; do
		: >"$tmp/$1-$dir"
		i=0
		while [ $i -lt "$RUNS" ]; do
			build/bench/vsock-bench "$dir" "$2" "$MIB" >>"$tmp/$1-$dir"
			i=$((i + 1))
		done
		awk '{print $2}' "$tmp/$1-$dir" | sort -n >"$raw/$1-$dir.txt"
	done
	awk '{printf "%s %s ", $2, $4}' "$raw/$1-rr1.txt" "$raw/$1-rr4k.txt"
	for dir in put get; do
		awk '{a[NR]=$1} END {printf "%s ", a[int((NR+1)/2)]}' "$raw/$1-$dir.txt"
	done
	echo
}
stream husk "hybrid:$uds:$port" >"$tmp/husk-stream"
stream runc "unix:$tmp/sock/echo.sock" >"$tmp/runc-stream"
read -r h_rr1 h_rr1p h_rr4 h_rr4p h_put h_get <"$tmp/husk-stream"
read -r r_rr1 r_rr1p r_rr4 r_rr4p r_put r_get <"$tmp/runc-stream"
build/husk --root "$root" delete --force echo
runc --root "$tmp/runc-root" delete --force echo

mode=native
[ -d /sys/module/kvm_amd ] && grep -q 'husk.lab=' /proc/cmdline 2>/dev/null && mode=lab
machine="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) CPUs,\
 $(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)"

# The rows, as JSON, then the tables printed from them.
{
	for job in seq-read seq-write rand-read rand-write; do
		for rt in husk runc; do
			echo "$job $rt $(fio_fig "$raw/$rt-fio.json" "$job" bw_bytes) $(fio_fig "$raw/$rt-fio.json" "$job" iops)"
		done
	done
} >"$tmp/fio"
jq -n -R --arg mode "$mode" --arg machine "$machine" --argjson runs "$RUNS" \
	--arg size "$SIZE_MIB" --arg t "$T" --arg rr "$RR" --arg mib "$MIB" \
	--argjson hs "[$h_rr1, $h_rr1p, $h_rr4, $h_rr4p, $h_put, $h_get]" \
	--argjson rs "[$r_rr1, $r_rr1p, $r_rr4, $r_rr4p, $r_put, $r_get]" \
	--rawfile fio "$tmp/fio" '
	def r2: . * 100 | round / 100;
	def ratio(a; b): if b == 0 then null else (a / b | r2) end;
	($fio | split("\n") | map(select(. != "") | split(" "))
		| map({job: .[0], rt: .[1], mibs: (.[2] | tonumber / 1048576), iops: (.[3] | tonumber)})) as $f
	| def fig(j; rt): $f | map(select(.job == j and .rt == rt)) | .[0];
	  def jlabel: {"seq-read": "seq read 1 MiB", "seq-write": "seq write 1 MiB",
		"rand-read": "rand read 4 KiB", "rand-write": "rand write 4 KiB"}[.];
	  ["seq-read", "seq-write", "rand-read", "rand-write"] as $jobs
	| ["unit", "husk", "runc", "husk / runc"] as $cols
	| {bench: "io-lab",
	   title: "Container I/O: virtio-fs and vsock (husk) against runc",
	   mode: $mode, machine: $machine, runs: $runs,
	   tables: [
		{title: "fio on a bind mount (tmpfs behind it), \($size) MiB file, psync, direct=0, one pass per job (at most \($t) s)",
		 columns: (["job"] + $cols),
		 rows: [$jobs[] as $j
			| (if ($j | startswith("seq")) then "MiB/s" else "IOPS" end) as $u
			| (if $u == "MiB/s" then "mibs" else "iops" end) as $k
			| (fig($j; "husk")[$k] | r2) as $h | (fig($j; "runc")[$k] | r2) as $r
			| [($j | jlabel), $u, $h, $r, ratio($h; $r)]]},
		{title: "host to container stream: husk vsock (hybrid, vsock.sock) against a Unix socket into runc",
		 columns: (["measure"] + $cols),
		 rows: [
			["round trip 1 B, median of \($rr)", "us", $hs[0], $rs[0], ratio($hs[0]; $rs[0])],
			["round trip 1 B, p99", "us", $hs[1], $rs[1], ratio($hs[1]; $rs[1])],
			["round trip 4 KiB, median of \($rr)", "us", $hs[2], $rs[2], ratio($hs[2]; $rs[2])],
			["round trip 4 KiB, p99", "us", $hs[3], $rs[3], ratio($hs[3]; $rs[3])],
			["host -> container, \($mib) MiB, median of \($runs)", "MiB/s", $hs[4], $rs[4], ratio($hs[4]; $rs[4])],
			["container -> host, \($mib) MiB, median of \($runs)", "MiB/s", $hs[5], $rs[5], ratio($hs[5]; $rs[5])]]}],
	   series: [
		{title: "fio throughput on a bind mount", kind: "bars", x: "job", y: "MiB/s",
		 names: ["husk", "runc"],
		 points: [$jobs[] as $j | [($j | jlabel), (fig($j; "husk").mibs | r2), (fig($j; "runc").mibs | r2)]]},
		{title: "stream throughput, host and container", kind: "bars", x: "direction", y: "MiB/s",
		 names: ["husk", "runc"],
		 points: [["host -> container", $hs[4], $rs[4]], ["container -> host", $hs[5], $rs[5]]]}],
	   summary: [
		(["seq-read", "rand-write"][] as $j
		 | (if ($j | startswith("seq")) then ["MiB/s", "mibs"] else ["IOPS", "iops"] end) as $u
		 | (fig($j; "husk")[$u[1]] | r2) as $h | (fig($j; "runc")[$u[1]] | r2) as $r
		 | {what: "fio \($j | jlabel) on a bind mount (\($u[0]))", subject: "husk",
		    value: $h, peer: "runc", peer_value: $r, unit: $u[0], ratio: ratio($h; $r),
		    why: (if $j == "seq-read" then
			"fio drops the guest'"'"'s page cache before the job, so every read becomes FUSE requests to virtiofsd through virtio-fs, each a round trip between guest and host (a 1-byte vsock round trip took \($hs[0]) us in this run); runc reads the host'"'"'s tmpfs in place. DAX (the guest mapping the host'"'"'s pages) would take the round trips away; husk does not offer it yet."
		      else
			"Each 4 KiB write is one FUSE request through virtio-fs (cache=auto: the guest has no writeback cache to absorb writes): \(1e6 / $h | round) us a write, against \($hs[0]) us for a 1-byte vsock round trip in the same run. The cost is the round trip between guest and host (a kick that exits the guest, virtiofsd woken, an interrupt back), not the file system behind it; runc writes to the tmpfs directly."
		      end)}),
		{what: "stream round trip 1 B (median us)", subject: "husk vsock", value: $hs[0],
		 peer: "runc Unix socket", peer_value: $rs[0], unit: "us", ratio: ratio($hs[0]; $rs[0]),
		 why: "A round trip crosses the guest boundary twice: the guest'"'"'s virtio-vsock driver kicks its tx queue (an exit), husk-vmm'"'"'s event loop moves the bytes to the Unix socket, and the reply comes back in an rx buffer with an interrupt; runc'"'"'s peer is one socket hop inside the host kernel. In the lab every exit and interrupt goes through L1'"'"'s KVM under QEMU'"'"'s TCG."},
		{what: "stream host -> container (MiB/s)", subject: "husk vsock", value: $hs[4],
		 peer: "runc Unix socket", peer_value: $rs[4], unit: "MiB/s", ratio: ratio($hs[4]; $rs[4]),
		 why: "The bytes are copied twice (Unix socket to husk-vmm, husk-vmm into the guest'"'"'s rx ring) by husk-vmm'"'"'s one event-loop thread, with an interrupt per batch and credit updates coming back from the guest; runc'"'"'s stream is one copy in the host kernel."}],
	   notes: [
		"husk: the bind mount reaches the guest through virtio-fs (husk-vmm'"'"'s virtiofsd, cache=auto); runc: the host'"'"'s tmpfs directly.",
		"fio drops a file'"'"'s page cache before each job (invalidate=1): in the guest, reads then go through virtio-fs; the tmpfs behind runc has no cache to drop.",
		"vsock: husk-vmm relays each connection between its vsock.sock and the guest (credit-based virtio-vsock); runc'"'"'s peer is a Unix socket through a bind mount.",
		(if $mode == "lab" then "lab mode: the guest runs nested under QEMU TCG, so absolute figures are emulation figures; only the ratios carry over." else empty end)]}
	' >bench/results/io-lab.json

jq -r '.tables[] | "\n" + .title, (.columns | @tsv), (.rows[] | map(. // "-" | tostring) | @tsv)' \
	bench/results/io-lab.json | awk -F '\t' 'NF <= 1 {print; next}
	{printf "%-38s %6s %12s %12s %12s\n", $1, $2, $3, $4, $5}'
echo
jq -r '.notes[]' bench/results/io-lab.json
printf '(%s mode, %s)\n' "$mode" "$machine"
