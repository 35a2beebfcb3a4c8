/* CPU lists as Linux writes them ("0-3,8,10-11"): parsed strictly into a
 * cpu_set_t, for vCPU pinning and cgroup cpusets. */
#ifndef HK_CPULIST_H
#define HK_CPULIST_H

#include <sched.h>
#include <stddef.h>

#include "lib/error.h"

int hk_cpulist_parse(const char *s, cpu_set_t *set, hk_err **err);
/* The n-th CPU of set (0-based), or -1. */
int hk_cpulist_nth(const cpu_set_t *set, unsigned n);

#endif
