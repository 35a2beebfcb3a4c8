#!/usr/bin/env bats
# The command line: version, help, global flags, error reporting, spec and
# features.

load helpers

setup() {
	common_setup
}

@test "--version names husk and the spec version" {
	run "$HUSK" --version
	assert_success
	assert_line --index 0 --regexp '^husk version [0-9]+\.[0-9]+\.[0-9]+'
	assert_line --index 1 "spec: 1.2.0"
}

@test "help lists every runc verb; help VERB shows its usage" {
	run "$HUSK" help
	assert_success
	for v in create start state kill delete run exec ps list pause resume update events spec features; do
		assert_output --partial "  $v "
	done
	run "$HUSK" help kill
	assert_success
	assert_output --partial "usage: husk [global flags] kill [--all] ID [SIGNAL]"
	run "$HUSK" help nonsense
	assert_failure 1
}

@test "an unknown verb fails with status 1 and says so" {
	run husk frobnicate
	assert_failure 1
	assert_output --partial 'unknown command `frobnicate`'
}

@test "runc's global flags are accepted" {
	run "$HUSK" --root "$HUSK_ROOT" --log "$BATS_TEST_TMPDIR/log" --log-format json --debug \
		--systemd-cgroup features
	assert_success
	run "$HUSK" --log-format xml features
	assert_failure 1
	assert_output --partial 'unknown log format `xml`'
}

@test "--log --log-format json writes runc-style error lines and the message to stderr" {
	run "$HUSK" --root "$HUSK_ROOT" --log "$BATS_TEST_TMPDIR/log" --log-format json state nosuch
	assert_failure 1
	assert_output --partial "husk: state: "
	run jq -r 'select(.level == "error") | .msg' "$BATS_TEST_TMPDIR/log"
	assert_success
	assert_output --partial "state: "
	run jq -r '.time' "$BATS_TEST_TMPDIR/log"
	assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$'
}

@test "verbs on an unknown container fail clearly with status 1" {
	for v in start kill ps pause resume events; do
		run husk "$v" c1
		assert_failure 1
		assert_output --partial 'container `c1` does not exist'
	done
	run husk exec c1 true
	assert_failure 1
	assert_output --partial 'container `c1` does not exist'
	run husk update --pids-limit 10 c1
	assert_failure 1
	assert_output --partial 'container `c1` does not exist'
}

@test "features prints valid JSON with the documented keys" {
	run "$HUSK" features
	assert_success
	echo "$output" | jq -e '.ociVersionMin and .ociVersionMax and (.hooks | length == 6)
		and (.mountOptions | index("rbind")) and (.linux.namespaces | index("pid"))
		and (.linux.capabilities | index("CAP_SYS_ADMIN")) and (.linux.cgroup.v2 == true)
		and (.linux.seccomp.enabled == true) and (.linux.seccomp.actions | index("SCMP_ACT_ERRNO"))
		and (.linux.seccomp.operators | index("SCMP_CMP_MASKED_EQ"))
		and (.linux.seccomp.archs | index("SCMP_ARCH_X86_64"))
		and (.linux.seccomp.knownFlags | length > 0) and (.linux.selinux.enabled == true)
		and (.linux.apparmor.enabled == false) and (.annotations | length > 0)'
}

@test "spec writes a default config.json and refuses to overwrite one" {
	run "$HUSK" spec --bundle "$BATS_TEST_TMPDIR"
	assert_success
	run jq -r '.ociVersion, .root.path, .process.args[0], .hostname' "$BATS_TEST_TMPDIR/config.json"
	assert_output $'1.2.0\nrootfs\nsh\nhusk'
	run "$HUSK" spec --bundle "$BATS_TEST_TMPDIR"
	assert_failure 1
	assert_output --partial "exists; remove it first"
	(cd "$BATS_TEST_TMPDIR/.." && rm -f config.json && "$HUSK" spec && test -f config.json && rm config.json)
}

@test "husk spec output runs under runc" {
	requires root runc busybox
	setup_busybox
	update_config '.process.args = ["sh", "-c", "echo hello from $(hostname)"] | .root.readonly = true'
	run runc --root "$BATS_TEST_TMPDIR/runc" run --bundle "$BUNDLE" husk-spec-$$
	assert_success
	assert_output "hello from husk"
}

@test "runc spec and crun spec output is accepted by husk" {
	requires runc crun
	local r
	for r in runc crun; do
		mkdir -p "$BATS_TEST_TMPDIR/$r"
		(cd "$BATS_TEST_TMPDIR/$r" && "$r" spec)
		HUSK_CONFIG=$NO_KERNEL run husk create --bundle "$BATS_TEST_TMPDIR/$r" c-$r
		assert_failure 1
		# The config passed validation: the refusal is the missing kernel.
		assert_output --partial "the guest kernel \`/nonexistent/vmlinux\`"
	done
}

@test "check names the KVM kind of this host" {
	run "$HUSK" check
	if [ -d /sys/module/kvm_pvm ] && [ -w /dev/kvm ]; then
		assert_failure 1
		assert_line --regexp '^kvm +pvm +PVM: boots only PVM-enabled guest kernels'
	elif [ -w /dev/kvm ]; then
		assert_line --regexp '^kvm +hardware-(vmx|svm)'
	else
		assert_line --regexp '^kvm +none'
	fi
	assert_line --regexp '^virtiofsd '
}

@test "make install honours DESTDIR and PREFIX" {
	run make -C "$HUSK_SRC" install DESTDIR="$BATS_TEST_TMPDIR/dest" PREFIX=/opt/husk
	assert_success
	run "$BATS_TEST_TMPDIR/dest/opt/husk/bin/husk" --version
	assert_success
	assert_line --index 0 --partial "husk version"
	[ -x "$BATS_TEST_TMPDIR/dest/opt/husk/bin/husk-vmm" ]
	# The sVirt module, where `semodule -i` takes it from (policy/husk.cil).
	cmp "$HUSK_SRC/policy/husk.cil" "$BATS_TEST_TMPDIR/dest/opt/husk/share/selinux/packages/husk.cil"
}
