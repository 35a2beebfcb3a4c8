/* Work stealing across sandboxes, with no daemon: every balancer in steal
 * mode maps one small table (a file under /run/husk) and, under flock(2),
 * publishes its threads (CPU, run delay, allowed CPUs) and then looks for
 * CPUs that went idle. For each idle CPU it may use and that no balancer has
 * claimed lately, it finds the CPU whose threads wait the most and, of
 * those, the thread that waits the most and may run on the idle CPU. If
 * that thread is its own it moves it and claims the idle CPU for a few
 * periods; if not, the owner will find the same answer on its own turn.
 * Threads that moved rest, like under adaptive affinity, so nothing bounces.
 *
 * The table is written by other monitors, which are jailed but not trusted:
 * every index read from it is checked, and a table of the wrong size or
 * version is refused rather than interpreted. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/util.h"
#include "vmm/sched/sched.h"

#define TABLE_MAGIC   0x4c45545348535548ULL /* "HUSHSTEL" */
#define TABLE_VERSION 1
#define TABLE_CPUS    256
#define TABLE_SLOTS   1024
#define STALE_MS      5000 /* a slot not refreshed for this long is free */
#define IDLE_BUSY     0.5  /* a CPU busy less than this is idle */

struct slot {
	int32_t pid, tid, cpu;
	uint32_t delay_pm; /* run delay per wall time, per mille */
	uint32_t rest;
	uint32_t pad;
	uint64_t allowed[TABLE_CPUS / 64];
	uint64_t stamp_ms;
};

struct table {
	uint64_t magic;
	uint32_t version, size;
	uint64_t claim_until_ms[TABLE_CPUS];
	struct slot slots[TABLE_SLOTS];
};

struct sched_steal {
	int fd;
	struct table *t;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool allowed_has(const struct slot *s, unsigned cpu)
{
	return cpu < TABLE_CPUS && (s->allowed[cpu / 64] >> (cpu % 64) & 1);
}

int sched_steal_open(const char *path, struct sched_steal **out, hk_err **err)
{
	cleanup_free char *dir = strdup(path);
	struct stat st;

	if (dir == NULL)
		return hk_err_set(err, ENOMEM, "steal table");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return hk_err_set(err, errno, "mkdir `%s`", dir);
	}
	cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return hk_err_set(err, errno, "open steal table `%s`", path);
	if (flock(fd, LOCK_EX) < 0)
		return hk_err_set(err, errno, "lock `%s`", path);
	if (fstat(fd, &st) < 0)
		return hk_err_set(err, errno, "stat `%s`", path);
	if (st.st_size == 0 && ftruncate(fd, sizeof(struct table)) < 0)
		return hk_err_set(err, errno, "size `%s`", path);
	else if (st.st_size != 0 && st.st_size != (off_t)sizeof(struct table))
		return hk_err_set(err, EINVAL, "steal table `%s`: %lld bytes, want %zu", path,
		                  (long long)st.st_size, sizeof(struct table));
	struct table *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED)
		return hk_err_set(err, errno, "map `%s`", path);
	if (t->magic == 0) {
		t->magic = TABLE_MAGIC;
		t->version = TABLE_VERSION;
		t->size = sizeof(*t);
	} else if (t->magic != TABLE_MAGIC || t->version != TABLE_VERSION ||
	           t->size != sizeof(*t)) {
		munmap(t, sizeof(*t));
		return hk_err_set(err, EINVAL, "steal table `%s`: not a version %d table", path,
		                  TABLE_VERSION);
	}
	flock(fd, LOCK_UN);
	struct sched_steal *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		munmap(t, sizeof(*t));
		return hk_err_set(err, ENOMEM, "steal table");
	}
	s->t = t;
	s->fd = hk_steal_fd(&fd);
	*out = s;
	return 0;
}

void sched_steal_close(struct sched_steal *s)
{
	if (s == NULL)
		return;
	/* Our slots go with us, so others need not wait for them to go stale. */
	flock(s->fd, LOCK_EX);
	for (unsigned i = 0; i < TABLE_SLOTS; i++)
		if (s->t->slots[i].pid == (int32_t)getpid())
			memset(&s->t->slots[i], 0, sizeof(s->t->slots[i]));
	flock(s->fd, LOCK_UN);
	munmap(s->t, sizeof(*s->t));
	close(s->fd);
	free(s);
}

static bool live(const struct slot *sl, uint64_t now)
{
	if (sl->pid <= 0 || sl->stamp_ms + STALE_MS < now)
		return false;
	return kill(sl->pid, 0) == 0 || errno == EPERM;
}

