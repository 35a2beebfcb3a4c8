#!/usr/bin/env bats
# Broken and hostile config.json files: `husk create` must fail with status 1
# and one error that names the JSON path, and leave nothing behind.

load helpers

setup() {
	common_setup
	setup_busybox
	snapshot_host
}

# bad_config JQ-FILTER EXPECTED-MESSAGE-PART
bad_config() {
	update_config "$1"
	run husk --log "$BATS_TEST_TMPDIR/log" --log-format json create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "$2"
	# Exactly one error line in the log, and it carries the same message.
	run jq -r 'select(.level == "error") | .msg' "$BATS_TEST_TMPDIR/log"
	assert_equal "${#lines[@]}" 1
	assert_output --partial "$2"
	assert_nothing_leaked
}

@test "wrong type in process.args names the element" {
	bad_config '.process.args = ["sh", "-c", 7]' 'process.args[2]: expected a string, got number'
}
@test "missing ociVersion" { bad_config 'del(.ociVersion)' 'ociVersion: required field is missing'; }
@test "missing root" { bad_config 'del(.root)' 'root: required field is missing'; }
@test "missing process.cwd" { bad_config 'del(.process.cwd)' 'process.cwd: required field is missing'; }
@test "relative process.cwd" { bad_config '.process.cwd = "tmp"' 'process.cwd: must be an absolute path'; }
@test "empty process.args" { bad_config '.process.args = []' 'process.args: must not be empty'; }
@test "uid too large" { bad_config '.process.user.uid = 4294967296' 'process.user.uid: 4294967296 out of range'; }
@test "negative gid" { bad_config '.process.user.gid = -5' 'process.user.gid: must not be negative'; }
@test "fractional uid" { bad_config '.process.user.uid = 0.5' 'process.user.uid: expected an integer'; }
@test "huge rlimit" { bad_config '.process.rlimits[0].hard = 1e30' 'process.rlimits[0].hard: expected an integer'; }
@test "unknown rlimit" { bad_config '.process.rlimits[0].type = "RLIMIT_X"' 'process.rlimits[0].type: unknown value'; }
@test "oomScoreAdj out of range" { bad_config '.process.oomScoreAdj = -1001' 'process.oomScoreAdj: -1001 out of range'; }
@test "terminal as a string" { bad_config '.process.terminal = "false"' 'process.terminal: expected a boolean'; }
@test "capabilities as a string" { bad_config '.process.capabilities.bounding = "CAP_KILL"' 'process.capabilities.bounding: expected an array'; }
@test "mounts as an object" { bad_config '.mounts = {}' 'mounts: expected an array, got object'; }
@test "mount without destination" { bad_config 'del(.mounts[2].destination)' 'mounts[2].destination: required field is missing'; }
@test "mount option null" { bad_config '.mounts[1].options[0] = null' 'mounts[1].options[0]: expected a string, got null'; }
@test "relative hook path" { bad_config '.hooks = {prestart: [{path: "hook"}]}' 'hooks.prestart[0].path: must be an absolute path'; }
@test "annotation not a string" { bad_config '.annotations = {"a": 1}' 'annotations.a: expected a string, got number'; }
@test "unknown namespace" { bad_config '.linux.namespaces[0].type = "pidns"' 'linux.namespaces[0].type: unknown value "pidns"'; }
@test "seccomp arg index 6" {
	bad_config '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["read"], action: "SCMP_ACT_ERRNO", args: [{index: 6, value: 0, op: "SCMP_CMP_EQ"}]}]}' \
		'linux.seccomp.syscalls[0].args[0].index: 6 out of range [0, 5]'
}
@test "seccomp unknown action" { bad_config '.linux.seccomp = {defaultAction: "SCMP_ACT_MAYBE"}' 'linux.seccomp.defaultAction: unknown value'; }
@test "memory limit as a string" { bad_config '.linux.resources.memory = {limit: "1G"}' 'linux.resources.memory.limit: expected a number, got string'; }
@test "device rule without allow" { bad_config '.linux.resources.devices[0] |= del(.allow)' 'linux.resources.devices[0].allow: required field is missing'; }
@test "pids without limit" { bad_config '.linux.resources.pids = {}' 'linux.resources.pids.limit: required field is missing'; }
@test "hostname too long" { bad_config '.hostname = ("x" * 65)' 'hostname: longer than 64 bytes'; }
@test "rootfsPropagation unknown" { bad_config '.linux.rootfsPropagation = "sideways"' 'linux.rootfsPropagation: unknown value'; }
@test "uid mapping without size" { bad_config '.linux.uidMappings = [{containerID: 0, hostID: 1000}]' 'linux.uidMappings[0].size: required field is missing'; }
@test "sysctl value not a string" { bad_config '.linux.sysctl = {"net.ipv4.ip_forward": 1}' 'linux.sysctl.net.ipv4.ip_forward: expected a string'; }


