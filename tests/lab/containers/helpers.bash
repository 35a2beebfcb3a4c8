# Shared by the container suites. These files run where guests boot: on a
# host with hardware KVM directly, otherwise inside the lab, the whole file
# in one lab boot (make lab-check does `tests/lab/run -- bats tests/lab/containers`).

HUSK_SRC="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)"
load ../../integration/helpers

container_setup() {
	requires root
	case "$("$HUSK_SRC/tests/lab/kvm-kind")" in
	hardware-*) ;;
	*) skip "needs a KVM that boots standard guests: run through tests/lab/run" ;;
	esac
	common_setup
	setup_busybox
	RECVTTY="$HUSK_SRC/build/tests/tools/recvtty"
	snapshot_host
	start_deadline
}

# A test that hangs fails at this deadline instead of holding up the rest
# of the suite (an engine test takes up to 4 minutes in a busy lab). The
# watchdog records what the monitors were doing, then kills them: that ends
# every husk call waiting on them, and their status fails the test. (bats'
# own BATS_TEST_TIMEOUT cannot: it signals the test's shell, which waits on
# `husk run`, which forwards the signal to a container's PID 1.) A monitor
# that outlives SIGKILL is stuck in the kernel's KVM_RUN (the lab's nested
# SVM on TCG wedges an L2 vCPU so, now and then): nothing of husk's can end
# it, so the husk calls waiting on it are killed too, and the test fails
# saying so.
TEST_DEADLINE=${TEST_DEADLINE:-600}

start_deadline() {
	(
		# Not bats' errexit and ERR trap: a monitor gone by itself must not
		# end the watchdog before it has looked at the rest.
		set +eE
		trap - ERR DEBUG RETURN
		exec </dev/null >"$BATS_TEST_TMPDIR/deadline" 2>&1 3>&-
		# stop_deadline's TERM ends a watchdog still waiting...
		sp=
		trap '[ -z "$sp" ] || kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$TEST_DEADLINE" &
		sp=$!
		wait "$sp"
		# ...and not one that has fired: it finishes its report.
		trap '' TERM
		echo "# the test's deadline (${TEST_DEADLINE} s) passed: its monitors are killed"
		# The test's husk calls, and their monitors: by the state root in
		# their arguments, or (a monitor stuck in its exit has no
		# arguments left to read) by being a husk call's child.
		clis=$(pgrep -f -- "--root $HUSK_ROOT")
		left=$(comm -13 "$BATS_TEST_TMPDIR/procs.before" <(procs_now))
		for c in $clis; do left="$left $(pgrep -P "$c" -x husk-vmm)"; done
		left=$(echo $left | tr ' ' '\n' | sort -u)
		for p in $left; do describe_proc "$p"; done
		dump_containers
		for p in $left; do kill -9 "$p" 2>/dev/null; done
		left=$(still_running 20 $left)
		if [ -n "$left" ]; then
			echo "# a monitor outlived SIGKILL by 20 s: $(echo $left)"
			for p in $left; do describe_proc "$p"; done
		fi
		# What the kernel said meanwhile (a device that will not unregister,
		# a seccomp kill, a KVM error).
		echo "# the kernel's last messages:"
		dmesg 2>/dev/null | tail -n 20 | sed 's/^/#   /'
		# A husk call still waiting 10 s on waits on something that is gone
		# or cannot end: it goes too, so the test ends.
		clis=$(still_running 10 $clis)
		if [ -n "$clis" ]; then
			echo "# husk calls still waiting, killed: $(echo $clis)"
			for c in $clis; do kill -9 "$c" 2>/dev/null; done
		fi
	) &
	DEADLINE_PID=$!
}

# still_running SECONDS PID...: waits until every PID has ended, or the
# seconds have passed; prints those still running.
still_running() {
	local t=$(($(date +%s) + $1)) left
	shift
	left=$*
	while :; do
		left=$(for p in $left; do gone "$p" || echo "$p"; done)
		[ -n "$left" ] && [ "$(date +%s)" -lt $t ] || break
		sleep 0.2
	done
	echo $left
}

