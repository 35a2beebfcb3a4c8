/* The balancer: places threads, then once a period samples them and the
 * CPUs, asks the policy (balance.c, steal.c) for moves and makes them. The
 * monitor runs it as a thread of its own; tests and the benchmark may call
 * sched_step() themselves. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/cpulist.h"
#include "lib/log.h"
#include "lib/thread.h"
#include "lib/util.h"
#include "vmm/sched/sched.h"

#define DEFAULT_TABLE "/run/husk/sched.table"

int sched_init(struct sched *s, const struct sched_cfg *c, unsigned nthreads, hk_err **err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	memset(s, 0, sizeof(*s));
	s->stop_fd = -1;
	if (nthreads > SCHED_MAX_THREADS)
		return hk_err_set(err, EINVAL, "at most %d threads", SCHED_MAX_THREADS);
	s->cfg = *c;
	if (sched_cfg_resolve(&s->cfg, err) < 0)
		return -1;
	s->pid = getpid();
	s->n = nthreads;
	s->ncpu = ncpu < 1 ? 1 : ncpu > CPU_SETSIZE ? CPU_SETSIZE : (unsigned)ncpu;
	for (unsigned i = 0; i < nthreads; i++)
		s->t[i].cpu = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->cpu_busy = calloc(s->ncpu, sizeof(uint64_t));
	s->cpu_total = calloc(s->ncpu, sizeof(uint64_t));
	if (s->cpu_busy == NULL || s->cpu_total == NULL) {
		sched_fini(s);
		return hk_err_set(err, ENOMEM, "scheduler");
	}
	if (s->cfg.policy == SCHED_POL_STEAL &&
	    sched_steal_open(s->cfg.steal_table ? s->cfg.steal_table : DEFAULT_TABLE, &s->steal,
	                     err) < 0) {
		sched_fini(s);
		return -1;
	}
	return 0;
}

int sched_place(struct sched *s, unsigned idx, pid_t tid, hk_err **err)
{
	cpu_set_t home;

	if (idx >= s->n)
		return hk_err_set(err, EINVAL, "thread %u of %u", idx, s->n);
	sched_home(&s->cfg, idx, &home);
	if (sched_pin(tid, &home, err) < 0 || sched_apply_priority(tid, &s->cfg, err) < 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	s->t[idx].tid = tid;
	s->t[idx].cpu = CPU_COUNT(&home) == 1 ? hk_cpulist_nth(&home, 0) : -1;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Run and delay per wall time of each placed thread, and each CPU's busy
 * fraction, since the last sample. False on the first sample. */
static bool sample(struct sched *s, double *busy)
{
	uint64_t now = hk_now_us() * 1000, b[CPU_SETSIZE], tot[CPU_SETSIZE];
	cleanup_err hk_err *err = NULL;
	bool first = s->last_ns == 0;
	double wall = (double)(now - s->last_ns);

	if (sched_read_cpus(b, tot, s->ncpu, &err) < 0) {
		hk_warn("scheduler: %s", err->msg);
		return false;
	}
	for (unsigned c = 0; c < s->ncpu; c++) {
		uint64_t db = b[c] - s->cpu_busy[c], dt = tot[c] - s->cpu_total[c];
		busy[c] = dt ? (double)db / (double)dt : 0;
		s->cpu_busy[c] = b[c];
		s->cpu_total[c] = tot[c];
	}
	for (unsigned i = 0; i < s->n; i++) {
		struct sched_thread *t = &s->t[i];
		struct sched_tstat st;
		if (t->tid == 0 || sched_read_thread(s->pid, t->tid, &st, NULL) < 0)
			continue;
		if (!first && st.run_ns >= t->last_run_ns && st.delay_ns >= t->last_delay_ns) {
			t->run = (double)(st.run_ns - t->last_run_ns) / wall;
			t->delay = (double)(st.delay_ns - t->last_delay_ns) / wall;
		}
		t->last_run_ns = st.run_ns;
		t->last_delay_ns = st.delay_ns;
	}
	s->last_ns = now;
	return !first;
}

unsigned sched_step(struct sched *s)
{
	struct sched_move mv[SCHED_MAX_THREADS];
	double busy[CPU_SETSIZE];
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	s->periods++;
	if (!sample(s, busy)) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (s->steal)
		n = sched_steal_plan(s->steal, &s->cfg, s->pid, s->t, s->n, busy, s->ncpu, mv);
	else if (s->cfg.affinity == SCHED_AFF_ADAPTIVE)
		n = sched_adaptive_plan(&s->cfg, s->t, s->n, busy, s->ncpu, mv);
	for (unsigned i = 0; i < n; i++) {
		struct sched_thread *t = &s->t[mv[i].idx];
		cleanup_err hk_err *err = NULL;
		if (sched_pin_cpu(t->tid, mv[i].to, &err) < 0) {
			hk_warn("scheduler: %s", err->msg);
			continue;
		}
		hk_debug("scheduler: thread %u (tid %d) CPU %d -> %d, run delay %.0f%%", mv[i].idx,
		         (int)t->tid, mv[i].from, mv[i].to, t->delay * 100);
		s->moves++;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void *balancer(void *arg)
{
	struct sched *s = arg;
	struct pollfd p = {.fd = s->stop_fd, .events = POLLIN};
	cleanup_err hk_err *err = NULL;

	if (hk_thread_enter(HK_THREAD_BALANCER, &err) < 0) {
		/* Without its filter the balancer does not run; vCPUs keep
		 * their homes. */
		hk_warn("vCPU balancer: %s", err->msg);
		return NULL;
	}
	for (;;) {
		int r = poll(&p, 1, (int)s->cfg.period_ms);
		if (r > 0 || (r < 0 && errno != EINTR))
			return NULL;
		if (r == 0)
			sched_step(s);
	}
}

int sched_start(struct sched *s, hk_err **err)
{
	if (!sched_cfg_balances(&s->cfg))
		return 0;
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0)
		return hk_err_set(err, errno, "eventfd");
	int e = pthread_create(&s->thread, NULL, balancer, s);
	if (e != 0)
		return hk_err_set(err, e, "start the balancer");
	s->running = true;
	return 0;
}

void sched_fini(struct sched *s)
{
	if (s->running) {
		(void)!write(s->stop_fd, &(uint64_t){1}, sizeof(uint64_t));
		pthread_join(s->thread, NULL);
		s->running = false;
	}
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	s->stop_fd = -1;
	sched_steal_close(s->steal);
	s->steal = NULL;
	free(s->cpu_busy);
	free(s->cpu_total);
	s->cpu_busy = s->cpu_total = NULL;
}
