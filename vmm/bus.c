#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

int vmm_bus_register(struct vmm_bus *bus, uint64_t base, uint64_t len, const struct vmm_io_ops *ops,
                     void *ctx, hk_err **err)
{
	if (len == 0 || base + len < base)
		return hk_err_set(err, EINVAL, "bus range %#llx+%#llx", (unsigned long long)base,
		                  (unsigned long long)len);
	for (unsigned i = 0; i < bus->n; i++) {
		const struct vmm_bus_range *r = &bus->r[i];
		if (base < r->base + r->len && r->base < base + len)
			return hk_err_set(err, EEXIST, "bus range %#llx+%#llx overlaps %#llx",
			                  (unsigned long long)base, (unsigned long long)len,
			                  (unsigned long long)r->base);
	}
	if (bus->n == VMM_BUS_MAX)
		return hk_err_set(err, ENOSPC, "bus full");
	bus->r[bus->n++] = (struct vmm_bus_range){base, len, ops, ctx};
	return 0;
}

bool vmm_bus_access(const struct vmm_bus *bus, uint64_t addr, void *data, uint32_t len,
                    bool is_write)
{
	for (unsigned i = 0; i < bus->n; i++) {
		const struct vmm_bus_range *r = &bus->r[i];
		if (addr < r->base || addr - r->base >= r->len)
			continue;
		/* An access straddling the end is the guest's problem: clip it. */
		uint64_t off = addr - r->base;
		if (len > r->len - off)
			len = (uint32_t)(r->len - off);
		if (is_write) {
			if (r->ops->write)
				r->ops->write(r->ctx, off, data, len);
		} else {
			memset(data, 0xff, len);
			if (r->ops->read)
				r->ops->read(r->ctx, off, data, len);
		}
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
