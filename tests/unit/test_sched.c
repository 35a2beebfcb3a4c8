/* vmm/sched/: pinning, priority, memory binding and the balancers, on
 * ordinary busy threads standing in for vCPUs (no VM needed). The policy
 * functions get synthetic numbers; the balancers get real contention: a hog
 * thread on CPU 0 and the kernel's own run-delay accounting. */
#include <errno.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/cpulist.h"
#include "vmm/sched/sched.h"
#include "tests/unit/tap.h"

#define PERIOD_MS 50

struct busy {
	pthread_t th;
	_Atomic pid_t tid;
	atomic_bool stop;
	int cpu; /* pinned there before it spins, or -1 */
};

static void *spin(void *arg)
{
	struct busy *b = arg;

	if (b->cpu >= 0)
		sched_pin_cpu((pid_t)syscall(SYS_gettid), b->cpu, NULL);
	b->tid = (pid_t)syscall(SYS_gettid);
	while (!b->stop)
		;
	return NULL;
}

static pid_t busy_start(struct busy *b, int cpu)
{
	memset(b, 0, sizeof(*b));
	b->cpu = cpu;
	if (pthread_create(&b->th, NULL, spin, b) != 0)
		return -1;
	while (b->tid == 0)
		sched_yield();
	return b->tid;
}

static void busy_stop(struct busy *b)
{
	b->stop = true;
	pthread_join(b->th, NULL);
}

