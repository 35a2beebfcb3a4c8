/* runtime/hooks.c: the state JSON reaches the hook on stdin, args and env
 * are passed as given, a failure names the hook and carries its output, a
 * timeout kills it. Real processes (/bin/sh), no mocks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/util.h"
#include "runtime/hooks.h"
#include "tests/unit/tap.h"

/* The OCI model holds argv as char *, as execve takes it; the literals here
 * are never written through (mk/tests.mk builds this file with
 * -Wno-write-strings). */

static char tmpdir[] = "/tmp/husk-hooks-XXXXXX";

/* One hook: sh -c SCRIPT, with ENV when given (NULL-terminated). */
static int run_sh(const char *script, char **env, long timeout, const char *state, hk_err **err)
{
	char *args[] = {"sh", "-c", (char *)script, "hookname", tmpdir, NULL};
	struct oci_hook h = {.path = "/bin/sh"};
	oci_hookv v = {.v = &h, .n = 1, .set = true};

	h.args.v = args;
	h.args.n = 5;
	h.args.set = true;
	if (env) {
		size_t n = 0;
		while (env[n])
			n++;
		h.env.v = env;
		h.env.n = n;
		h.env.set = true;
	}
	if (timeout) {
		h.timeout.set = true;
		h.timeout.v = timeout;
	}
	return rt_hooks_run(&v, "prestart", state, err);
}

static int test_state_on_stdin(void)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free char *got = NULL;
	char path[64];
	size_t len;
	const char *state = "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\"}";

	CHECK(run_sh("cat >\"$1/state\"", NULL, 0, state, &err) == 0);
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	CHECK(hk_read_file(path, 1 << 20, &got, &len, &err) == 0);
	CHECK_STR(got, state);
	return 0;
}

/* A state larger than a pipe's buffer, to a hook that never reads it. */
static int test_hook_ignores_stdin(void)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free char *big = malloc(1 << 20);

	CHECK(big);
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	CHECK(run_sh("exit 0", NULL, 0, big, &err) == 0);
	return 0;
}

static int test_args_and_env(void)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free char *got = NULL;
	char *env[] = {"ONLY=this", NULL};
	char path[64];
	size_t len;

	CHECK(run_sh("echo \"$0 $ONLY $(env | grep -c .)\" >\"$1/env\"", env, 0, "{}", &err) == 0);
	snprintf(path, sizeof(path), "%s/env", tmpdir);
	CHECK(hk_read_file(path, 4096, &got, &len, &err) == 0);
	/* sh adds PWD (and may add SHLVL, _); ONLY is there and PATH is not. */
	CHECK(strncmp(got, "hookname this ", 14) == 0);
	free(got);
	got = NULL;
	CHECK(run_sh("env >\"$1/env\"", env, 0, "{}", &err) == 0);
	CHECK(hk_read_file(path, 4096, &got, &len, &err) == 0);
	CHECK(strstr(got, "ONLY=this\n") != NULL);
	CHECK(strstr(got, "PATH=/") == NULL);
	return 0;
}

static int test_failure_names_hook_and_output(void)
{
	cleanup_err hk_err *err = NULL;

	CHECK(run_sh("echo 'network not ready' >&2; exit 3", NULL, 0, "{}", &err) == -1);
	CHECK_STR(err->msg, "prestart hook 0: `/bin/sh` exited with status 3: network not ready");
	return 0;
}

static int test_timeout_kills(void)
{
	cleanup_err hk_err *err = NULL;
	uint64_t t0 = hk_now_us();

	CHECK(run_sh("exec sleep 30", NULL, 1, "{}", &err) == -1);
	CHECK(err->code == ETIMEDOUT);
	CHECK(strstr(err->msg, "prestart hook 0: timed out after 1 s") != NULL);
	CHECK(hk_now_us() - t0 < 20 * 1000000u); /* killed, not waited out */
	return 0;
}

/* A hook that leaves a daemon holding its stdout is done when it exits. */
static int test_daemonised_child_does_not_block(void)
{
	cleanup_err hk_err *err = NULL;

	CHECK(run_sh("sleep 30 & echo started", NULL, 0, "{}", &err) == 0);
	return 0;
}

static int test_stops_at_first_failure(void)
{
	cleanup_err hk_err *err = NULL;
	char *a1[] = {"sh", "-c", "exit 1", NULL};
	char *a2[] = {"sh", "-c", "touch \"$0\"", NULL, NULL};
	char mark[64];
	struct oci_hook h[2] = {{.path = "/bin/sh"}, {.path = "/bin/sh"}};
	oci_hookv v = {.v = h, .n = 2, .set = true};

	snprintf(mark, sizeof(mark), "%s/second-ran", tmpdir);
	a2[3] = mark;
	h[0].args.v = a1;
	h[0].args.n = 3;
	h[1].args.v = a2;
	h[1].args.n = 4;
	CHECK(rt_hooks_run(&v, "poststop", "{}", &err) == -1);
	CHECK(strncmp(err->msg, "poststop hook 0:", 16) == 0);
	CHECK(access(mark, F_OK) < 0);
	hk_err_free(&err);
	char rel[] = "relative/path";
	h[0].path = rel;
	CHECK(rt_hooks_run(&v, "poststop", "{}", &err) == -1);
	CHECK_STR(err->msg, "poststop hook 0: path must be absolute: Invalid argument");
	return 0;
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	RUN_TEST(test_state_on_stdin);
	RUN_TEST(test_hook_ignores_stdin);
	RUN_TEST(test_args_and_env);
	RUN_TEST(test_failure_names_hook_and_output);
	RUN_TEST(test_timeout_kills);
	RUN_TEST(test_daemonised_child_does_not_block);
	RUN_TEST(test_stops_at_first_failure);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return 1;
	TAP_DONE();
}