# describe_proc PID: each thread's name, state, kernel wait channel, CPU
# time and kernel stack, which tell a guest that spins from one that waits
# and show where a task stuck in the kernel is.
describe_proc() {
	local t
	echo "# pid $1: $(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-120)"
	for t in /proc/"$1"/task/*; do
		[ -e "$t/stat" ] || continue
		echo "#   $(awk '{print "tid " $1 " " $2 " state " $3 " utime " $14 " stime " $15}' "$t/stat" 2>/dev/null) wchan $(cat "$t/wchan" 2>/dev/null)"
		timeout 5 head -n 8 "$t/stack" 2>/dev/null | sed 's/^/#     /'
	done
}

stop_deadline() {
	[ -n "${DEADLINE_PID:-}" ] || return 0
	kill "$DEADLINE_PID" 2>/dev/null || true
	wait "$DEADLINE_PID" 2>/dev/null || true
	DEADLINE_PID=
	cat "$BATS_TEST_TMPDIR/deadline" 2>/dev/null || true
}

# In the lab, now and then an L2 guest never gets to its agent (L1's KVM on
# QEMU's TCG hangs it in boot; one of some 80 guests a run, a different test
# each time). A test that failed that way, and only that way, runs once more
# and says so, its first try's output printed ahead of the second. On a host
# whose own KVM boots the guests, and for any other failure, no second try.
# (bats calls this after a failed test and its teardown; 1.8 has no per-test
# retry condition of its own.)
LAB_FAULTS='the VM did not come up in [0-9]+ s|guest triple fault|a monitor outlived SIGKILL'
bats_should_retry_test() {
	[ "${BATS_TEST_TRY_NUMBER:-1}" = 1 ] || return 1
	grep -q 'husk\.lab=' /proc/cmdline 2>/dev/null || return 1
	grep -qE "$LAB_FAULTS" "$BATS_OUT" || return 1
	{
		echo "# lab fault in \"$BATS_TEST_DESCRIPTION\" ($(grep -oE "$LAB_FAULTS" "$BATS_OUT" | head -n 1)); once more. The first try:"
		sed 's/^/#   /' "$BATS_OUT"
	} >&3
}

# What a failed or timed-out test leaves to read: each container's state,
# the monitor's log and the guest's console, ahead of the cleanup.
dump_containers() {
	local id f
	for id in $("$HUSK" --root "$HUSK_ROOT" list --quiet 2>/dev/null); do
		echo "# container $id: $("$HUSK" --root "$HUSK_ROOT" state "$id" 2>&1 | jq -c '{status, pid}' 2>/dev/null)"
		for f in "$HUSK_ROOT/$id"/*.log; do
			[ -s "$f" ] || continue
			echo "# --- $f (last 30 lines)"
			tail -n 30 "$f"
		done
	done
}

# Everything the test made is gone: containers deleted, no monitor, no
# virtiofsd, no mount, no state directory.
container_teardown() {
	local id
	stop_deadline
	[ -n "${BATS_TEST_COMPLETED:-}" ] || dump_containers
	for id in $("$HUSK" --root "$HUSK_ROOT" list --quiet 2>/dev/null); do
		"$HUSK" --root "$HUSK_ROOT" delete --force "$id" >/dev/null 2>&1 || true
	done
}

# wait_for SECONDS CMD...: polls CMD until it succeeds, failing the test at
# the deadline. The runtime's state changes asynchronously (a VM shutting
# down); this waits on the condition itself, never a fixed sleep.
wait_for() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			fail "timed out waiting for: $*"
		fi
		sleep 0.05
	done
}

status_is() {
	[ "$(husk state "$1" 2>/dev/null | jq -r .status)" = "$2" ]
}

gone() {
	! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# set_args ARG...: the container's process arguments, each one whole: an
# argument with newlines in it (a multi-line `sh -c` script) stays one, and
# one that looks like an option (-c) stays an argument (jq's --args would
# take it as its own).
set_args() {
	local a json
	json=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -cs .)
	update_config ".process.args = $json"
}

# No monitor or virtiofsd left (by name), and no mounts that were not there.
assert_clean() {
	local deadline=$(($(date +%s) + 10)) left
	until no_vmm_left; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			left=$(comm -13 "$BATS_TEST_TMPDIR/procs.before" <(procs_now) | paste -sd,)
			ps -o pid,ppid,stat,args -p "$left" || true
			fail "processes left behind: $left"
		fi
		sleep 0.05
	done
	assert_nothing_leaked
}

no_vmm_left() {
	! comm -13 "$BATS_TEST_TMPDIR/procs.before" <(procs_now) | grep -q .
}

procs_now() {
	our_procs
}

# fetch HOST PORT: the body of GET / (bash's /dev/tcp: the static busybox's
# wget cannot resolve even a literal address here).
fetch() {
	local body
	body=$(timeout -k 1 10 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET / HTTP/1.0\r\n\r\n" >&3 &&
		exec timeout 5 cat <&3' "$1" "$2" 2>/dev/null | sed '1,/^\r$/d')
	[ -n "$body" ] && printf '%s\n' "$body"
}

# ---- engines' networks (engines.bats, cri.bats) -----------------------------------

# CNI keeps IPAM leases and cached results under /var/lib/cni, Podman its
# blob cache under /var/lib/containers, and the lab's root is the host's: a
# tmpfs on /var/lib (in the lab's mount table only; the lab's kernel has no
# overlayfs) keeps the test's writes, and the teardown unmounts it.
private_var_lib() {
	mount -t tmpfs tmpfs /var/lib
	VARLIB=1
}

# The kernel's network objects: namespaces, links, iptables rules (chain
# counters left out).
net_state() {
	{
		ip netns list
		ip -o link show | awk -F': ' '{print $2}'
		iptables-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	} | sort
}

# NET_UNDO's commands, last to first.
net_teardown() {
	local i
	for ((i = ${#NET_UNDO[@]} - 1; i >= 0; i--)); do
		eval "${NET_UNDO[i]}" >/dev/null 2>&1 || true
	done
	NET_UNDO=()
}
