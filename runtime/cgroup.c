#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_ROOT "/sys/fs/cgroup"

static int write_str(const char *dir, const char *file, const char *v, hk_err **err)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, v, strlen(v)) < 0)
		return hk_err_set(err, errno, "write `%s` to `%s`", v, path);
	return 0;
}

/* The cgroup's path below the hierarchy's root, never escaping it. */
static int relative_path(const char *cgroups_path, const char *id, char *out, size_t len,
                         hk_err **err)
{
	int n;

	if (cgroups_path == NULL || *cgroups_path == '\0') {
		n = snprintf(out, len, "husk/%s", id);
	} else if (*cgroups_path != '/' && strchr(cgroups_path, ':')) {
		/* systemd's "slice:prefix:name"; without systemd (these hosts
		 * have none) it is a plain path, as runc's cgroupfs driver makes
		 * of it. */
		const char *a = cgroups_path, *b = strchr(a, ':'), *c = strchr(b + 1, ':');
		if (c == NULL)
			return hk_err_set(err, EINVAL, "cgroupsPath `%s`: want slice:prefix:name",
			                  cgroups_path);
		n = snprintf(out, len, "%.*s/%.*s-%s", (int)(b - a), *a ? a : "system.slice",
		             (int)(c - b - 1), b + 1, c + 1);
	} else {
		n = snprintf(out, len, "%s", cgroups_path + (*cgroups_path == '/'));
	}
	if (n < 0 || (size_t)n >= len)
		return hk_err_set(err, ENAMETOOLONG, "cgroupsPath `%s`", cgroups_path);
	size_t l = strlen(out);
	if (strcmp(out, "..") == 0 || strncmp(out, "../", 3) == 0 || strstr(out, "/../") ||
	    (l >= 3 && strcmp(out + l - 3, "/..") == 0))
		return hk_err_set(err, EINVAL, "cgroupsPath `%s`: `..` is not allowed",
		                  cgroups_path);
	return 0;
}

/* Under v2 a controller must be enabled in every ancestor's
 * subtree_control for a child to have its files. */
static int enable(const char *rel, const char *ctl, hk_err **err)
{
	char dir[PATH_MAX];
	size_t n = (size_t)snprintf(dir, sizeof(dir), "%s", CG_ROOT);

	for (const char *p = rel;;) {
		cleanup_err hk_err *e = NULL;
		if (write_str(dir, "cgroup.subtree_control", ctl, &e) < 0)
			return hk_err_set(err, e->code, "enable the %s controller in `%s`", ctl + 1,
			                  dir);
		const char *slash = strchr(p, '/');
		if (slash == NULL)
			return 0; /* dir is now the parent of the leaf */
		n += (size_t)snprintf(dir + n, sizeof(dir) - n, "/%.*s", (int)(slash - p), p);
		p = slash + 1;
	}
}

/* cpu is required (the container's reservation); memory and pids are
 * enabled where the host offers them, and their limits say so if not. */
static int enable_v2(const char *rel, hk_err **err)
{
	cleanup_err hk_err *e = NULL;

	if (enable(rel, "+cpu", err) < 0)
		return -1;
	if (enable(rel, "+memory", &e) < 0 || enable(rel, "+pids", &e) < 0)
		hk_warn("cgroup: %s", e->msg);
	return 0;
}

static const char *const leaves[] = {RT_CGROUP_VMM, RT_CGROUP_VIRTIOFSD};

/* The sandbox's cgroup at dir, with its two leaves. */
static int make_leaves(const char *dir, hk_err **err)
{
	char path[PATH_MAX + 16];

	for (size_t i = 0; i < HK_ARRAY_SIZE(leaves); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, leaves[i]) >= (int)sizeof(path))
			return hk_err_set(err, ENAMETOOLONG, "cgroup `%s`", dir);
		if (hk_mkdir_p(path, 0755, err) < 0)
			return hk_err_wrap(err, "cgroup");
	}
	return 0;
}

/* v1 and hybrid: the cgroup under another controller's hierarchy, when
 * the host mounted it. */