/* Our threads into the table: our old slots first, then free or stale ones. */
static void publish(struct table *tb, pid_t pid, const struct sched_thread *t, unsigned n,
                    const struct sched_cfg *c, uint64_t now)
{
	unsigned next = 0;

	for (unsigned i = 0; i < TABLE_SLOTS; i++)
		if (tb->slots[i].pid == (int32_t)pid)
			tb->slots[i].pid = 0;
	for (unsigned k = 0; k < n; k++) {
		while (next < TABLE_SLOTS && live(&tb->slots[next], now))
			next++;
		if (next == TABLE_SLOTS)
			return; /* full: the rest of ours stay out of the game */
		struct slot *sl = &tb->slots[next++];
		memset(sl, 0, sizeof(*sl));
		sl->pid = (int32_t)pid;
		sl->tid = (int32_t)t[k].tid;
		sl->cpu = t[k].cpu;
		sl->delay_pm = (uint32_t)(t[k].delay * 1000);
		sl->rest = t[k].rest;
		sl->stamp_ms = now;
		for (unsigned cpu = 0; cpu < TABLE_CPUS; cpu++)
			if (CPU_ISSET(cpu, &c->cpus))
				sl->allowed[cpu / 64] |= 1ULL << (cpu % 64);
	}
}

/* The thread that should move to `idle`: the most waiting one on the CPU
 * whose movable threads wait the most. Returns its slot, or -1. */
static int victim(struct table *tb, unsigned idle, unsigned ncpu, uint32_t threshold_pm,
                  uint64_t now)
{
	uint64_t sum[TABLE_CPUS] = {0};
	int best_cpu = -1, best = -1;

	for (unsigned i = 0; i < TABLE_SLOTS; i++) {
		const struct slot *sl = &tb->slots[i];
		if (!live(sl, now) || sl->cpu < 0 || (unsigned)sl->cpu >= ncpu ||
		    (unsigned)sl->cpu == idle || sl->rest > 0 || !allowed_has(sl, idle) ||
		    sl->delay_pm < threshold_pm)
			continue;
		sum[sl->cpu] += sl->delay_pm;
		if (best_cpu < 0 || sum[sl->cpu] > sum[best_cpu])
			best_cpu = sl->cpu;
	}
	if (best_cpu < 0)
		return -1;
	for (unsigned i = 0; i < TABLE_SLOTS; i++) {
		const struct slot *sl = &tb->slots[i];
		if (live(sl, now) && sl->cpu == best_cpu && sl->rest == 0 &&
		    allowed_has(sl, idle) && sl->delay_pm >= threshold_pm &&
		    (best < 0 || sl->delay_pm > tb->slots[best].delay_pm))
			best = (int)i;
	}
	return best;
}

unsigned sched_steal_plan(struct sched_steal *s, const struct sched_cfg *c, pid_t pid,
                          struct sched_thread *t, unsigned n, const double *busy, unsigned ncpu,
                          struct sched_move *out)
{
	struct table *tb = s->t;
	uint64_t now = now_ms();
	unsigned moves = 0;

	if (ncpu > TABLE_CPUS)
		ncpu = TABLE_CPUS;
	for (unsigned i = 0; i < n; i++)
		if (t[i].rest > 0)
			t[i].rest--;
	if (flock(s->fd, LOCK_EX) < 0)
		return 0;
	publish(tb, pid, t, n, c, now);
	for (unsigned idle = 0; idle < ncpu; idle++) {
		if (!CPU_ISSET(idle, &c->cpus) || busy[idle] >= IDLE_BUSY ||
		    tb->claim_until_ms[idle] > now)
			continue;
		int v = victim(tb, idle, ncpu, c->threshold_pct * 10, now);
		if (v < 0 || tb->slots[v].pid != (int32_t)pid)
			continue;
		for (unsigned k = 0; k < n; k++) {
			if (t[k].tid != tb->slots[v].tid)
				continue;
			out[moves++] =
			        (struct sched_move){.idx = k, .from = t[k].cpu, .to = (int)idle};
			t[k].cpu = (int)idle;
			t[k].rest = 2 * c->hysteresis;
			t[k].moves++;
			tb->slots[v].cpu = (int32_t)idle;
			tb->slots[v].rest = t[k].rest;
			tb->claim_until_ms[idle] = now + 3ULL * c->period_ms;
			break;
		}
	}
	flock(s->fd, LOCK_UN);
	return moves;
}
