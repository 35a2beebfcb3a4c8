/* The jailer (DESIGN §7): what husk-vmm does to itself once the VM is set
 * up and before any thread serves the guest. In order: rlimits → a new
 * mount namespace with pivot_root into a per-sandbox directory that holds
 * only what the monitor still reaches by path → an unprivileged uid/gid
 * (optional) → no capabilities → no_new_privs. seccomp follows, per thread
 * (policy/seccomp.h). The network namespace was joined before set-up (the
 * taps are made there), and the cgroup is joined before exec by `husk
 * create` (runtime/cgroup.c), which sizes it for the whole VM. */
#ifndef POL_JAIL_H
#define POL_JAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

#define POL_JAIL_MAX_BINDS 8

/* RLIMIT_NOFILE: the vsock device's 1024 connections, the devices'
 * eventfds and a margin; more would only serve a runaway guest. */
#define POL_JAIL_NOFILE 4096

struct pol_jail_bind {
	const char *path; /* a host path, visible at the same path in the jail */
	const char *why;
};

struct pol_jail {
	const char *dir; /* empty directory to pivot into; NULL: no new root */
	struct pol_jail_bind binds[POL_JAIL_MAX_BINDS];
	unsigned nbinds;
	bool proc;     /* a procfs inside (the vCPU balancer reads /proc) */
	bool drop_ids; /* run as uid:gid from here */
	uid_t uid;
	gid_t gid;
	bool keep_nice; /* keep CAP_SYS_NICE: vCPU priorities above nice 0 */
};

/* Validates the configuration (an absolute, existing, empty directory) so
 * a bad --jail fails before the VM is built. */
int pol_jail_check(const struct pol_jail *j, hk_err **err);
/* Adds a path to bind into the jail. */
int pol_jail_add_bind(struct pol_jail *j, const char *path, const char *why, hk_err **err);
/* Runs every step in order. Must be called while the process has one
 * thread: capabilities and the mount namespace are per thread. */
int pol_jail_enter(const struct pol_jail *j, hk_err **err);

#endif
