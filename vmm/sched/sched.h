/* vCPU placement (DESIGN §3): where and how the vCPU threads of one VM run.
 *
 * Everything here works on thread ids, not on vCPUs, so the monitor, the
 * benchmark and the tests drive it alike with their own threads:
 *   - pinning: each thread starts on its "home": the whole CPU list, or its
 *     own CPU of the list (one-to-one, and always under adaptive/steal so
 *     that a move has something to move from);
 *   - priority: nice for ordinary threads, SCHED_FIFO/RR where asked;
 *   - memory: bound to the NUMA nodes of the CPUs (or of --mems);
 *   - adaptive affinity: a balancer samples each thread's run delay and
 *     re-pins a contended thread to a quieter allowed CPU, with hysteresis;
 *   - work stealing: the balancers of every sandbox on the host share a small
 *     table under /run/husk; a CPU that went idle takes the most delayed
 *     thread of the most delayed CPU, whoever's it is (its owner moves it).
 */
#ifndef VMM_SCHED_H
#define VMM_SCHED_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

#define SCHED_MAX_THREADS 64

enum sched_affinity { SCHED_AFF_STATIC, SCHED_AFF_ADAPTIVE };
enum sched_policy { SCHED_POL_PINNED, SCHED_POL_STEAL };
enum sched_rt { SCHED_RT_NONE, SCHED_RT_FIFO, SCHED_RT_RR };

struct sched_cfg {
	cpu_set_t cpus; /* where the threads may run; empty: wherever we may */
	bool one_to_one;
	enum sched_affinity affinity;
	enum sched_policy policy;
	int priority; /* -1: leave alone; 0..99 (see priority.c) */
	enum sched_rt rt;
	cpu_set_t mems;          /* NUMA nodes; empty: those of cpus */
	unsigned period_ms;      /* balancer period (default 100) */
	unsigned threshold_pct;  /* run delay per wall time that counts as contended (20) */
	unsigned hysteresis;     /* periods hot before a move, and of rest after (3) */
	const char *steal_table; /* shared table (default /run/husk/sched.table) */
};

void sched_cfg_init(struct sched_cfg *c);
/* "static"/"adaptive", "pinned"/"steal", "fifo"/"rr", "0".."99". */
int sched_parse_affinity(const char *s, struct sched_cfg *c, hk_err **err);
int sched_parse_policy(const char *s, struct sched_cfg *c, hk_err **err);
int sched_parse_rt(const char *s, struct sched_cfg *c, hk_err **err);
int sched_parse_priority(const char *s, struct sched_cfg *c, hk_err **err);
/* Fills an empty CPU list with our own affinity and refuses CPUs we may not
 * use; called once before any thread is placed. */
int sched_cfg_resolve(struct sched_cfg *c, hk_err **err);
/* Does the configuration need a balancer thread? */
bool sched_cfg_balances(const struct sched_cfg *c);

/* pin.c: the home of thread number idx, and pinning a thread there. */
void sched_home(const struct sched_cfg *c, unsigned idx, cpu_set_t *out);
int sched_pin(pid_t tid, const cpu_set_t *set, hk_err **err);
int sched_pin_cpu(pid_t tid, int cpu, hk_err **err);

/* priority.c: the nice value an ordinary priority maps to, and applying
 * the configured priority to one thread. */
int sched_priority_nice(int priority);
int sched_apply_priority(pid_t tid, const struct sched_cfg *c, hk_err **err);

/* mempolicy.c: the nodes of a CPU set, and binding a range to them. */
int sched_nodes_of_cpus(const cpu_set_t *cpus, cpu_set_t *nodes, hk_err **err);
int sched_bind_memory(void *addr, size_t len, const cpu_set_t *nodes, hk_err **err);

/* stat.c: what the kernel says about a thread and about each CPU. */
struct sched_tstat {
	uint64_t run_ns, delay_ns; /* on a CPU, and runnable but waiting */
	int cpu;                   /* where it last ran */
};
int sched_read_thread(pid_t pid, pid_t tid, struct sched_tstat *st, hk_err **err);
/* Busy and total jiffies per CPU from /proc/stat, for CPUs 0..n-1. */
int sched_read_cpus(uint64_t *busy, uint64_t *total, unsigned n, hk_err **err);

/* balance.c: one balancer period's decisions, free of I/O so the policy can
 * be tested with numbers. */
struct sched_thread {
	pid_t tid;
	int cpu;       /* where we pinned it (-1: on a set) */
	double delay;  /* run delay per wall time in the last period (0..n) */
	double run;    /* run time per wall time in the last period (0..1) */
	unsigned hot;  /* consecutive periods above the threshold */
	unsigned rest; /* periods left before it may move again */
	uint64_t last_run_ns, last_delay_ns;
	uint64_t moves;
};
struct sched_move {
	unsigned idx;
	int from, to;
};
/* Adaptive: updates each thread's hot/rest counters and proposes at most one
 * move per thread into out[]; busy[c] is each CPU's busy fraction (0..1) in
 * the period, updated for the moves made. Returns the number of moves. */
unsigned sched_adaptive_plan(const struct sched_cfg *c, struct sched_thread *t, unsigned n,
                             double *busy, unsigned ncpu, struct sched_move *out);

/* steal.c: the table every balancer on the host shares. */
struct sched_steal;
int sched_steal_open(const char *path, struct sched_steal **out, hk_err **err);
void sched_steal_close(struct sched_steal *s);
/* Publishes our threads, then, for each idle CPU we may use that no other
 * balancer claimed, takes the most delayed thread of the most delayed CPU if
 * that thread is ours. Returns the number of moves written to out[]. */
unsigned sched_steal_plan(struct sched_steal *s, const struct sched_cfg *c, pid_t pid,
                          struct sched_thread *t, unsigned n, const double *busy, unsigned ncpu,
                          struct sched_move *out);

/* balancer.c: threads placed and watched. */
struct sched {
	struct sched_cfg cfg;
	pid_t pid;
	unsigned n, ncpu;
	struct sched_thread t[SCHED_MAX_THREADS];
	uint64_t last_ns;
	uint64_t *cpu_busy, *cpu_total; /* previous /proc/stat sample */
	struct sched_steal *steal;
	pthread_t thread;
	bool running;
	int stop_fd; /* eventfd that ends the balancer thread */
	pthread_mutex_t lock;
	uint64_t periods, moves;
};
/* Places thread idx (pin + priority); the monitor calls it from each vCPU
 * thread as it starts. Errors are the caller's to report. */
int sched_place(struct sched *s, unsigned idx, pid_t tid, hk_err **err);
int sched_init(struct sched *s, const struct sched_cfg *c, unsigned nthreads, hk_err **err);
/* One balancer period: sample, plan, move. Returns the moves made. */
unsigned sched_step(struct sched *s);
/* The balancer as a thread of its own, one step per period. */
int sched_start(struct sched *s, hk_err **err);
void sched_fini(struct sched *s);

#endif
