/* Split virtqueues (virtio 1.2 §2.7) seen from the device side. Everything
 * in the rings is written by a hostile guest: vq_pop() validates each
 * descriptor (addresses inside RAM, lengths that do not overflow, chains
 * without loops, one level of indirection with a sane table) and hands the
 * device host pointers it may use directly. Devices never see a gpa. */
#ifndef VMM_VIRTQ_H
#define VMM_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "vmm/mem.h"

#define VQ_MAX_SIZE 1024 /* largest queue we offer (QueueNumMax) */
#define VQ_MAX_SEGS 1024 /* most buffers in one chain, indirect ones included */

struct vq_buf {
	uint8_t *ptr; /* host address, valid for len bytes */
	uint32_t len;
};

/* One popped descriptor chain: the device-readable buffers come first (the
 * spec requires it), then the device-writable ones. */
struct vq_chain {
	uint16_t head;
	unsigned nr, nw; /* readable, writable segment counts */
	uint64_t rlen, wlen;
	struct vq_buf seg[VQ_MAX_SEGS]; /* seg[0..nr) readable, seg[nr..nr+nw) writable */
};

struct virtq {
	/* Set by the transport from the driver's registers. */
	struct vmm_mem *mem;
	uint16_t size;
	bool ready;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Device-side progress. */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_valid;
	bool broken; /* the guest broke the rules; the device must stop using it */
};

/* Checks the ring addresses and sizes the driver wrote; called at
 * QueueReady. Fails when a ring is not wholly inside RAM or misaligned. */
int vq_validate(struct virtq *q, hk_err **err);

/* Takes the next available chain. Returns 1 with c filled, 0 when the ring
 * is empty, -1 (and marks the queue broken) when the guest wrote garbage. */
int vq_pop(struct virtq *q, struct vq_chain *c, hk_err **err);

/* Gives back the chain just popped, unused (the device had nothing to put
 * in it after all). Only valid right after a successful vq_pop. */
void vq_unpop(struct virtq *q);

/* Returns a chain to the driver with `written` bytes written to it. */
void vq_push(struct virtq *q, uint16_t head, uint32_t written);

/* Whether the driver wants an interrupt for what was pushed since the last
 * call (honours VIRTIO_F_EVENT_IDX and VIRTQ_AVAIL_F_NO_INTERRUPT). */
bool vq_need_irq(struct virtq *q);

/* With event idx: tells the driver to kick us when avail passes what we
 * have consumed (set before the final "ring empty" check). */
void vq_set_avail_event(struct virtq *q);

void vq_reset(struct virtq *q);

/* Copy helpers across segments; return bytes copied. */
size_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, size_t len);
size_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, size_t len);

#endif
