/* Guest RAM: one memfd (so vhost-user back ends such as virtiofsd can map
 * it), mapped shared and touched lazily. Guest-physical layout: RAM from 0
 * up to the 32-bit hole at 3 GiB, the rest above 4 GiB. Every access the
 * monitor makes on the guest's behalf goes through vmm_mem_ptr(), which
 * refuses ranges that are not wholly inside RAM. */
#ifndef VMM_MEM_H
#define VMM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define VMM_MEM_HOLE_START 0xC0000000ULL  /* 3 GiB: MMIO devices, IOAPIC, LAPIC */
#define VMM_MEM_HIGH_START 0x100000000ULL /* 4 GiB */

struct vmm_mem {
	uint8_t *host; /* the whole of RAM, contiguous on the host side */
	uint64_t size; /* bytes of RAM */
	int fd;        /* the memfd behind it */
};

int vmm_mem_create(struct vmm_mem *m, uint64_t size, bool hugepages, hk_err **err);
void vmm_mem_destroy(struct vmm_mem *m);

/* Bytes of RAM below the hole, and above 4 GiB. */
static inline uint64_t vmm_mem_low_size(const struct vmm_mem *m)
{
	return m->size < VMM_MEM_HOLE_START ? m->size : VMM_MEM_HOLE_START;
}

/* Host address of guest-physical [gpa, gpa + len), or NULL when any byte of
 * it lies outside RAM (or the range wraps). len 0 is valid inside RAM. */
static inline void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t low = vmm_mem_low_size(m), off;

	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= low) {
		off = gpa;
	} else if (gpa >= VMM_MEM_HIGH_START && gpa - VMM_MEM_HIGH_START + len <= m->size - low) {
		off = gpa - VMM_MEM_HIGH_START + low;
	} else {
		return NULL;
	}
	return m->host + off;
}

#endif
