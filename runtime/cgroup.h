/* The VM's cgroup on the host: the monitor and its virtiofsd join it before
 * they run, so what the container's resources reserve (the cpu controller's
 * quota, period, shares and burst: DESIGN §3) bounds the whole sandbox, and
 * `husk update` changes it live. cgroup v2, v1, and the hybrid layout (v1
 * controllers, v2 beside them at /sys/fs/cgroup/unified) are all handled:
 * the cpu controller lives in v2 only on a unified host. */
#ifndef RT_CGROUP_H
#define RT_CGROUP_H

#include <limits.h>
#include <stdbool.h>

#include "lib/error.h"
#include "oci/spec.h"

struct rt_cgroup {
	char dir[PATH_MAX]; /* the cgroup's directory under the cpu hierarchy */
	bool v2;
};

/* The cgroup for container id: linux.cgroupsPath when it is a path, else
 * /husk/ID (a systemd "slice:prefix:name" maps to /slice/prefix-name, as
 * runc's cgroupfs driver does). Created with its parents; the cpu
 * controller enabled on the way down under v2. */
int rt_cgroup_create(const char *cgroups_path, const char *id, struct rt_cgroup *cg, hk_err **err);
/* Writes what linux.resources.cpu asks; unset fields are left alone. */
int rt_cgroup_set_cpu(const struct rt_cgroup *cg, const struct oci_cpu *cpu, hk_err **err);
/* The calling process joins (between fork and exec: no allocation). */
int rt_cgroup_join_self(const struct rt_cgroup *cg);
/* Ends whatever is left in it and removes it, waiting up to timeout_ms for
 * the kernel to let the directory go. */
int rt_cgroup_remove(const struct rt_cgroup *cg, int timeout_ms, hk_err **err);

#endif
