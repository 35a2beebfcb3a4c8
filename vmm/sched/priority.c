/* Priority. Ordinary threads take a nice value: priority 0..99 maps
 * linearly onto nice 19..-20, so 50 is the default nice 0 and 80 is nice
 * -12; raising it above 0 needs CAP_SYS_NICE (or RLIMIT_NICE). With a
 * realtime policy (fifo, rr) the priority is the SCHED_FIFO/SCHED_RR
 * priority itself (1..99), which needs CAP_SYS_NICE or RLIMIT_RTPRIO. Both
 * are refused with the reason rather than quietly ignored. */
#include <errno.h>
#include <sys/resource.h>

#include "vmm/sched/sched.h"

int sched_priority_nice(int priority)
{
	return 19 - priority * 39 / 99;
}

int sched_apply_priority(pid_t tid, const struct sched_cfg *c, hk_err **err)
{
	if (c->priority < 0)
		return 0;
	if (c->rt == SCHED_RT_NONE) {
		int nice = sched_priority_nice(c->priority);
		if (setpriority(PRIO_PROCESS, (id_t)tid, nice) < 0)
			return hk_err_set(err, errno, "priority %d (nice %d) for thread %d%s",
			                  c->priority, nice, (int)tid,
			                  errno == EACCES || errno == EPERM
			                          ? " needs CAP_SYS_NICE or RLIMIT_NICE"
			                          : "");
		return 0;
	}
	struct sched_param p = {.sched_priority = c->priority};
	int policy = c->rt == SCHED_RT_FIFO ? SCHED_FIFO : SCHED_RR;
	if (sched_setscheduler(tid, policy, &p) < 0)
		return hk_err_set(err, errno, "realtime %s priority %d for thread %d%s",
		                  c->rt == SCHED_RT_FIFO ? "fifo" : "rr", c->priority, (int)tid,
		                  errno == EPERM ? " needs CAP_SYS_NICE or RLIMIT_RTPRIO" : "");
	return 0;
}
