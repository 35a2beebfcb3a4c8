#!/usr/bin/env bats
# The guest image's build products, checked on the host.

load helpers

@test "husk-agent is one static executable" {
	run file "$HUSK_SRC/build/guest/husk-agent"
	assert_output --partial "statically linked"
	run ldd "$HUSK_SRC/build/guest/husk-agent"
	assert_output --partial "not a dynamic executable"
}

@test "the initramfs holds /init and /dev/console, and its bytes are stable" {
	run cpio -it --quiet <"$HUSK_SRC/build/guest/initramfs.cpio"
	assert_success
	assert_line "init"
	assert_line "dev/console"
	"$HUSK_SRC/build/guest/mkcpio" "$HUSK_SRC/build/guest/initramfs.list" "$BATS_TEST_TMPDIR/a.cpio"
	# Another mtime on the input must not change a byte.
	touch -d '2001-02-03 04:05:06' "$HUSK_SRC/build/guest/husk-agent"
	"$HUSK_SRC/build/guest/mkcpio" "$HUSK_SRC/build/guest/initramfs.list" "$BATS_TEST_TMPDIR/b.cpio"
	cmp "$BATS_TEST_TMPDIR/a.cpio" "$BATS_TEST_TMPDIR/b.cpio"
	cmp "$BATS_TEST_TMPDIR/a.cpio" "$HUSK_SRC/build/guest/initramfs.cpio"
}

@test "mkcpio refuses a malformed list with the line number" {
	printf 'dir /ok 0755\nfile relative x 0644\n' >"$BATS_TEST_TMPDIR/list"
	run "$HUSK_SRC/build/guest/mkcpio" "$BATS_TEST_TMPDIR/list" "$BATS_TEST_TMPDIR/out"
	assert_failure 1
	assert_output --partial "list:2: cannot read"
}

@test "a second kernel build is a cache hit" {
	[ -e "$HUSK_SRC/build/guest/vmlinux" ] || skip "the guest kernel is built by make guest (make check does)"
	run "$HUSK_SRC/guest-agent/image/build-kernel" "$BATS_TEST_TMPDIR/guest"
	assert_success
	assert_output --partial "build-kernel: cached"
	run readelf -n "$BATS_TEST_TMPDIR/guest/vmlinux"
	assert_output --partial "Xen"
}
