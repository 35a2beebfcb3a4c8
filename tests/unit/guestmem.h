/* Synthetic guest memory for device tests and fuzzers: a real struct
 * vmm_mem over a plain mapping, and helpers to lay out a split ring. */
#ifndef HUSK_TEST_GUESTMEM_H
#define HUSK_TEST_GUESTMEM_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/mem.h"
#include "vmm/virtio/queue.h"

#define GM_SIZE  (1u << 20)
#define GM_DESC  0x1000
#define GM_AVAIL 0x2000
#define GM_USED  0x3000
#define GM_DATA  0x10000

static inline int gm_init(struct vmm_mem *m, uint64_t size)
{
	m->size = size;
	m->fd = -1;
	m->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return m->host == MAP_FAILED ? -1 : 0;
}

static inline void gm_fini(struct vmm_mem *m)
{
	munmap(m->host, m->size);
}

static inline void gm_queue(struct virtq *q, struct vmm_mem *m, uint16_t size)
{
	vq_reset(q);
	q->mem = m;
	q->size = size;
	q->desc_gpa = GM_DESC;
	q->avail_gpa = GM_AVAIL;
	q->used_gpa = GM_USED;
	q->ready = true;
}

static inline void gm_desc(struct vmm_mem *m, uint64_t table, uint16_t i, uint64_t addr,
                           uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = m->host + table + 16ULL * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Makes head the next available chain. */
static inline void gm_avail(struct vmm_mem *m, struct virtq *q, uint16_t head)
{
	uint16_t idx;
	memcpy(&idx, m->host + GM_AVAIL + 2, 2);
	memcpy(m->host + GM_AVAIL + 4 + 2 * (idx % q->size), &head, 2);
	idx++;
	memcpy(m->host + GM_AVAIL + 2, &idx, 2);
}

#endif
