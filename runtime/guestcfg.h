/* What a container's VM is made of: the monitor, kernel and initramfs, the
 * vCPUs and memory. Defaults are built in (the files beside the husk
 * binary: the build tree's guest/ or an install's ../share/husk/), then
 * /etc/husk/husk.json (or $HUSK_CONFIG), then the container's io.husk.*
 * annotations, then what linux.resources implies. The monitor's user is
 * the host's choice alone: husk.json, never an annotation. */
#ifndef RT_GUESTCFG_H
#define RT_GUESTCFG_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "oci/spec.h"

/* Placement of the vCPU threads (vmm/sched/): each a husk-vmm flag, from
 * husk.json's key, then linux.resources.cpu (cpus, mems), then the
 * io.husk.<flag> annotation. NULL: not given. */
enum rt_sched_opt {
	RT_CPU_LIST,
	RT_MEMS,
	RT_AFFINITY,
	RT_SCHED_POLICY,
	RT_PRIORITY,
	RT_REALTIME,
	RT_NSCHED
};
extern const char *const rt_sched_flags[RT_NSCHED]; /* "cpu-list", … */

struct rt_guest {
	char *vmm, *kernel, *initrd;
	unsigned vcpus;
	uint64_t memory_mib;
	char *sched[RT_NSCHED];
	/* husk.json's vmm_uid and vmm_gid, both or neither: the user the
	 * jailed monitor runs as (husk-vmm --uid --gid). */
	bool vmm_ids;
	uint32_t vmm_uid, vmm_gid;
};

#define RT_DEFAULT_VCPUS       1
#define RT_DEFAULT_MEMORY_MIB  256
/* Guest memory beyond the container's limit: kernel, agent, page cache. */
#define RT_MEMORY_OVERHEAD_MIB 64

int rt_guest_config(const struct oci_spec *spec, struct rt_guest *out, hk_err **err);
/* Only the monitor's path: a pod's container has no VM of its own. */
int rt_guest_vmm(struct rt_guest *out, hk_err **err);
void rt_guest_free(struct rt_guest *g);

#endif
