/* Split virtqueues, device side (virtio 1.2 §2.7). The guest owns the
 * rings and may rewrite them at any moment from another vCPU, so each
 * descriptor is copied out once and checked before use, indices are read
 * with acquire ordering, and nothing the guest wrote is trusted to be the
 * same twice. */
#include "vmm/virtio/queue.h"

#include <errno.h>
#include <string.h>

#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Ring layouts (little endian; x86 only, so no byte swapping). */
static inline uint16_t *avail_flags(struct virtq *q)
{
	return vmm_mem_ptr(q->mem, q->avail_gpa, 2);
}

static inline uint16_t *avail_idx(struct virtq *q)
{
	return vmm_mem_ptr(q->mem, q->avail_gpa + 2, 2);
}

static inline uint16_t *avail_ring(struct virtq *q)
{
	return vmm_mem_ptr(q->mem, q->avail_gpa + 4, 2ULL * q->size);
}

static inline uint16_t *used_event(struct virtq *q)
{
	return vmm_mem_ptr(q->mem, q->avail_gpa + 4 + 2ULL * q->size, 2);
}

static inline uint16_t *used_idx(struct virtq *q)
{
	return vmm_mem_ptr(q->mem, q->used_gpa + 2, 2);
}

static inline uint8_t *used_ring(struct virtq *q)
{
	return vmm_mem_ptr(q->mem, q->used_gpa + 4, 8ULL * q->size);
}

static inline uint16_t *avail_event(struct virtq *q)
{
	return vmm_mem_ptr(q->mem, q->used_gpa + 4 + 8ULL * q->size, 2);
}

int vq_validate(struct virtq *q, hk_err **err)
{
	uint64_t n = q->size;

	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return hk_err_set(err, EINVAL, "queue size %llu", (unsigned long long)n);
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return hk_err_set(err, EINVAL, "misaligned ring");
	/* Event-idx fields included: they are part of the layout either way. */
	if (!vmm_mem_ptr(q->mem, q->desc_gpa, 16 * n) ||
	    !vmm_mem_ptr(q->mem, q->avail_gpa, 6 + 2 * n) ||
	    !vmm_mem_ptr(q->mem, q->used_gpa, 6 + 8 * n))
		return hk_err_set(err, EFAULT, "ring outside guest memory");
	return 0;
}

void vq_reset(struct virtq *q)
{
	struct vmm_mem *mem = q->mem;

	memset(q, 0, sizeof(*q));
	q->mem = mem;
}

static int broken(struct virtq *q, hk_err **err, const char *why)
{
	q->broken = true;
	return hk_err_set(err, EPROTO, "virtqueue: %s", why);
}

/* Reads descriptor i of a table once, into a local copy. */
static void read_desc(const uint8_t *table, uint32_t i, struct vq_desc *d)
{
	memcpy(d, table + 16ULL * i, sizeof(*d));
}

/* Adds one buffer to the chain, enforcing readable-before-writable. */
static int add_seg(struct virtq *q, struct vq_chain *c, const struct vq_desc *d, hk_err **err)
{
	unsigned n = c->nr + c->nw;
	uint8_t *p;

	if (n == VQ_MAX_SEGS)
		return broken(q, err, "chain too long");
	p = vmm_mem_ptr(q->mem, d->addr, d->len);
	if (p == NULL)
		return broken(q, err, "buffer outside guest memory");
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		c->nw++;
		c->wlen += d->len;
	} else {
		if (c->nw)
			return broken(q, err, "readable buffer after a writable one");
		c->nr++;
		c->rlen += d->len;
	}
	c->seg[n] = (struct vq_buf){p, d->len};
	return 0;
}

