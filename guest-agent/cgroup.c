/* The container's cgroup inside the guest: cgroup v2 only (the guest
 * kernel has nothing else), one directory per container under the root,
 * limits from linux.resources converted the way runc converts v1-style
 * values for a v2 host. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-agent/ctr.h"
#include "lib/util.h"

int cgroup_write(const char *path, const char *file, const char *val, hk_err **err)
{
	char p[1400];
	snprintf(p, sizeof(p), "%s/%s", path, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_err_set(err, errno, "cgroup: open `%s`", p);
	ssize_t n = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	if (n < 0)
		return hk_err_set(err, e, "cgroup: write `%s` to %s", val, file);
	return 0;
}

int cgroup_create(const char *path, hk_err **err)
{
	/* Controllers must be enabled in the parent for the child to have
	 * them; the agent itself stays in the root, which v2 allows. */
	static const char *const ctrls[] = {"+cpu", "+memory", "+pids", "+io", "+cpuset"};
	for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++) {
		hk_err *ignore = NULL;
		cgroup_write(AGENT_CGROUP, "cgroup.subtree_control", ctrls[i], &ignore);
		hk_err_free(&ignore);
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return hk_err_set(err, errno, "cgroup `%s`", path);
	return 0;
}

static int put(const char *path, const char *file, hk_err **err, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int put(const char *path, const char *file, hk_err **err, const char *fmt, ...)
{
	char v[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return cgroup_write(path, file, v, err);
}

int cgroup_apply(const char *path, const struct oci_resources *r, hk_err **err)
{
	if (r == NULL)
		return 0;
	if (r->memory) {
		const struct oci_memory *m = r->memory;
		if (m->limit.set && put(path, "memory.max", err,
		                        m->limit.v < 0 ? "max" : "%" PRId64, m->limit.v) < 0)
			return hk_err_wrap(err, "linux.resources.memory.limit");
		if (m->reservation.set && put(path, "memory.low", err, "%" PRId64,
		                              m->reservation.v < 0 ? 0 : m->reservation.v) < 0)
			return hk_err_wrap(err, "linux.resources.memory.reservation");
		/* v1's swap is memory+swap; v2's is swap alone. */
		if (m->swap.set && m->limit.set) {
			int64_t sw =
			        m->swap.v < 0 ? -1 : m->swap.v - (m->limit.v < 0 ? 0 : m->limit.v);
			if (put(path, "memory.swap.max", err, sw < 0 ? "max" : "%" PRId64, sw) < 0)
				hk_err_free(err); /* no swap in the guest: nothing to limit */
		}
	}
	if (r->pids && r->pids->limit.set &&
	    put(path, "pids.max", err, r->pids->limit.v <= 0 ? "max" : "%" PRId64,
	        r->pids->limit.v) < 0)
		return hk_err_wrap(err, "linux.resources.pids.limit");
	if (r->cpu) {
		const struct oci_cpu *c = r->cpu;
		if (c->shares.set && c->shares.v) {
			uint64_t w = 1 + ((c->shares.v - 2) * 9999) / 262142;
			if (put(path, "cpu.weight", err, "%" PRIu64, w) < 0)
				return hk_err_wrap(err, "linux.resources.cpu.shares");
		}
		if (c->quota.set || c->period.set) {
			uint64_t period = c->period.set && c->period.v ? c->period.v : 100000;
			int r2 = c->quota.set && c->quota.v > 0
			                 ? put(path, "cpu.max", err, "%" PRId64 " %" PRIu64,
			                       c->quota.v, period)
			                 : put(path, "cpu.max", err, "max %" PRIu64, period);
			if (r2 < 0)
				return hk_err_wrap(err, "linux.resources.cpu.quota");
		}
		/* cpus and mems name host CPUs and nodes: they place the vCPU
		 * threads and guest memory (husk-vmm --cpu-list, --mems), as
		 * Kata applies them to the sandbox; inside the guest every
		 * vCPU is the container's. */
	}
	if (r->block_io && r->block_io->weight.set && r->block_io->weight.v) {
		hk_err *ignore = NULL;
		/* io.weight needs an I/O scheduler with weights; skip where absent. */
		put(path, "io.bfq.weight", &ignore, "%" PRIu64, r->block_io->weight.v);
		hk_err_free(&ignore);
	}
	for (size_t i = 0; i < r->unified.n; i++) {
		const char *k = r->unified.v[i].key;
		if (strchr(k, '/') || strcmp(k, "..") == 0)
			return hk_err_set(err, EINVAL, "linux.resources.unified `%s`", k);
		if (cgroup_write(path, k, r->unified.v[i].value, err) < 0)
			return hk_err_wrap(err, "linux.resources.unified");
	}
	return 0;
}
