/* virtio-blk (device id 2) on a raw image file: read, write, flush,
 * discard (punching holes), get-id; optionally read-only. */
#ifndef VMM_VIRTIO_BLK_H
#define VMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio/virtio.h"

struct virtio_blk {
	int fd;
	bool readonly;
	uint64_t sectors; /* capacity in 512-byte sectors */
	char serial[20];
};

extern const struct virtio_dev_ops virtio_blk_ops, virtio_blk_ro_ops;

int virtio_blk_open(struct virtio_blk *b, const char *path, bool readonly, hk_err **err);
void virtio_blk_close(struct virtio_blk *b);

/* Serves one request chain (exposed for the unit tests and the fuzzer):
 * returns the bytes written into the chain, status byte included. */
uint32_t virtio_blk_request(struct virtio_blk *b, const struct vq_chain *c);

#endif
