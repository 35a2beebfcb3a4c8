/* runtime/cgroup.c on this host's real cgroups (v1, v2 or hybrid, whichever
 * it has): where a sandbox's cgroup goes, the cpu bandwidth written and
 * rewritten, the monitor and virtiofsd joining their leaves, and removal
 * with both still inside. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/util.h"
#include "runtime/cgroup.h"
#include "tests/unit/tap.h"

static char id[32];

static int read_line(const struct rt_cgroup *cg, const char *file, char *out, size_t len)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", cg->dir, file);
	cleanup_file FILE *f = fopen(path, "re");
	if (f == NULL || fgets(out, (int)len, f) == NULL)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int usable(void)
{
	if (getuid() != 0 || access("/sys/fs/cgroup", W_OK) < 0) {
		printf("# needs root and a writable /sys/fs/cgroup\n");
		return 77;
	}
	return 0;
}

static int test_paths(void)
{
	struct rt_cgroup cg;
	cleanup_err hk_err *e1 = NULL, *e2 = NULL;
	char want[64];

	if (usable())
		return 77;
	CHECK(rt_cgroup_create(NULL, id, &cg, NULL) == 0);
	snprintf(want, sizeof(want), "/husk/%s", id);
	CHECK(strlen(cg.dir) > strlen(want) &&
	      strcmp(cg.dir + strlen(cg.dir) - strlen(want), want) == 0);
	CHECK(rt_cgroup_remove(&cg, 1000, NULL) == 0);
	CHECK(access(cg.dir, F_OK) < 0 && errno == ENOENT);

	char sd[64];
	snprintf(sd, sizeof(sd), "husk-test.slice:husk:%s", id);
	CHECK(rt_cgroup_create(sd, id, &cg, NULL) == 0);
	snprintf(want, sizeof(want), "/husk-test.slice/husk-%s", id);
	CHECK(strcmp(cg.dir + strlen(cg.dir) - strlen(want), want) == 0);
	CHECK(rt_cgroup_remove(&cg, 1000, NULL) == 0);
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%.*s", (int)(strlen(cg.dir) - strlen(want) + 16), cg.dir);
	rmdir(parent);

	CHECK(rt_cgroup_create("/husk/../../etc", id, &cg, &e1) < 0);
	CHECK_STR(e1->msg, "cgroupsPath `/husk/../../etc`: `..` is not allowed: Invalid argument");
	CHECK(rt_cgroup_create("a:b", id, &cg, &e2) < 0);
	CHECK(strstr(e2->msg, "want slice:prefix:name") != NULL);
	return 0;
}

static int test_cpu_bandwidth(void)
{
	struct rt_cgroup cg;
	char v[64];

	if (usable())
		return 77;
	CHECK(rt_cgroup_create(NULL, id, &cg, NULL) == 0);
	struct oci_cpu c = {
	        .quota = {.set = true, .v = 50000},
	        .period = {.set = true, .v = 100000},
	        .shares = {.set = true, .v = 512},
	};
	CHECK(rt_cgroup_set_cpu(&cg, &c, NULL) == 0);
	if (cg.v2) {
		CHECK(read_line(&cg, "cpu.max", v, sizeof(v)) == 0);
		CHECK_STR(v, "50000 100000");
		CHECK(read_line(&cg, "cpu.weight", v, sizeof(v)) == 0);
		CHECK_STR(v, "20"); /* runc's mapping: 1 + (512 - 2) * 9999 / 262142 */
	} else {
		CHECK(read_line(&cg, "cpu.cfs_quota_us", v, sizeof(v)) == 0);
		CHECK_STR(v, "50000");
		CHECK(read_line(&cg, "cpu.cfs_period_us", v, sizeof(v)) == 0);
		CHECK_STR(v, "100000");
		CHECK(read_line(&cg, "cpu.shares", v, sizeof(v)) == 0);
		CHECK_STR(v, "512");
	}
	/* Live: a shorter period than the old quota, which needs the quota
	 * lifted first under v1; then no limit at all. */
	struct oci_cpu d = {.quota = {.set = true, .v = 20000},
	                    .period = {.set = true, .v = 40000}};
	CHECK(rt_cgroup_set_cpu(&cg, &d, NULL) == 0);
	if (cg.v2) {
		CHECK(read_line(&cg, "cpu.max", v, sizeof(v)) == 0);
		CHECK_STR(v, "20000 40000");
	} else {
		CHECK(read_line(&cg, "cpu.cfs_quota_us", v, sizeof(v)) == 0);
		CHECK_STR(v, "20000");
		CHECK(read_line(&cg, "cpu.cfs_period_us", v, sizeof(v)) == 0);
		CHECK_STR(v, "40000");
	}
	struct oci_cpu u = {.quota = {.set = true, .v = -1}};
	CHECK(rt_cgroup_set_cpu(&cg, &u, NULL) == 0);
	CHECK(read_line(&cg, cg.v2 ? "cpu.max" : "cpu.cfs_quota_us", v, sizeof(v)) == 0);
	CHECK(strncmp(v, cg.v2 ? "max" : "-1", cg.v2 ? 3 : 2) == 0);
	/* A burst where the kernel has it. */
	char burst[PATH_MAX + 32];
	snprintf(burst, sizeof(burst), "%s/%s", cg.dir,
	         cg.v2 ? "cpu.max.burst" : "cpu.cfs_burst_us");
	if (access(burst, F_OK) == 0) {
		struct oci_cpu b = {.quota = {.set = true, .v = 50000},
		                    .period = {.set = true, .v = 100000},
		                    .burst = {.set = true, .v = 10000}};
		CHECK(rt_cgroup_set_cpu(&cg, &b, NULL) == 0);
		CHECK(read_line(&cg, cg.v2 ? "cpu.max.burst" : "cpu.cfs_burst_us", v, sizeof(v)) ==
		      0);
		CHECK_STR(v, "10000");
	}
	CHECK(rt_cgroup_remove(&cg, 1000, NULL) == 0);
	return 0;
}

