/* Guest memory near its vCPUs: the NUMA nodes of the CPU list (from sysfs),
 * and mbind(MPOL_BIND) of the guest's memory to them. A host without NUMA
 * has one node, 0, and the binding is then a formality the kernel accepts. */
#include <dirent.h>
#include <errno.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/util.h"
#include "vmm/sched/sched.h"

/* The node directory sysfs gives each CPU ("node0"), or -1. */
static int node_of(int cpu)
{
	char path[64];
	int node = -1;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", cpu);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		uint64_t v;
		if (strncmp(e->d_name, "node", 4) == 0 && hk_parse_u64(e->d_name + 4, &v) == 0 &&
		    v < CPU_SETSIZE) {
			node = (int)v;
			break;
		}
	}
	closedir(d);
	return node;
}

int sched_nodes_of_cpus(const cpu_set_t *cpus, cpu_set_t *nodes, hk_err **err)
{
	CPU_ZERO(nodes);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, cpus))
			continue;
		int n = node_of(c);
		CPU_SET(n < 0 ? 0 : n, nodes); /* no NUMA information: one node */
	}
	if (CPU_COUNT(nodes) == 0)
		return hk_err_set(err, EINVAL, "no CPUs, so no memory nodes");
	return 0;
}

int sched_bind_memory(void *addr, size_t len, const cpu_set_t *nodes, hk_err **err)
{
	unsigned long mask[CPU_SETSIZE / (8 * sizeof(unsigned long))] = {0};
	const unsigned bits = 8 * sizeof(unsigned long);

	for (unsigned n = 0; n < CPU_SETSIZE; n++) {
		if (!CPU_ISSET(n, nodes))
			continue;
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%u", n);
		/* A host without the node directory has no NUMA: node 0 only. */
		if (stat(path, &st) < 0 && !(n == 0 && errno == ENOENT))
			return hk_err_set(err, EINVAL, "memory node %u does not exist", n);
		mask[n / bits] |= 1UL << (n % bits);
	}
	if (syscall(SYS_mbind, addr, len, MPOL_BIND, mask, (unsigned long)CPU_SETSIZE, 0UL) < 0) {
		/* Kernels built without NUMA have no mbind: nothing to bind to. */
		if (errno == ENOSYS)
			return 0;
		return hk_err_set(err, errno, "mbind guest memory");
	}
	return 0;
}
