/* The VM's cgroup on the host: the monitor and its virtiofsd join it before
 * they run, so what the container's resources reserve (the cpu controller's
 * quota, period, shares and burst: DESIGN §3) bounds the whole sandbox, and
 * `husk update` changes it live. cgroup v2, v1, and the hybrid layout (v1
 * controllers, v2 beside them at /sys/fs/cgroup/unified) are all handled:
 * the cpu controller lives in v2 only on a unified host. The memory and
 * pids controllers bound the whole sandbox too (DESIGN §7): under v1 and
 * hybrid they are hierarchies of their own, with a directory each. */
#ifndef RT_CGROUP_H
#define RT_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "oci/spec.h"

#define RT_CGROUP_VMM       "vmm"
#define RT_CGROUP_VIRTIOFSD "virtiofsd"

struct rt_cgroup {
	char dir[PATH_MAX]; /* the cgroup's directory under the cpu hierarchy */
	bool v2;
	/* v1 and hybrid: the same cgroup under the memory and pids
	 * hierarchies (empty when the host has not mounted one). */
	char mem_dir[PATH_MAX], pids_dir[PATH_MAX];
};

/* What the sandbox may use beyond guest RAM: the monitor's own heap
 * (device buffers, up to 256 KiB of vsock credit a connection), virtiofsd
 * with its page cache (reclaimed under the limit, not refused), and the
 * kernel's KVM and page-table memory charged to the sandbox. Beyond it a
 * hostile guest growing the monitor is stopped by the OOM killer instead
 * of taking the host's memory. */
#define RT_CGROUP_OVERHEAD_MIB 256
/* Tasks: the monitor's threads (loop, balancer, agent client) and
 * virtiofsd's pool of request threads, plus one per vCPU. The guest's own
 * processes are not host tasks. */
#define RT_CGROUP_PIDS_BASE    128

/* The cgroup for container id: linux.cgroupsPath when it is a path, else
 * /husk/ID (a systemd "slice:prefix:name" maps to /slice/prefix-name, as
 * runc's cgroupfs driver does). Created with its parents and its two
 * leaves; the cpu controller enabled on the way down under v2. */
int rt_cgroup_create(const char *cgroups_path, const char *id, struct rt_cgroup *cg, hk_err **err);
/* Writes what linux.resources.cpu asks; unset fields are left alone. */
int rt_cgroup_set_cpu(const struct rt_cgroup *cg, const struct oci_cpu *cpu, hk_err **err);
/* memory: guest RAM + RT_CGROUP_OVERHEAD_MIB; pids: RT_CGROUP_PIDS_BASE +
 * vcpus. */
int rt_cgroup_set_vm_limits(const struct rt_cgroup *cg, uint64_t guest_mib, unsigned vcpus,
                            hk_err **err);
/* The calling process joins the monitor's leaf (between fork and exec: no
 * allocation). */
int rt_cgroup_join_self(const struct rt_cgroup *cg);
/* leaf's directory in each hierarchy the sandbox has (the cpu one first);
 * returns how many, at most 3. */
unsigned rt_cgroup_leaf_dirs(const struct rt_cgroup *cg, const char *leaf,
                             char out[][PATH_MAX + 16]);
/* Ends whatever is left in it and its leaves and removes them, waiting up
 * to timeout_ms for the kernel to let each directory go. */
int rt_cgroup_remove(const struct rt_cgroup *cg, int timeout_ms, hk_err **err);

#endif
