/* Pinning: each thread's home, and sched_setaffinity by thread id. */
#include <errno.h>

#include "lib/cpulist.h"
#include "vmm/sched/sched.h"

void sched_home(const struct sched_cfg *c, unsigned idx, cpu_set_t *out)
{
	/* A balancer moves a thread from one CPU to another, so under adaptive
	 * affinity or stealing every thread starts on a CPU of its own; the
	 * i-th thread on the i-th CPU keeps neighbours apart. */
	if (c->one_to_one || sched_cfg_balances(c)) {
		unsigned n = (unsigned)CPU_COUNT(&c->cpus);
		CPU_ZERO(out);
		CPU_SET(hk_cpulist_nth(&c->cpus, idx % n), out);
	} else {
		*out = c->cpus;
	}
}

int sched_pin(pid_t tid, const cpu_set_t *set, hk_err **err)
{
	if (sched_setaffinity(tid, sizeof(*set), set) < 0)
		return hk_err_set(err, errno, "pin thread %d", (int)tid);
	return 0;
}

int sched_pin_cpu(pid_t tid, int cpu, hk_err **err)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(tid, sizeof(one), &one) < 0)
		return hk_err_set(err, errno, "pin thread %d to CPU %d", (int)tid, cpu);
	return 0;
}
