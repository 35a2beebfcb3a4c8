# Helpers for tests that boot a Linux guest. Sourced by
# tests/integration/helpers.bash.
#
#   requires_guest        the test needs a KVM that boots standard guests:
#                         on this host directly, or through the lab
#   in_guest_host CMD...  runs CMD where guests boot: directly, or in the lab

LAB_RUN="$HUSK_SRC/tests/lab/run"

requires_guest() {
	local kind
	kind=$("$HUSK_SRC/tests/lab/kvm-kind")
	case "$kind" in
	hardware-*) return 0 ;;
	esac
	# No KVM that boots a stock kernel here: the lab needs QEMU and root.
	command -v qemu-system-x86_64 >/dev/null || skip "needs a KVM that boots guests, or qemu-system-x86 for the lab (host KVM: $kind)"
	[ "$(id -u)" = 0 ] || skip "needs root for the lab (host KVM: $kind)"
	[ -x /usr/lib/qemu/virtiofsd ] || skip "needs /usr/lib/qemu/virtiofsd for the lab"
}

# In the lab, a run that times out or loses L1 is run once more, and says
# so in its output: nested SVM on TCG now and then hangs an L2 guest for
# good or takes L1 down (README, "The lab"; three of today's fresh-clone CI
# runs hit one each, in a different test each time). So is a run whose
# guest triple-faulted, the lab's other L2 fault (a vsock test's guest did,
# on vCPU 1 right after its agent was up, in a CI run; the container suites
# retry it likewise). A second failure is the test's: a hang or fault of
# husk's own fails it still, twice over. On a host whose KVM boots guests,
# no second try.
LAB_FAULT_RE='guest triple fault'
in_guest_host() {
	local out rc=0 lab=1
	case "$("$HUSK_SRC/tests/lab/kvm-kind")" in
	hardware-*) [ "${HUSK_LAB:-auto}" = force ] || lab= ;;
	esac
	out=$(mktemp)
	"$LAB_RUN" --timeout "${LAB_TIMEOUT:-600}" ${LAB_CPU:+--cpu "$LAB_CPU"} -- "$@" >"$out" 2>&1 || rc=$?
	if [ -n "$lab" ] && { [ "$rc" = 124 ] ||
		{ [ "$rc" = 125 ] && grep -q "^lab: the nested host ended without a result" "$out"; } ||
		{ [ "$rc" != 0 ] && grep -q "$LAB_FAULT_RE" "$out"; }; }; then
		echo "in_guest_host: the lab failed ($(grep -E "^lab: |$LAB_FAULT_RE" "$out" | tail -n 1)); once more:"
		rc=0
		"$LAB_RUN" --timeout "${LAB_TIMEOUT:-600}" ${LAB_CPU:+--cpu "$LAB_CPU"} -- "$@" >"$out" 2>&1 || rc=$?
	fi
	cat "$out"
	rm -f "$out"
	return "$rc"
}
