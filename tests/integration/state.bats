#!/usr/bin/env bats
# state, list and delete against the state directory (--root).

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
}

# A container's state as create leaves it, for a monitor that is gone.
fake_state() {
	mkdir -p "$HUSK_ROOT/$1"
	printf '{"ociVersion":"1.2.0","id":"%s","status":"%s","pid":%s,"bundle":"%s"}' \
		"$1" "$2" "$3" "$4" >"$HUSK_ROOT/$1/state.json"
}

@test "list shows nothing in an empty root, as a table and as JSON" {
	run husk list
	assert_success
	assert_output --regexp '^ID +PID +STATUS +BUNDLE +CREATED +OWNER$'
	run husk list --format json
	assert_output "[]"
	run husk list --quiet
	assert_output ""
	run "$HUSK" --root "$BATS_TEST_TMPDIR/none" list --format json
	assert_output "[]"
	run husk list --format xml
	assert_failure 1
}

@test "state and list read what the state directory holds; a broken one is skipped" {
	fake_state c1 created 42 "/bundles/one"
	fake_state c2 running 43 '/bundles/with \"quote'
	mkdir -p "$HUSK_ROOT/broken" && echo garbage >"$HUSK_ROOT/broken/state.json"
	run husk state c1
	assert_success
	# No monitor runs for it (no husk.json with its start time): stopped.
	echo "$output" | jq -e '.id == "c1" and .status == "stopped" and .pid == 0 and .bundle == "/bundles/one"'
	run --separate-stderr husk list --format json
	assert_success
	assert_equal "$(grep -c 'skipping `broken`' <<<"$stderr")" 1
	echo "$output" | jq -e 'length == 2 and .[0].id == "c1" and .[1].bundle == "/bundles/with \"quote"'
	run --separate-stderr husk list --quiet
	assert_line --index 0 c1
	assert_line --index 1 c2
	run husk state broken
	assert_failure 1
	assert_output --partial "broken/state.json: (document): invalid JSON"
}

@test "state and delete of an unknown container fail; delete --force of one succeeds" {
	run husk state nosuch
	assert_failure 1
	assert_output --partial 'state: container `nosuch` does not exist'
	run husk delete nosuch
	assert_failure 1
	assert_output --partial 'delete: container `nosuch` does not exist'
	run husk delete --force nosuch
	assert_success
	assert_output ""
}

@test "container IDs that are not names are refused before they touch a path" {
	for id in ../etc . .. 'a/b' 'x y' ''; do
		run husk state "$id"
		assert_failure 1
		assert_output --partial "invalid container ID"
		run husk delete --force "$id"
		assert_failure 1
	done
}
