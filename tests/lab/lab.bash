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

in_guest_host() {
	"$LAB_RUN" --timeout "${LAB_TIMEOUT:-600}" ${LAB_CPU:+--cpu "$LAB_CPU"} -- "$@"
}
