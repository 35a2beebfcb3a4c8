/* The scheduling configuration: defaults, parsing of the flag and
 * annotation values, and the check against our own affinity. */
#include <errno.h>
#include <string.h>

#include "lib/cpulist.h"
#include "lib/util.h"
#include "vmm/sched/sched.h"

void sched_cfg_init(struct sched_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->priority = -1;
	c->period_ms = 100;
	c->threshold_pct = 20;
	c->hysteresis = 3;
}

int sched_parse_affinity(const char *s, struct sched_cfg *c, hk_err **err)
{
	if (strcmp(s, "static") == 0)
		c->affinity = SCHED_AFF_STATIC;
	else if (strcmp(s, "adaptive") == 0)
		c->affinity = SCHED_AFF_ADAPTIVE;
	else
		return hk_err_set(err, 0, "affinity `%s`: static or adaptive", s);
	return 0;
}

int sched_parse_policy(const char *s, struct sched_cfg *c, hk_err **err)
{
	if (strcmp(s, "pinned") == 0)
		c->policy = SCHED_POL_PINNED;
	else if (strcmp(s, "steal") == 0)
		c->policy = SCHED_POL_STEAL;
	else
		return hk_err_set(err, 0, "scheduler policy `%s`: pinned or steal", s);
	return 0;
}

int sched_parse_rt(const char *s, struct sched_cfg *c, hk_err **err)
{
	if (strcmp(s, "none") == 0)
		c->rt = SCHED_RT_NONE;
	else if (strcmp(s, "fifo") == 0)
		c->rt = SCHED_RT_FIFO;
	else if (strcmp(s, "rr") == 0)
		c->rt = SCHED_RT_RR;
	else
		return hk_err_set(err, 0, "realtime policy `%s`: fifo, rr or none", s);
	return 0;
}

int sched_parse_priority(const char *s, struct sched_cfg *c, hk_err **err)
{
	uint64_t v;

	if (hk_parse_u64(s, &v) < 0 || v > 99)
		return hk_err_set(err, 0, "priority `%s`: want 0 to 99", s);
	c->priority = (int)v;
	return 0;
}

int sched_cfg_resolve(struct sched_cfg *c, hk_err **err)
{
	cpu_set_t mine, extra;

	if (sched_getaffinity(0, sizeof(mine), &mine) < 0)
		return hk_err_set(err, errno, "sched_getaffinity");
	if (CPU_COUNT(&c->cpus) == 0) {
		c->cpus = mine;
	} else {
		CPU_AND(&extra, &c->cpus, &mine);
		CPU_XOR(&extra, &extra, &c->cpus);
		if (CPU_COUNT(&extra) > 0)
			return hk_err_set(err, EINVAL, "CPU %d is not one this process may use",
			                  hk_cpulist_nth(&extra, 0));
	}
	if (c->rt != SCHED_RT_NONE && c->priority < 1)
		return hk_err_set(err, EINVAL, "a realtime policy needs --priority 1 to 99");
	if (c->period_ms < 10 || c->period_ms > 60000)
		return hk_err_set(err, EINVAL, "balancer period %u ms: want 10 to 60000",
		                  c->period_ms);
	return 0;
}

bool sched_cfg_balances(const struct sched_cfg *c)
{
	return c->affinity == SCHED_AFF_ADAPTIVE || c->policy == SCHED_POL_STEAL;
}
