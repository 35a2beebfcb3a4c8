/* The driver's side of a virtio-mmio device, for unit tests that play the
 * guest: 32-bit register access and the start-up handshake up to
 * FEATURES_OK (virtio 1.2 §3.1.1). */
#ifndef HK_TEST_MMIO_DRIVER_H
#define HK_TEST_MMIO_DRIVER_H

#include <stdint.h>

#include "vmm/virtio/virtio.h"

static inline uint32_t rd(struct virtio_dev *d, uint64_t off)
{
	uint32_t v;
	virtio_mmio_ops.read(d, off, &v, 4);
	return v;
}

static inline void wr(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	virtio_mmio_ops.write(d, off, &v, 4);
}

/* Reset, ACKNOWLEDGE|DRIVER, the features it accepts, FEATURES_OK. */
static inline void driver_init(struct virtio_dev *d, uint64_t features)
{
	wr(d, 0x70, 0);
	wr(d, 0x70, 1 | 2);
	wr(d, 0x24, 0);
	wr(d, 0x20, (uint32_t)features);
	wr(d, 0x24, 1);
	wr(d, 0x20, (uint32_t)(features >> 32));
	wr(d, 0x70, 1 | 2 | 8);
}

#endif