static int create_v1(const char *ctl, const char *rel, char *out, size_t len, hk_err **err)
{
	char h[64];
	struct stat st;

	snprintf(h, sizeof(h), "%s/%s", CG_ROOT, ctl);
	out[0] = '\0';
	if (stat(h, &st) < 0)
		return 0;
	if (snprintf(out, len, "%s/%s", h, rel) >= (int)len)
		return hk_err_set(err, ENAMETOOLONG, "cgroup `%s/%s`", h, rel);
	return make_leaves(out, err);
}

int rt_cgroup_create(const char *cgroups_path, const char *id, struct rt_cgroup *cg, hk_err **err)
{
	char rel[PATH_MAX - 64];
	struct statfs fs;
	struct stat st;

	memset(cg, 0, sizeof(*cg));
	if (relative_path(cgroups_path, id, rel, sizeof(rel), err) < 0)
		return -1;
	if (statfs(CG_ROOT, &fs) < 0)
		return hk_err_set(err, errno, "cgroups: `%s`", CG_ROOT);
	cg->v2 = fs.f_type == CGROUP2_SUPER_MAGIC;
	if (cg->v2) {
		snprintf(cg->dir, sizeof(cg->dir), "%s/%s", CG_ROOT, rel);
		if (make_leaves(cg->dir, err) < 0)
			return -1;
		/* Down to the sandbox's own subtree_control: its leaves get the
		 * controllers (and their own accounting). */
		char leaf[PATH_MAX];
		snprintf(leaf, sizeof(leaf), "%s/" RT_CGROUP_VMM, rel);
		return enable_v2(leaf, err);
	}
	/* v1 or hybrid: the cpu controller's own hierarchy. */
	const char *h = stat(CG_ROOT "/cpu", &st) == 0 ? CG_ROOT "/cpu" : CG_ROOT "/cpu,cpuacct";
	if (stat(h, &st) < 0)
		return hk_err_set(err, ENOENT, "cgroups: no cpu controller under %s", CG_ROOT);
	snprintf(cg->dir, sizeof(cg->dir), "%s/%s", h, rel);
	if (make_leaves(cg->dir, err) < 0)
		return -1;
	if (create_v1("memory", rel, cg->mem_dir, sizeof(cg->mem_dir), err) < 0 ||
	    create_v1("pids", rel, cg->pids_dir, sizeof(cg->pids_dir), err) < 0)
		return -1;
	return 0;
}

static int write_u64(const char *dir, const char *file, uint64_t v, hk_err **err)
{
	char s[24];
	snprintf(s, sizeof(s), "%" PRIu64, v);
	return write_str(dir, file, s, err);
}

/* runc's mapping of cpu.shares (2..262144) onto cpu.weight (1..10000). */
static uint64_t shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

int rt_cgroup_set_cpu(const struct rt_cgroup *cg, const struct oci_cpu *c, hk_err **err)
{
	if (c == NULL || cg->dir[0] == '\0')
		return 0;
	const char *d = cg->dir;
	bool quota = c->quota.set && c->quota.v != 0, period = c->period.set && c->period.v != 0;
	if (cg->v2) {
		if (c->shares.set && c->shares.v &&
		    write_u64(d, "cpu.weight", shares_to_weight(c->shares.v), err) < 0)
			return -1;
		if (quota || period) {
			char max[48];
			uint64_t p = period ? c->period.v : 100000;
			if (quota && c->quota.v > 0)
				snprintf(max, sizeof(max), "%" PRId64 " %" PRIu64, c->quota.v, p);
			else
				snprintf(max, sizeof(max), "max %" PRIu64, p);
			if (write_str(d, "cpu.max", max, err) < 0)
				return -1;
		}
		if (c->burst.set && write_u64(d, "cpu.max.burst", c->burst.v, err) < 0)
			return -1;
		return 0;
	}
	if (c->shares.set && c->shares.v && write_u64(d, "cpu.shares", c->shares.v, err) < 0)
		return -1;
	if (period) {
		cleanup_err hk_err *e = NULL;
		/* The old quota may not fit the new period: lift it and retry. */
		if (write_u64(d, "cpu.cfs_period_us", c->period.v, &e) < 0 &&
		    (write_str(d, "cpu.cfs_quota_us", "-1", err) < 0 ||
		     write_u64(d, "cpu.cfs_period_us", c->period.v, err) < 0))
			return -1;
	}
	if (quota) {
		char q[24];
		snprintf(q, sizeof(q), "%" PRId64, c->quota.v > 0 ? c->quota.v : -1);
		if (write_str(d, "cpu.cfs_quota_us", q, err) < 0)
			return -1;
	}
	if (c->burst.set && write_u64(d, "cpu.cfs_burst_us", c->burst.v, err) < 0)
		return -1;
	return 0;
}

