/* Port I/O and MMIO dispatch: devices register an address range with a
 * const ops table; a vCPU exit is routed by address. Registration happens
 * before the vCPUs start, so lookups need no lock; each device serialises
 * its own state. */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"

struct vmm_io_ops {
	/* off is relative to the registered base; len is 1, 2, 4 or 8. Reads
	 * must fill all len bytes (little endian). */
	void (*read)(void *ctx, uint64_t off, void *data, uint32_t len);
	void (*write)(void *ctx, uint64_t off, const void *data, uint32_t len);
};

struct vmm_bus_range {
	uint64_t base, len;
	const struct vmm_io_ops *ops;
	void *ctx;
};

#define VMM_BUS_MAX 32

struct vmm_bus {
	struct vmm_bus_range r[VMM_BUS_MAX];
	unsigned n;
};

int vmm_bus_register(struct vmm_bus *bus, uint64_t base, uint64_t len, const struct vmm_io_ops *ops,
                     void *ctx, hk_err **err);

/* Returns false when nothing is registered there (reads then see all ones,
 * as on real hardware). */
bool vmm_bus_access(const struct vmm_bus *bus, uint64_t addr, void *data, uint32_t len,
                    bool is_write);

#endif
