/* sched-load: vCPU-like threads from several "sandboxes" under one vCPU
 * placement policy, natively, for bench/sched.sh.
 *
 *   sched-load POLICY [--sandboxes N] [--vcpus N] [--seconds S] [--table PATH]
 *
 * POLICY is static (each sandbox's vCPU i pinned to CPU i, as a placement
 * blind to the other sandboxes does), adaptive, steal, or unpinned (the
 * kernel alone). Each sandbox runs its own balancer thread, as each monitor
 * does. vCPU 0 of a sandbox is busy 40% of the time and the others 5% (a
 * guest's boot CPU does most of the work), in bursts of a few milliseconds:
 * on 2 CPUs the 4 sandboxes want 1.8 CPUs, which a placement blind to the
 * others puts 1.6 of on CPU 0.
 * Prints one JSON object: the work done (busy-loop iterations, in millions)
 * and the run delay of the threads per 100 ms sample (median, p99, max). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "vmm/sched/sched.h"

#define MAX_SB     16
#define MAX_VCPU   8
#define SAMPLE_MS  100
#define BURST_US   5000 /* a burst's length when the CPU is ours */
#define MAX_SAMPLE 100000

struct vcpu {
	pthread_t th;
	_Atomic pid_t tid;
	unsigned duty_pct;
	atomic_ullong work;
	uint64_t last_delay;
};

static atomic_bool stop;
static uint64_t iters_per_us = 100;

static void sleep_us(uint64_t us)
{
	struct timespec ts = {.tv_sec = (time_t)(us / 1000000),
	                      .tv_nsec = (long)(us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A fixed amount of work per burst: when the thread waits for its CPU the
 * burst takes longer and fewer fit in the run, which is what is measured. */
static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	/* A busy burst of duty/100 of each period of BURST_US * 100 / 40. */
	const uint64_t period_us = BURST_US * 100 / 40;
	const uint64_t burst = iters_per_us * period_us * v->duty_pct / 100;
	const uint64_t idle_us = period_us * (100 - v->duty_pct) / 100;
	volatile uint64_t sink = 0;

	v->tid = (pid_t)syscall(SYS_gettid);
	while (!stop) {
		for (uint64_t i = 0; i < burst; i++)
			sink += i;
		v->work += burst;
		sleep_us(idle_us);
	}
	return NULL;
}

static void calibrate(void)
{
	volatile uint64_t sink = 0;
	uint64_t n = 50000000, t0 = hk_now_us();

	for (uint64_t i = 0; i < n; i++)
		sink += i;
	uint64_t dt = hk_now_us() - t0;
	iters_per_us = dt ? n / dt : 100;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned nsb = 4, nv = 2, seconds = 10;
	const char *table = "/run/husk/sched-bench.table";
	static struct vcpu v[MAX_SB][MAX_VCPU];
	static struct sched s[MAX_SB];
	static double samples[MAX_SAMPLE];
	size_t ns = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: sched-load static|adaptive|steal|unpinned [--sandboxes N] "
		                "[--vcpus N] [--seconds S] [--table PATH]\n");
		return 2;
	}
	const char *policy = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--sandboxes") == 0)
			nsb = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--vcpus") == 0)
			nv = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--table") == 0)
			table = argv[i + 1];
	}
	if (nsb == 0 || nsb > MAX_SB || nv == 0 || nv > MAX_VCPU || seconds == 0) {
		fprintf(stderr, "sched-load: at most %d sandboxes of %d vCPUs\n", MAX_SB, MAX_VCPU);
		return 2;
	}
	bool unpinned = strcmp(policy, "unpinned") == 0;
	struct sched_cfg c;
	sched_cfg_init(&c);
	c.steal_table = table;
	if (strcmp(policy, "static") == 0)
		c.one_to_one = true;
	else if (strcmp(policy, "adaptive") == 0)
		c.affinity = SCHED_AFF_ADAPTIVE;
	else if (strcmp(policy, "steal") == 0)
		c.policy = SCHED_POL_STEAL;
	else if (!unpinned) {
		fprintf(stderr, "sched-load: unknown policy `%s`\n", policy);
		return 2;
	}
	calibrate();
	if (strcmp(policy, "steal") == 0)
		unlink(table);
	for (unsigned i = 0; i < nsb; i++) {
		hk_err *err = NULL;
		if (!unpinned && sched_init(&s[i], &c, nv, &err) < 0) {
			fprintf(stderr, "sched-load: %s\n", err->msg);
			return 1;
		}
		for (unsigned j = 0; j < nv; j++) {
			v[i][j].duty_pct = j == 0 ? 40 : 5;
			pthread_create(&v[i][j].th, NULL, vcpu_main, &v[i][j]);
			while (v[i][j].tid == 0)
				sched_yield();
			if (!unpinned && sched_place(&s[i], j, v[i][j].tid, &err) < 0) {
				fprintf(stderr, "sched-load: %s\n", err->msg);
				return 1;
			}
		}
		if (!unpinned && sched_start(&s[i], &err) < 0) {
			fprintf(stderr, "sched-load: %s\n", err->msg);
			return 1;
		}
	}
	/* The first second settles the balancers; measure after it. */
	sleep_us(1000000);
	unsigned long long work0 = 0;
	for (unsigned i = 0; i < nsb; i++)
		for (unsigned j = 0; j < nv; j++) {
			struct sched_tstat st = {0};
			sched_read_thread(getpid(), v[i][j].tid, &st, NULL);
			v[i][j].last_delay = st.delay_ns;
			work0 += v[i][j].work;
		}
	for (unsigned t = 0; t < seconds * 1000 / SAMPLE_MS; t++) {
		sleep_us(SAMPLE_MS * 1000);
		for (unsigned i = 0; i < nsb; i++)
			for (unsigned j = 0; j < nv; j++) {
				struct sched_tstat st = {0};
				if (sched_read_thread(getpid(), v[i][j].tid, &st, NULL) < 0)
					continue;
				if (ns < MAX_SAMPLE)
					samples[ns++] =
					        (double)(st.delay_ns - v[i][j].last_delay) / 1e6;
				v[i][j].last_delay = st.delay_ns;
			}
	}
	unsigned long long work = 0, moves = 0;
	for (unsigned i = 0; i < nsb; i++)
		for (unsigned j = 0; j < nv; j++)
			work += v[i][j].work;
	stop = true;
	for (unsigned i = 0; i < nsb; i++) {
		for (unsigned j = 0; j < nv; j++)
			pthread_join(v[i][j].th, NULL);
		if (!unpinned) {
			moves += s[i].moves;
			sched_fini(&s[i]);
		}
	}
	if (strcmp(policy, "steal") == 0)
		unlink(table);
	qsort(samples, ns, sizeof(double), cmp);
	printf("{\"policy\":\"%s\",\"sandboxes\":%u,\"vcpus\":%u,\"seconds\":%u,"
	       "\"work_m\":%.1f,\"delay_ms_p50\":%.2f,\"delay_ms_p99\":%.2f,\"delay_ms_max\":%.2f,"
	       "\"moves\":%llu}\n",
	       policy, nsb, nv, seconds, (double)(work - work0) / 1e6, ns ? samples[ns / 2] : 0.0,
	       ns ? samples[ns * 99 / 100] : 0.0, ns ? samples[ns - 1] : 0.0, moves);
	return 0;
}