/* A child that joins the monitor's leaf, or (as virtiofsd does) writes
 * itself into the virtiofsd leaf's cgroup.procs, then waits to be killed. */
static pid_t spawn_in(const struct rt_cgroup *cg, const char *vfs_procs)
{
	int sync[2];
	char c;

	if (pipe(sync) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int fd = vfs_procs ? open(vfs_procs, O_WRONLY) : -1;
		if (vfs_procs ? fd < 0 || write(fd, "0", 1) != 1 : rt_cgroup_join_self(cg) < 0)
			_exit(1);
		(void)!write(sync[1], "j", 1);
		for (;;)
			pause();
	}
	close(sync[1]);
	if (pid < 0 || read(sync[0], &c, 1) != 1)
		pid = -1;
	close(sync[0]);
	return pid;
}

static bool listed(const char *procs, pid_t pid)
{
	cleanup_file FILE *f = fopen(procs, "re");
	int p;

	while (f && fscanf(f, "%d", &p) == 1)
		if (p == pid)
			return true;
	return false;
}

/* The monitor joins its leaf before it execs, virtiofsd the leaf beside it;
 * removal ends what is left in either and takes the leaves and the
 * sandbox's cgroup away. */
static int test_join_and_remove(void)
{
	struct rt_cgroup cg;
	char procs[PATH_MAX + 32], leaf[3][PATH_MAX + 16];
	int status;

	if (usable())
		return 77;
	CHECK(rt_cgroup_create(NULL, id, &cg, NULL) == 0);
	unsigned n = rt_cgroup_leaf_dirs(&cg, RT_CGROUP_VIRTIOFSD, leaf);
	CHECK(n >= 1 && n <= 3);
	snprintf(procs, sizeof(procs), "%s/" RT_CGROUP_VIRTIOFSD, cg.dir);
	CHECK_STR(leaf[0], procs);
	for (unsigned i = 0; i < n; i++)
		CHECK(access(leaf[i], F_OK) == 0);

	pid_t vmm = spawn_in(&cg, NULL);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", leaf[0]);
	pid_t vfs = spawn_in(&cg, procs);
	CHECK(vmm > 0 && vfs > 0);
	CHECK(listed(procs, vfs) && !listed(procs, vmm));
	snprintf(procs, sizeof(procs), "%s/" RT_CGROUP_VMM "/cgroup.procs", cg.dir);
	CHECK(listed(procs, vmm) && !listed(procs, vfs));

	CHECK(rt_cgroup_remove(&cg, 5000, NULL) == 0);
	CHECK(waitpid(vmm, &status, 0) == vmm && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGKILL);
	CHECK(waitpid(vfs, &status, 0) == vfs && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGKILL);
	CHECK(access(cg.dir, F_OK) < 0);
	for (unsigned i = 0; i < n; i++)
		CHECK(access(leaf[i], F_OK) < 0);
	return 0;
}

int main(void)
{
	snprintf(id, sizeof(id), "unit-%d", (int)getpid());
	RUN_TEST(test_paths);
	RUN_TEST(test_cpu_bandwidth);
	RUN_TEST(test_join_and_remove);
	TAP_DONE();
}
