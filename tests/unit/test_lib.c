/* lib/: errors, path joining, number parsing, log line formats, JSON tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/cpulist.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

static int inner(hk_err **err)
{
	return hk_err_set(err, ENOENT, "open `%s`", "/nope");
}

static int test_error_wrap(void)
{
	cleanup_err hk_err *err = NULL;

	CHECK(inner(&err) == -1);
	CHECK(err->code == ENOENT);
	CHECK_STR(err->msg, "open `/nope`: No such file or directory");
	CHECK(hk_err_wrap(&err, "load %s", "config") == -1);
	CHECK_STR(err->msg, "load config: open `/nope`: No such file or directory");
	CHECK(err->code == ENOENT);
	CHECK(hk_err_set(NULL, 0, "ignored") == -1); /* callers may not want the message */
	return 0;
}

static int join_is(const char *root, const char *rel, const char *want)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free char *out = NULL;

	if (hk_path_join(root, rel, &out, &err) < 0) {
		printf("#   join(%s, %s): %s\n", root, rel, err->msg);
		return want == NULL ? 0 : 1;
	}
	if (want == NULL || strcmp(out, want) != 0) {
		printf("#   join(%s, %s) = %s, want %s\n", root, rel, out, want ? want : "error");
		return 1;
	}
	return 0;
}

/* A mount target made in an image's tree stays in it, whatever its
 * symlinks say; what exists is kept. */
static int test_mkpath_in_root(void)
{
	char tmp[] = "/tmp/husk-mkpath-XXXXXX", p[256], q[256];
	struct stat st;
	cleanup_err hk_err *err = NULL;

	CHECK(mkdtemp(tmp) != NULL);
	snprintf(p, sizeof(p), "%s/root", tmp);
	snprintf(q, sizeof(q), "%s/outside", tmp);
	CHECK(mkdir(p, 0755) == 0 && mkdir(q, 0755) == 0);
	snprintf(p, sizeof(p), "%s/root/outside", tmp);
	CHECK(mkdir(p, 0755) == 0);
	/* etc -> the directory beside the root (on the host); abs -> "/". */
	snprintf(p, sizeof(p), "%s/root/etc", tmp);
	CHECK(symlink("../outside", p) == 0);
	snprintf(p, sizeof(p), "%s/root/abs", tmp);
	CHECK(symlink("/", p) == 0);
	snprintf(p, sizeof(p), "%s/root", tmp);
	CHECK(hk_mkpath_in_root(p, "/dev/shm/", true, &err) == 0);
	CHECK(hk_mkpath_in_root(p, "/etc/resolv.conf", false, &err) == 0);
	CHECK(hk_mkpath_in_root(p, "abs/husk-mkpath-test", true, &err) == 0);
	CHECK(hk_mkpath_in_root(p, "/dev/shm", true, &err) == 0); /* there already */
	snprintf(q, sizeof(q), "%s/root/dev/shm", tmp);
	CHECK(stat(q, &st) == 0 && S_ISDIR(st.st_mode));
	/* The links resolve beneath the root: ../outside is root/outside. */
	snprintf(q, sizeof(q), "%s/root/outside/resolv.conf", tmp);
	CHECK(stat(q, &st) == 0 && S_ISREG(st.st_mode));
	snprintf(q, sizeof(q), "%s/outside/resolv.conf", tmp);
	CHECK(stat(q, &st) < 0);
	snprintf(q, sizeof(q), "%s/root/husk-mkpath-test", tmp);
	CHECK(stat(q, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(stat("/husk-mkpath-test", &st) < 0);
	snprintf(q, sizeof(q), "rm -rf '%s'", tmp);
	CHECK(system(q) == 0);
	return 0;
}

static int test_path_join(void)
{
	CHECK(join_is("/r", "a/b", "/r/a/b") == 0);
	CHECK(join_is("/r/", "/a//b/", "/r/a/b") == 0);
	CHECK(join_is("/r", "a/../b", "/r/b") == 0);
	CHECK(join_is("/r", "./a/./b", "/r/a/b") == 0);
	CHECK(join_is("/r", "", "/r") == 0);
	CHECK(join_is("/r", "a/..", "/r") == 0);
	CHECK(join_is("/", "etc", "/etc") == 0);
	CHECK(join_is("/", "..", NULL) == 0);
	CHECK(join_is("/r", "..", NULL) == 0);
	CHECK(join_is("/r", "../etc/passwd", NULL) == 0);
	CHECK(join_is("/r", "a/../../x", NULL) == 0);
	CHECK(join_is("/r", "/..", NULL) == 0);
	CHECK(join_is("/r", "...", "/r/...") == 0); /* a name, not a parent */
	CHECK(join_is("/r", "..a/b", "/r/..a/b") == 0);
	return 0;
}

static int test_numbers(void)
{
	uint64_t u;
	int64_t i;

	CHECK(hk_parse_u64("18446744073709551615", &u) == 0 && u == UINT64_MAX);
	CHECK(hk_parse_u64("18446744073709551616", &u) < 0);
	CHECK(hk_parse_u64("", &u) < 0);
	CHECK(hk_parse_u64("-1", &u) < 0);
	CHECK(hk_parse_u64("12a", &u) < 0);
	CHECK(hk_parse_i64("-9223372036854775808", &i) == 0 && i == INT64_MIN);
	CHECK(hk_parse_i64("-9223372036854775809", &i) < 0);
	CHECK(hk_parse_i64("9223372036854775807", &i) == 0 && i == INT64_MAX);
	CHECK(hk_parse_i64("9223372036854775808", &i) < 0);
	CHECK(hk_parse_i64("-", &i) < 0);
	return 0;
}

static int test_log_lines(void)
{
	cleanup_free char *j =
	        hk_log_format_line(HK_LOG_JSON, HK_LOG_ERROR, "2026-01-02T03:04:05.000000006Z",
	                           "bad \"x\"\n\ttab \x01");
	cleanup_free char *t = hk_log_format_line(HK_LOG_TEXT, HK_LOG_WARN, "T", "hi \"there\"");

	CHECK_STR(j, "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\"\\n\\ttab \\u0001\","
	             "\"time\":\"2026-01-02T03:04:05.000000006Z\"}\n");
	CHECK_STR(t, "time=\"T\" level=warning msg=\"hi \\\"there\\\"\"\n");
	return 0;
}

static int test_log_file(void)
{
	char path[] = "/tmp/husk-test-log-XXXXXX";
	cleanup_close int fd = mkstemp(path);
	cleanup_err hk_err *err = NULL;
	cleanup_free char *buf = NULL;

	CHECK(fd >= 0);
	CHECK(hk_log_open(path, HK_LOG_JSON, HK_LOG_INFO, &err) == 0);
	CHECK(hk_log_to_file());
	hk_debug("hidden");
	hk_error("container %s failed", "c1");
	hk_log_close();
	CHECK(hk_read_file(path, 4096, &buf, NULL, &err) == 0);
	unlink(path);
	CHECK(strstr(buf, "hidden") == NULL);
	CHECK(strncmp(buf, "{\"level\":\"error\",\"msg\":\"container c1 failed\",\"time\":\"",
	              52) == 0);
	CHECK(strchr(buf, '\n') == buf + strlen(buf) - 1);
	return 0;
}

static int test_json_tree(void)
{
	static const char doc[] = "{\"a\":[1,-2,18446744073709551615,true,null,\"s\\u00e9\"],"
	                          "\"b\":{}}";
	cleanup_err hk_err *err = NULL;
	cleanup_json hk_json *j = NULL;

	CHECK(hk_json_parse(doc, sizeof(doc) - 1, NULL, &j, &err) == 0);
	const hk_json *a = hk_json_get(j, "a");
	CHECK(a && a->type == HJ_ARRAY && a->n == 6);
	CHECK_STR(a->vals[2]->s, "18446744073709551615"); /* exact, not a double */
	CHECK(a->vals[3]->type == HJ_BOOL && a->vals[3]->b);
	CHECK(a->vals[4]->type == HJ_NULL);
	CHECK_STR(a->vals[5]->s, "s\xc3\xa9");
	CHECK(hk_json_get(j, "b")->type == HJ_OBJECT);
	CHECK(hk_json_get(j, "c") == NULL);
	return 0;
}

static int test_read_limit(void)
{
	int p[2];
	cleanup_err hk_err *err = NULL;
	char *out = NULL;

	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "0123456789", 10) == 10);
	close(p[1]);
	CHECK(hk_read_all(p[0], 5, &out, NULL, &err) < 0);
	CHECK(err->code == EFBIG);
	close(p[0]);
	return 0;
}

