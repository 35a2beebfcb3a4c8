/* virtio-rng (device id 4): entropy for the guest from the host's
 * getrandom(2). */
#ifndef VMM_VIRTIO_RNG_H
#define VMM_VIRTIO_RNG_H

#include "vmm/virtio/virtio.h"

extern const struct virtio_dev_ops virtio_rng_ops;

#endif