@test "scheduling annotation out of range" { bad_config '.annotations = {"io.husk.affinity": "sideways"}' 'io.husk.affinity: affinity `sideways`: static or adaptive'; }
@test "priority annotation out of range" { bad_config '.annotations = {"io.husk.priority": "100"}' 'io.husk.priority: priority `100`: want 0 to 99'; }
@test "cpuset cpus malformed" { bad_config '.linux.resources.cpu = {cpus: "2-1"}' 'linux.resources.cpu.cpus: CPU list `2-1`: bad element `2-1`'; }
@test "duplicate keys" {
	printf '{"ociVersion":"1.2.0","root":{"path":"rootfs"},"root":{"path":"/"}}' >"$BUNDLE/config.json"
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "root: duplicate key"
	assert_nothing_leaked
}

@test "invalid UTF-8" {
	printf '{"ociVersion":"1.2.0","root":{"path":"rootfs"},"hostname":"\xff\xfe"}' >"$BUNDLE/config.json"
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "hostname: invalid JSON"
	assert_nothing_leaked
}

@test "truncated document" {
	head -c 100 "$BUNDLE/config.json" >"$BUNDLE/c" && mv "$BUNDLE/c" "$BUNDLE/config.json"
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "invalid JSON"
	assert_nothing_leaked
}

@test "deep nesting" {
	{ printf '{"annotations":'; head -c 200000 /dev/zero | tr '\0' '['; } >"$BUNDLE/config.json"
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "nested too deeply"
	assert_nothing_leaked
}

@test "a 10 MB string" {
	{ printf '{"ociVersion":"1.2.0","root":{"path":"rootfs"},"hostname":"'; head -c 10485760 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$BUNDLE/config.json"
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "hostname: string too long"
	assert_nothing_leaked
}

@test "a config larger than 32 MiB" {
	head -c 34000000 /dev/zero | tr '\0' ' ' >"$BUNDLE/config.json"
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "larger than"
	assert_nothing_leaked
}

@test "no config.json at all" {
	rm "$BUNDLE/config.json"
	run husk create --bundle "$BUNDLE" c1
	assert_failure 1
	assert_output --partial "config.json\`: No such file or directory"
	assert_nothing_leaked
}

@test "every engine's config.json passes validation" {
	local f
	for f in containerd-ctr-tty cri-sandbox docker-run podman-run; do
		cp "$FIXTURES/$f.json" "$BUNDLE/config.json"
		HUSK_CONFIG=$NO_KERNEL run husk create --bundle "$BUNDLE" "c-$f"
		assert_failure 1
		assert_output --partial "the guest kernel \`/nonexistent/vmlinux\`"
	done
	# A CRI pod's container runs in its sandbox's VM: a sandbox that is not
	# a husk container in this root is refused, with the reason.
	cp "$FIXTURES/cri-container.json" "$BUNDLE/config.json"
	HUSK_CONFIG=$NO_KERNEL run husk create --bundle "$BUNDLE" c-cri-container
	assert_failure 1
	assert_output --partial "io.kubernetes.cri.sandbox-id: the pod's sandbox: container \`de2a4cb94340b3edfd7ef5085b68fffa9cc9617dbfd59cf7c948d2365446ef1a\` does not exist"
	run husk state c-cri-container
	assert_failure 1
	assert_nothing_leaked
}

@test "a pid namespace by path that is no husk container's is refused before a VM boots" {
	bad_config '.linux.namespaces |= map(if .type == "pid" then .path = "/proc/1/ns/pid" else . end)' \
		"joining another container's pid namespace (\`/proc/1/ns/pid\`) is not supported: each husk container is a VM of its own"
}
@test "an ipc namespace by path that is no husk container's is refused before a VM boots" {
	bad_config '.linux.namespaces |= map(if .type == "ipc" then .path = "/proc/1/ns/ipc" else . end)' \
		"joining another container's ipc namespace (\`/proc/1/ns/ipc\`) is not supported"
}