static int cpus_of(pid_t tid, int *only)
{
	cpu_set_t s;

	if (sched_getaffinity(tid, sizeof(s), &s) < 0)
		return -1;
	*only = CPU_COUNT(&s) == 1 ? hk_cpulist_nth(&s, 0) : -1;
	return CPU_COUNT(&s);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int needs_two_cpus(void)
{
	cpu_set_t mine;
	sched_getaffinity(0, sizeof(mine), &mine);
	if (!CPU_ISSET(0, &mine) || !CPU_ISSET(1, &mine)) {
		printf("# needs CPUs 0 and 1\n");
		return 77;
	}
	return 0;
}

/* The balancer tests move threads to a quiet CPU 1: when something else on
 * the host keeps it busy there is nothing to observe, and they say so. */
static int needs_quiet_cpu1(void)
{
	uint64_t b0[2], t0[2], b1[2], t1[2];

	if (needs_two_cpus())
		return 77;
	sched_read_cpus(b0, t0, 2, NULL);
	sleep_ms(300);
	sched_read_cpus(b1, t1, 2, NULL);
	double busy = t1[1] > t0[1] ? (double)(b1[1] - b0[1]) / (double)(t1[1] - t0[1]) : 1;
	if (busy > 0.25) {
		printf("# CPU 1 is %.0f%% busy with other work\n", busy * 100);
		return 77;
	}
	return 0;
}

/* CPU 1's busy share since *b, *t (sched_read_cpus of CPUs 0 and 1). */
static double cpu1_busy_since(const uint64_t b[2], const uint64_t t[2])
{
	uint64_t b1[2], t1[2];
	sched_read_cpus(b1, t1, 2, NULL);
	return t1[1] > t[1] ? (double)(b1[1] - b[1]) / (double)(t1[1] - t[1]) : 1;
}

static int test_config_parsing(void)
{
	struct sched_cfg c;
	cleanup_err hk_err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

	sched_cfg_init(&c);
	CHECK(c.priority == -1 && c.period_ms == 100 && !sched_cfg_balances(&c));
	CHECK(sched_parse_affinity("adaptive", &c, NULL) == 0 && sched_cfg_balances(&c));
	CHECK(sched_parse_policy("steal", &c, NULL) == 0 && c.policy == SCHED_POL_STEAL);
	CHECK(sched_parse_priority("80", &c, NULL) == 0 && c.priority == 80);
	CHECK(sched_parse_affinity("sideways", &c, &e1) < 0);
	CHECK_STR(e1->msg, "affinity `sideways`: static or adaptive");
	CHECK(sched_parse_priority("100", &c, &e2) < 0);
	CHECK_STR(e2->msg, "priority `100`: want 0 to 99");
	sched_cfg_init(&c);
	CHECK(sched_parse_rt("fifo", &c, NULL) == 0);
	CHECK(sched_cfg_resolve(&c, &e3) < 0);
	CHECK_STR(e3->msg, "a realtime policy needs --priority 1 to 99: Invalid argument");
	sched_cfg_init(&c);
	CPU_SET(CPU_SETSIZE - 1, &c.cpus);
	CHECK(sched_cfg_resolve(&c, &e4) < 0);
	CHECK(strstr(e4->msg, "CPU 1023 is not one this process may use") != NULL);
	return 0;
}

/* Static pinning: the whole list, or thread i on the i-th CPU; adaptive and
 * steal start one-to-one too. */
static int test_pinning(void)
{
	struct sched_cfg c;
	struct sched s;
	struct busy a, b;
	int only;

	if (needs_two_cpus())
		return 77;
	sched_cfg_init(&c);
	CPU_SET(0, &c.cpus);
	CPU_SET(1, &c.cpus);
	CHECK(sched_init(&s, &c, 2, NULL) == 0);
	CHECK(sched_place(&s, 0, busy_start(&a, -1), NULL) == 0);
	CHECK(cpus_of(a.tid, &only) == 2);
	sched_fini(&s);

	c.one_to_one = true;
	CHECK(sched_init(&s, &c, 2, NULL) == 0);
	CHECK(sched_place(&s, 1, busy_start(&b, -1), NULL) == 0);
	CHECK(cpus_of(b.tid, &only) == 1 && only == 1 && s.t[1].cpu == 1);
	CHECK(sched_place(&s, 0, a.tid, NULL) == 0);
	CHECK(cpus_of(a.tid, &only) == 1 && only == 0);
	sched_fini(&s);

	c.one_to_one = false;
	c.affinity = SCHED_AFF_ADAPTIVE;
	CHECK(sched_init(&s, &c, 2, NULL) == 0);
	CHECK(sched_place(&s, 1, a.tid, NULL) == 0);
	CHECK(cpus_of(a.tid, &only) == 1 && only == 1);
	sched_fini(&s);
	busy_stop(&a);
	busy_stop(&b);
	return 0;
}

static int test_priority(void)
{
	struct sched_cfg c;
	struct busy a;

	CHECK(sched_priority_nice(0) == 19 && sched_priority_nice(50) == 0);
	CHECK(sched_priority_nice(80) == -12 && sched_priority_nice(99) == -20);
	sched_cfg_init(&c);
	c.priority = 80;
	busy_start(&a, -1);
	if (sched_apply_priority(a.tid, &c, NULL) < 0) {
		busy_stop(&a);
		printf("# cannot raise priority here (needs CAP_SYS_NICE)\n");
		return 77;
	}
	errno = 0;
	CHECK(getpriority(PRIO_PROCESS, (id_t)a.tid) == -12 && errno == 0);
	c.priority = 10;
	CHECK(sched_apply_priority(a.tid, &c, NULL) == 0);
	CHECK(getpriority(PRIO_PROCESS, (id_t)a.tid) == 16);
	busy_stop(&a);
	return 0;
}

/* Without the right to it, a raised priority is refused with the reason. */
static int test_priority_refused(void)
{
	int pipefd[2], status;
	char msg[256] = "";

	if (getuid() != 0) {
		printf("# needs root to become nobody\n");
		return 77;
	}
	CHECK(pipe(pipefd) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct sched_cfg c;
		hk_err *err = NULL;
		sched_cfg_init(&c);
		c.priority = 99;
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		if (sched_apply_priority((pid_t)syscall(SYS_gettid), &c, &err) == 0)
			_exit(3);
		(void)!write(pipefd[1], err->msg, strlen(err->msg));
		c.rt = SCHED_RT_FIFO;
		hk_err_free(&err);
		if (sched_apply_priority((pid_t)syscall(SYS_gettid), &c, &err) == 0)
			_exit(4);
		(void)!write(pipefd[1], "\n", 1);
		(void)!write(pipefd[1], err->msg, strlen(err->msg));
		_exit(0);
	}
	close(pipefd[1]);
	size_t n = 0;
	for (ssize_t r;
	     n < sizeof(msg) - 1 && (r = read(pipefd[0], msg + n, sizeof(msg) - 1 - n)) > 0;)
		n += (size_t)r;
	close(pipefd[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(n > 0);
	printf("# %s\n", strtok(msg, "\n"));
	msg[strlen(msg)] = '\n';
	CHECK(strstr(msg, "priority 99 (nice -20) for thread") != NULL);
	CHECK(strstr(msg, "needs CAP_SYS_NICE or RLIMIT_NICE") != NULL);
	CHECK(strstr(msg, "realtime fifo priority 99 for thread") != NULL);
	CHECK(strstr(msg, "needs CAP_SYS_NICE or RLIMIT_RTPRIO") != NULL);
	return 0;
}

/* Guest memory bound to the nodes of its CPUs, as the kernel reports it. */
static int test_memory_binding(void)
{
	cpu_set_t cpus, nodes;
	unsigned long mask[16] = {0};
	int mode = -1;
	const size_t len = 4 << 20;
	cleanup_err hk_err *err = NULL;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	CHECK(sched_nodes_of_cpus(&cpus, &nodes, NULL) == 0);
	CHECK(CPU_COUNT(&nodes) == 1 && CPU_ISSET(0, &nodes));
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	CHECK(sched_bind_memory(p, len, &nodes, NULL) == 0);
	if (syscall(SYS_get_mempolicy, &mode, mask, 8 * sizeof(mask), p, MPOL_F_ADDR) < 0 &&
	    errno == ENOSYS) {
		munmap(p, len);
		printf("# kernel without NUMA policies\n");
		return 77;
	}
	CHECK(mode == MPOL_BIND && mask[0] == 1);
	CPU_ZERO(&nodes);
	CPU_SET(999, &nodes);
	CHECK(sched_bind_memory(p, len, &nodes, &err) < 0);
	CHECK_STR(err->msg, "memory node 999 does not exist: Invalid argument");
	munmap(p, len);
	return 0;
}

static int test_thread_stats(void)
{
	struct busy a;
	struct sched_tstat s1, s2;
	uint64_t busy[2], total[2];

	if (needs_two_cpus())
		return 77;
	busy_start(&a, 1);
	CHECK(sched_read_thread(getpid(), a.tid, &s1, NULL) == 0);
	sleep_ms(100);
	CHECK(sched_read_thread(getpid(), a.tid, &s2, NULL) == 0);
	busy_stop(&a);
	CHECK(s2.run_ns > s1.run_ns && s2.cpu == 1);
	CHECK(sched_read_cpus(busy, total, 2, NULL) == 0);
	CHECK(total[0] > 0 && total[1] > 0 && busy[1] <= total[1]);
	return 0;
}

/* The adaptive policy on numbers: hot for long enough, then one move to the
 * quiet CPU, then rest; a CPU without room takes nobody. */
static int test_adaptive_policy(void)
{
	struct sched_cfg c;
	struct sched_thread t[1] = {{.tid = 3, .cpu = 0}};
	struct sched_move mv[1];
	unsigned wait;

	sched_cfg_init(&c);
	CPU_SET(0, &c.cpus);
	CPU_SET(1, &c.cpus);
	c.affinity = SCHED_AFF_ADAPTIVE;
	wait = c.hysteresis + 3 % (c.hysteresis + 1); /* tid 3 staggers by 3 */
	for (unsigned p = 1; p <= wait; p++) {
		double busy[2] = {1.0, 0.05};
		t[0].delay = t[0].run = 0.5;
		unsigned n = sched_adaptive_plan(&c, t, 1, busy, 2, mv);
		CHECK(n == (p == wait ? 1u : 0u));
	}
	CHECK(mv[0].from == 0 && mv[0].to == 1 && t[0].cpu == 1 && t[0].rest > 0);
	/* Contended again at once: it rests rather than bounce back. */
	for (unsigned p = 0; p < 2 * c.hysteresis; p++) {
		double busy[2] = {0.05, 1.0};
		t[0].delay = 0.5;
		CHECK(sched_adaptive_plan(&c, t, 1, busy, 2, mv) == 0);
	}
	/* Delay that comes and goes never adds up to a move. */
	struct sched_thread u[1] = {{.tid = 4, .cpu = 0}};
	for (unsigned p = 0; p < 40; p++) {
		double busy[2] = {1.0, 0.0};
		u[0].delay = p % 2 ? 0.6 : 0.0;
		CHECK(sched_adaptive_plan(&c, u, 1, busy, 2, mv) == 0);
	}
	/* Every CPU full: nowhere to go. */
	for (unsigned p = 0; p < 20; p++) {
		double busy[2] = {1.0, 0.98};
		u[0].delay = 0.5;
		CHECK(sched_adaptive_plan(&c, u, 1, busy, 2, mv) == 0);
	}
	return 0;
}

/* Steps the balancers (each a sandbox) once a period until pred holds or
 * the periods run out; returns the periods taken, or -1. */
static int step_until(struct sched **s, unsigned ns, unsigned max, bool (*pred)(void *), void *arg)
{
	for (unsigned p = 1; p <= max; p++) {
		sleep_ms(PERIOD_MS);
		for (unsigned i = 0; i < ns; i++)
			sched_step(s[i]);
		if (pred(arg))
			return (int)p;
	}
	return -1;
}

static bool on_cpu1(void *arg)
{
	int only;
	return cpus_of(*(pid_t *)arg, &only) == 1 && only == 1;
}

/* A hog shares CPU 0 with a vCPU-like thread: the adaptive balancer moves
 * the thread to the idle CPU 1 within a bounded number of periods, and it
 * then stays there. */
static int test_adaptive_moves_off_contended_cpu(void)
{
	struct sched_cfg c;
	struct sched s, *sp = &s;
	struct busy hog, v;

	if (needs_quiet_cpu1())
		return 77;
	sched_cfg_init(&c);
	CPU_SET(0, &c.cpus);
	CPU_SET(1, &c.cpus);
	c.affinity = SCHED_AFF_ADAPTIVE;
	c.period_ms = PERIOD_MS;
	busy_start(&hog, 0);
	CHECK(sched_init(&s, &c, 1, NULL) == 0);
	CHECK(sched_place(&s, 0, busy_start(&v, -1), NULL) == 0);
	CHECK(s.t[0].cpu == 0);
	pid_t tid = v.tid;
	uint64_t b0[2], t0[2];
	sched_read_cpus(b0, t0, 2, NULL);
	int periods = step_until(&sp, 1, 40, on_cpu1, &tid);
	printf("# moved after %d periods (hysteresis %u)\n", periods, c.hysteresis);
	/* Not moved because CPU 1 stopped being the quiet one (other work
	 * began there after the check): nothing was observed. */
	double busy = periods < 0 ? cpu1_busy_since(b0, t0) : 0;
	uint64_t moves = s.moves;
	for (unsigned p = 0; p < 10; p++) {
		sleep_ms(PERIOD_MS);
		sched_step(&s);
	}
	sched_fini(&s);
	busy_stop(&v);
	busy_stop(&hog);
	if (busy > 0.25) {
		printf("# CPU 1 became %.0f%% busy with other work during the test\n", busy * 100);
		return 77;
	}
	CHECK(periods > 0 && (unsigned)periods >= c.hysteresis + 1);
	CHECK(s.moves == moves && moves == 1);
	return 0;
}

/* Two sandboxes' balancers, each with one thread, both started on CPU 0:
 * one moves, the other then no longer waits; nobody bounces. */
static int test_adaptive_no_ping_pong(void)
{
	struct sched_cfg c;
	struct sched s[2], *sp[2] = {&s[0], &s[1]};
	struct busy v[2];

	if (needs_quiet_cpu1())
		return 77;
	sched_cfg_init(&c);
	CPU_SET(0, &c.cpus);
	CPU_SET(1, &c.cpus);
	c.affinity = SCHED_AFF_ADAPTIVE;
	for (unsigned i = 0; i < 2; i++) {
		CHECK(sched_init(&s[i], &c, 1, NULL) == 0);
		CHECK(sched_place(&s[i], 0, busy_start(&v[i], -1), NULL) == 0);
	}
	for (unsigned p = 0; p < 40; p++) {
		sleep_ms(PERIOD_MS);
		sched_step(sp[0]);
		sched_step(sp[1]);
	}
	int c0, c1;
	cpus_of(v[0].tid, &c0);
	cpus_of(v[1].tid, &c1);
	uint64_t moves = s[0].moves + s[1].moves;
	for (unsigned i = 0; i < 2; i++) {
		sched_fini(&s[i]);
		busy_stop(&v[i]);
	}
	printf("# %llu moves in 40 periods; threads on CPUs %d and %d\n", (unsigned long long)moves,
	       c0, c1);
	CHECK(moves == 1 && c0 != c1);
	return 0;
}

static bool one_on_cpu1(void *arg)
{
	pid_t *tids = arg;
	int n = 0, only;
	for (unsigned i = 0; i < 3; i++)
		n += cpus_of(tids[i], &only) == 1 && only == 1;
	return n == 1;
}

/* Work stealing: sandbox A (two threads) and B (one) all crowd CPU 0; the
 * idle CPU 1 takes exactly one of them, and then nothing moves again. */
static int test_steal_moves_to_idle_cpu(void)
{
	char table[] = "/tmp/husk-steal-XXXXXX";
	struct sched_cfg c;
	struct sched a, b, *sp[2] = {&a, &b};
	struct busy v[3];
	pid_t tids[3];

	if (needs_quiet_cpu1())
		return 77;
	int fd = mkstemp(table);
	CHECK(fd >= 0);
	close(fd);
	unlink(table); /* the balancer creates it */
	sched_cfg_init(&c);
	CPU_SET(0, &c.cpus);
	CPU_SET(1, &c.cpus);
	c.policy = SCHED_POL_STEAL;
	c.period_ms = PERIOD_MS;
	c.steal_table = table;
	CHECK(sched_init(&a, &c, 2, NULL) == 0);
	CHECK(sched_init(&b, &c, 1, NULL) == 0);
	for (unsigned i = 0; i < 3; i++) {
		struct sched *s = i < 2 ? &a : &b;
		unsigned idx = i < 2 ? i : 0;
		tids[i] = busy_start(&v[i], -1);
		CHECK(sched_place(s, idx, tids[i], NULL) == 0);
		/* Crowd CPU 0, as a placement blind to the others would. */
		CHECK(sched_pin_cpu(tids[i], 0, NULL) == 0);
		s->t[idx].cpu = 0;
	}
	int periods = step_until(sp, 2, 40, one_on_cpu1, tids);
	uint64_t moves = a.moves + b.moves;
	for (unsigned p = 0; p < 20; p++) {
		sleep_ms(PERIOD_MS);
		sched_step(&a);
		sched_step(&b);
	}
	bool still = one_on_cpu1(tids);
	uint64_t later = a.moves + b.moves;
	sched_fini(&a);
	sched_fini(&b);
	for (unsigned i = 0; i < 3; i++)
		busy_stop(&v[i]);
	unlink(table);
	printf("# stolen after %d periods; moves %llu, then %llu\n", periods,
	       (unsigned long long)moves, (unsigned long long)later);
	CHECK(periods > 0 && moves == 1 && later == 1 && still);
	return 0;
}

/* A table that is not ours (wrong size) is refused, not interpreted. */
static int test_steal_table_refused(void)
{
	char table[] = "/tmp/husk-steal-XXXXXX";
	struct sched_steal *st = NULL;
	cleanup_err hk_err *err = NULL;
	int fd = mkstemp(table);

	CHECK(fd >= 0);
	CHECK(write(fd, "garbage", 7) == 7);
	close(fd);
	CHECK(sched_steal_open(table, &st, &err) < 0);
	unlink(table);
	CHECK(strstr(err->msg, "7 bytes, want") != NULL);
	return 0;
}

int main(void)
{
	RUN_TEST(test_config_parsing);
	RUN_TEST(test_pinning);
	RUN_TEST(test_priority);
	RUN_TEST(test_priority_refused);
	RUN_TEST(test_memory_binding);
	RUN_TEST(test_thread_stats);
	RUN_TEST(test_adaptive_policy);
	RUN_TEST(test_adaptive_moves_off_contended_cpu);
	RUN_TEST(test_adaptive_no_ping_pong);
	RUN_TEST(test_steal_moves_to_idle_cpu);
	RUN_TEST(test_steal_table_refused);
	TAP_DONE();
}