static int test_close_fds(void)
{
	int keep = open("/dev/null", O_RDONLY);
	int drop = open("/dev/null", O_RDONLY);

	CHECK(keep > 2 && drop > 2);
	hk_close_fds_from(3, &keep, 1);
	CHECK(fcntl(keep, F_GETFD) >= 0);
	CHECK(fcntl(drop, F_GETFD) < 0 && errno == EBADF);
	close(keep);
	return 0;
}

static int test_cpulist(void)
{
	cpu_set_t set;
	static const char *const bad[] = {"",   ",",  "1,",   ",1",    "3-1", "a",
	                                  "1-", "-1", "1--2", "99999", "0x1", "1 ,2"};

	CHECK(hk_cpulist_parse("1,3-5", &set, NULL) == 0);
	CHECK(CPU_COUNT(&set) == 4 && CPU_ISSET(1, &set) && CPU_ISSET(5, &set) &&
	      !CPU_ISSET(2, &set));
	CHECK(hk_cpulist_nth(&set, 0) == 1 && hk_cpulist_nth(&set, 3) == 5);
	CHECK(hk_cpulist_nth(&set, 4) == -1);
	CHECK(hk_cpulist_parse("0", &set, NULL) == 0 && CPU_COUNT(&set) == 1);
	for (size_t i = 0; i < HK_ARRAY_SIZE(bad); i++) {
		cleanup_err hk_err *err = NULL;
		if (hk_cpulist_parse(bad[i], &set, &err) == 0) {
			printf("#   accepted `%s`\n", bad[i]);
			return 1;
		}
	}
	return 0;
}

int main(void)
{
	RUN_TEST(test_error_wrap);
	RUN_TEST(test_path_join);
	RUN_TEST(test_mkpath_in_root);
	RUN_TEST(test_numbers);
	RUN_TEST(test_log_lines);
	RUN_TEST(test_log_file);
	RUN_TEST(test_json_tree);
	RUN_TEST(test_read_limit);
	RUN_TEST(test_close_fds);
	RUN_TEST(test_cpulist);
	TAP_DONE();
}
