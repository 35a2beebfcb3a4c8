/* Self-tests the guest runs on itself when the kernel command line names
 * one (husk.selftest=NAME): the lab's proof that the image works, and later
 * the device checks from inside the guest. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "guest-agent/selftest.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static int basic(char *why, size_t len)
{
	struct statfs st;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int cg = statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;

	agent_say("husk-selftest cpus=%ld cgroup2=%s", cpus, cg ? "yes" : "no");
	if (!cg) {
		snprintf(why, len, "cgroup2 is not mounted on /sys/fs/cgroup");
		return -1;
	}
	return 0;
}

/* Stays up a while (husk.sleep=SECONDS, default 3): benchmarks sample the
 * monitor of a booted, idle guest. */
static int idle(char *why, size_t len)
{
	char buf[16];
	unsigned s = 3;

	if (agent_cmdline_get("husk.sleep", buf, sizeof(buf)))
		s = (unsigned)atoi(buf);
	sleep(s);
	return 0;
}

/* A guest that shows it is alive: a line a second, each after a read from
 * the monitor's rng, for husk.sleep seconds (default 3600). The hostile-
 * guest lab test runs one beside the hostile guest and watches the count
 * go on growing. */
static int heartbeat(char *why, size_t len)
{
	char buf[16];
	unsigned s = 3600;
	unsigned char b[16];

	if (agent_cmdline_get("husk.sleep", buf, sizeof(buf)))
		s = (unsigned)atoi(buf);
	for (unsigned i = 1; i <= s; i++) {
		int fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, b, sizeof(b));
		if (fd >= 0)
			close(fd);
		if (n != (ssize_t)sizeof(b)) {
			snprintf(why, len, "read /dev/hwrng at beat %u", i);
			return -1;
		}
		agent_say("husk-selftest heartbeat %u", i);
		sleep(1);
	}
	return 0;
}

static int fail(char *why, size_t len)
{
	snprintf(why, len, "failing on purpose");
	return -1;
}

static const struct {
	const char *name;
	int (*run)(char *why, size_t len);
} tests[] = {
        /* clang-format off */
	{"basic", basic},
	{"fail", fail},
	{"heartbeat", heartbeat},
	{"hostile", selftest_hostile},
	{"idle", idle},
	{"rng", selftest_rng},
	{"blk", selftest_blk},
	{"vsock", selftest_vsock},
	{"fs", selftest_fs},
        /* clang-format on */
};

static int run_one(const char *name)
{
	char why[256] = "";

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(tests[i].name, name) != 0)
			continue;
		if (tests[i].run(why, sizeof(why)) == 0) {
			agent_say("husk-selftest: PASS %s", name);
			return 0;
		}
		agent_say("husk-selftest: FAIL %s: %s", name, why);
		return 1;
	}
	agent_say("husk-selftest: FAIL %s: no such self-test", name);
	return 1;
}

/* name may be a comma-separated list: every test runs, the result is
 * whether all passed. */
int agent_selftest(const char *names)
{
	char list[256];
	int rc = 0;

	snprintf(list, sizeof(list), "%s", names);
	for (char *save = NULL, *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save))
		rc |= run_one(n);
	return rc;
}
