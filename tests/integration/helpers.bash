# Shared by every bats file: where husk is, how to make a bundle, and
# `requires` that skips loudly with the reason.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

HUSK_SRC="${HUSK_SRC:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
HUSK="${HUSK:-$HUSK_SRC/build/husk}"
FIXTURES="$HUSK_SRC/tests/fixtures"

# The nested-KVM lab helpers (requires_guest) when that part is present.
if [ -f "$HUSK_SRC/tests/lab/lab.bash" ]; then
	# shellcheck source=../lab/lab.bash
	. "$HUSK_SRC/tests/lab/lab.bash"
fi

# husk with a private state root, so tests never touch /run/husk.
husk() {
	"$HUSK" --root "$HUSK_ROOT" "$@"
}

# requires FEATURE...: skip with the reason when the host lacks it. A skip
# is printed by bats with its reason; nothing is skipped silently.
requires() {
	local f
	for f in "$@"; do
		case "$f" in
		root) [ "$(id -u)" = 0 ] || skip "needs root" ;;
		kvm) [ -c /dev/kvm ] && [ -w /dev/kvm ] || skip "needs a writable /dev/kvm" ;;
		runc | crun | jq | busybox) command -v "$f" >/dev/null || skip "needs $f (scripts/install-deps)" ;;
		guest)
			declare -F requires_guest >/dev/null || skip "needs the lab helpers (tests/lab)"
			requires_guest
			;;
		*) fail "requires: unknown feature $f" ;;
		esac
	done
}

# A bundle whose rootfs is Debian's static busybox with its applets linked.
# BUNDLE is fresh for every test; config.json is husk's own default with no
# terminal so it runs under bats.
setup_busybox() {
	BUNDLE="$BATS_TEST_TMPDIR/bundle"
	mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/sys" \
		"$BUNDLE/rootfs/dev" "$BUNDLE/rootfs/etc" "$BUNDLE/rootfs/tmp"
	cp /bin/busybox "$BUNDLE/rootfs/bin/busybox"
	# One process for every applet link (a loop of ln costs minutes where
	# each exec is emulated, in the lab). The links name the path busybox
	# was run from, /usr/bin/busybox on a merged-/usr host: usr/bin leads
	# to bin inside the rootfs.
	mkdir -p "$BUNDLE/rootfs/usr"
	ln -s ../bin "$BUNDLE/rootfs/usr/bin"
	/bin/busybox --install -s "$BUNDLE/rootfs/bin"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$BUNDLE/rootfs/etc/passwd"
	echo 'root:x:0:' >"$BUNDLE/rootfs/etc/group"
	"$HUSK" spec --bundle "$BUNDLE"
	update_config '.process.terminal = false'
}

# update_config [JQ-OPTIONS] JQ-FILTER: edit the bundle's config.json in place.
update_config() {
	local tmp="$BUNDLE/config.json.tmp"
	jq "$@" "$BUNDLE/config.json" >"$tmp" && mv "$tmp" "$BUNDLE/config.json"
}

# The monitors and virtiofsd processes of this bats run: their arguments
# name its temporary directory (bundles, state, shares, sockets), which
# those of other work on the host (another checkout's tests, benchmarks)
# do not, whatever their parent now is.
our_procs() {
	local p
	for p in $(pgrep -x husk-vmm; pgrep -x virtiofsd); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$BATS_RUN_TMPDIR" && echo "$p"
	done | sort
}

# Snapshots of what a failed command must not leave behind.
snapshot_host() {
	cat /proc/self/mountinfo | awk '{print $5}' | sort >"$BATS_TEST_TMPDIR/mounts.before"
	our_procs >"$BATS_TEST_TMPDIR/procs.before" || true
	husk_cgroups >"$BATS_TEST_TMPDIR/cgroups.before"
}

# The sandboxes' cgroups: below a `husk` directory of any hierarchy.
husk_cgroups() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name husk 2>/dev/null |
		while read -r d; do find "$d" -mindepth 1 -type d; done | sort
}

# Only what appeared counts: other work on the host may end meanwhile.
assert_nothing_leaked() {
	awk '{print $5}' /proc/self/mountinfo | sort >"$BATS_TEST_TMPDIR/mounts.after"
	our_procs >"$BATS_TEST_TMPDIR/procs.after" || true
	run comm -13 "$BATS_TEST_TMPDIR/mounts.before" "$BATS_TEST_TMPDIR/mounts.after"
	assert_output ""
	run comm -13 "$BATS_TEST_TMPDIR/procs.before" "$BATS_TEST_TMPDIR/procs.after"
	assert_output ""
	husk_cgroups >"$BATS_TEST_TMPDIR/cgroups.after"
	run comm -13 "$BATS_TEST_TMPDIR/cgroups.before" "$BATS_TEST_TMPDIR/cgroups.after"
	assert_output ""
	# The state root holds nothing for a container that failed to create.
	run find "$HUSK_ROOT" -mindepth 1
	assert_output ""
}

# A bundle with an empty rootfs and husk's default config.json (no
# terminal): enough for a stand-in monitor, which never boots it.
setup_empty_bundle() {
	BUNDLE="$BATS_TEST_TMPDIR/bundle"
	mkdir -p "$BUNDLE/rootfs"
	"$HUSK" spec --bundle "$BUNDLE"
	update_config '.process.terminal = false'
}

# A teardown's sweep: every container of the private root deleted, whatever
# state the test left it in.
delete_all() {
	local id
	for id in $("$HUSK" --root "$HUSK_ROOT" list --quiet 2>/dev/null); do
		"$HUSK" --root "$HUSK_ROOT" delete --force "$id" >/dev/null 2>&1 || true
	done
}

common_setup() {
	HUSK_ROOT="$BATS_TEST_TMPDIR/root"
	mkdir -p "$HUSK_ROOT"
	# Runtime defaults naming a kernel that is not there: create then
	# stops right after validating config.json, before any VM.
	NO_KERNEL="$BATS_TEST_TMPDIR/no-kernel.json"
	echo '{"kernel":"/nonexistent/vmlinux"}' >"$NO_KERNEL"
}