int rt_cgroup_set_vm_limits(const struct rt_cgroup *cg, uint64_t guest_mib, unsigned vcpus,
                            hk_err **err)
{
	uint64_t mem = (guest_mib + RT_CGROUP_OVERHEAD_MIB) << 20;
	uint64_t pids = RT_CGROUP_PIDS_BASE + vcpus;

	if (cg->dir[0] == '\0')
		return 0;
	if (cg->v2)
		return write_u64(cg->dir, "memory.max", mem, err) < 0 ||
		                       write_u64(cg->dir, "pids.max", pids, err) < 0
		               ? -1
		               : 0;
	if (cg->mem_dir[0] && write_u64(cg->mem_dir, "memory.limit_in_bytes", mem, err) < 0)
		return -1;
	if (cg->pids_dir[0] && write_u64(cg->pids_dir, "pids.max", pids, err) < 0)
		return -1;
	return 0;
}

static int join_one(const char *dir)
{
	return dir[0] == '\0' ? 0 : hk_cgroup_enter(dir, RT_CGROUP_VMM);
}

int rt_cgroup_join_self(const struct rt_cgroup *cg)
{
	if (join_one(cg->dir) < 0 || join_one(cg->mem_dir) < 0 || join_one(cg->pids_dir) < 0)
		return -1;
	return 0;
}

/* SIGKILL to every process still listed. */
static void kill_all(const char *dir)
{
	char path[PATH_MAX + 16];
	cleanup_file FILE *f = NULL;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 1)
			kill(pid, SIGKILL);
}

unsigned rt_cgroup_leaf_dirs(const struct rt_cgroup *cg, const char *leaf,
                             char out[][PATH_MAX + 16])
{
	const char *dirs[] = {cg->dir, cg->mem_dir, cg->pids_dir};
	unsigned n = 0;

	for (size_t i = 0; i < HK_ARRAY_SIZE(dirs); i++)
		if (dirs[i][0])
			snprintf(out[n++], PATH_MAX + 16, "%s/%s", dirs[i], leaf);
	return n;
}

static int remove_one(const char *dir, int timeout_ms, hk_err **err);

/* The leaves first: a cgroup goes only once it has no children. A sandbox
 * from before the leaves has none (ENOENT). */
static int remove_tree(const char *dir, int timeout_ms, hk_err **err)
{
	char leaf[PATH_MAX + 16];

	if (dir[0] == '\0')
		return 0;
	for (size_t i = 0; i < HK_ARRAY_SIZE(leaves); i++) {
		snprintf(leaf, sizeof(leaf), "%s/%s", dir, leaves[i]);
		if (remove_one(leaf, timeout_ms, err) < 0)
			return -1;
	}
	return remove_one(dir, timeout_ms, err);
}

int rt_cgroup_remove(const struct rt_cgroup *cg, int timeout_ms, hk_err **err)
{
	/* The cpu hierarchy last: it is the one on record in any state. */
	if (remove_tree(cg->mem_dir, timeout_ms, err) < 0 ||
	    remove_tree(cg->pids_dir, timeout_ms, err) < 0)
		return -1;
	return remove_tree(cg->dir, timeout_ms, err);
}

static int remove_one(const char *dir, int timeout_ms, hk_err **err)
{
	if (dir[0] == '\0')
		return 0;
	uint64_t deadline = hk_now_us() + (uint64_t)timeout_ms * 1000;
	for (;;) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || hk_now_us() > deadline)
			return hk_err_set(err, errno, "remove cgroup `%s`", dir);
		kill_all(dir);
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
}