static int walk_indirect(struct virtq *q, struct vq_chain *c, const struct vq_desc *ind,
                         hk_err **err)
{
	if (ind->flags & VIRTQ_DESC_F_NEXT)
		return broken(q, err, "indirect descriptor with NEXT");
	if (ind->len == 0 || ind->len % 16 || ind->len / 16 > VQ_MAX_SEGS)
		return broken(q, err, "bad indirect table length");
	uint32_t n = ind->len / 16;
	const uint8_t *table = vmm_mem_ptr(q->mem, ind->addr, ind->len);
	if (table == NULL)
		return broken(q, err, "indirect table outside guest memory");
	uint32_t i = 0;
	/* Each entry visited at most once: n steps bound any loop. */
	for (uint32_t steps = 0;; steps++) {
		struct vq_desc d;
		if (steps == n)
			return broken(q, err, "loop in indirect table");
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return broken(q, err, "nested indirect table");
		if (add_seg(q, c, &d, err) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return broken(q, err, "indirect next out of range");
		i = d.next;
	}
}

int vq_pop(struct virtq *q, struct vq_chain *c, hk_err **err)
{
	if (q->broken || !q->ready)
		return 0;
	uint16_t avail = __atomic_load_n(avail_idx(q), __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return broken(q, err, "available index ran ahead of the ring");
	uint16_t head = __atomic_load_n(&avail_ring(q)[q->last_avail % q->size], __ATOMIC_RELAXED);
	if (head >= q->size)
		return broken(q, err, "head descriptor out of range");
	q->last_avail++;

	const uint8_t *table = vmm_mem_ptr(q->mem, q->desc_gpa, 16ULL * q->size);
	c->head = head;
	c->nr = c->nw = 0;
	c->rlen = c->wlen = 0;
	uint16_t i = head;
	for (uint32_t steps = 0;; steps++) {
		struct vq_desc d;
		if (steps == q->size)
			return broken(q, err, "loop in descriptor chain");
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* An indirect descriptor stands alone in its chain here:
			 * mixing it with direct ones is allowed by nothing we offer. */
			if (c->nr + c->nw)
				return broken(q, err, "indirect descriptor inside a chain");
			return walk_indirect(q, c, &d, err) < 0 ? -1 : 1;
		}
		if (add_seg(q, c, &d, err) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 1;
		if (d.next >= q->size)
			return broken(q, err, "next descriptor out of range");
		i = d.next;
	}
}

void vq_unpop(struct virtq *q)
{
	q->last_avail--;
}

void vq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	uint8_t *ring = used_ring(q);
	uint16_t *idx = used_idx(q);
	uint32_t elem[2] = {head, written};

	if (ring == NULL || idx == NULL)
		return;
	memcpy(ring + 8ULL * (q->used_idx % q->size), elem, sizeof(elem));
	q->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(idx, q->used_idx, __ATOMIC_RELEASE);
}

bool vq_need_irq(struct virtq *q)
{
	uint16_t old = q->signalled_used, new = q->used_idx;
	bool valid = q->signalled_valid;

	if (!q->ready)
		return false;
	/* Pairs with the driver's update of used_event / flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = new;
	q->signalled_valid = true;
	if (!q->event_idx)
		return !(__atomic_load_n(avail_flags(q), __ATOMIC_RELAXED) &
		         VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	uint16_t event = __atomic_load_n(used_event(q), __ATOMIC_RELAXED);
	/* vring_need_event: did new pass event since old? */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void vq_set_avail_event(struct virtq *q)
{
	if (!q->event_idx || !q->ready)
		return;
	__atomic_store_n(avail_event(q), q->last_avail, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static size_t copy(const struct vq_chain *c, unsigned first, unsigned count, uint64_t off,
                   void *dst, const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned i = first; i < first + count && done < len; i++) {
		const struct vq_buf *b = &c->seg[i];
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		size_t n = b->len - off;
		if (n > len - done)
			n = len - done;
		if (dst)
			memcpy((uint8_t *)dst + done, b->ptr + off, n);
		else
			memcpy(b->ptr + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, size_t len)
{
	return copy(c, 0, c->nr, off, dst, NULL, len);
}

size_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, size_t len)
{
	return copy(c, c->nr, c->nw, off, NULL, src, len);
}
