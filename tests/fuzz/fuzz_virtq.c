/* libFuzzer: a hostile guest's view of a split virtqueue. The input is the
 * guest's memory (descriptor table, rings, buffers); the device pops every
 * chain it offers, reads and writes through it and pushes it back. ASan
 * catches any access outside the exact-size guest memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "vmm/virtio/queue.h"

#define RAM (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_chain c;
	struct vmm_mem mem = {.size = RAM, .fd = -1};
	struct virtq q;
	uint8_t scratch[4096];

	if (size < 4)
		return 0;
	mem.host = calloc(1, RAM); /* exact size: ASan flags a byte beyond */
	if (mem.host == NULL)
		return 0;
	memcpy(mem.host, data + 4, size - 4 < RAM ? size - 4 : RAM);
	vq_reset(&q);
	q.mem = &mem;
	/* The first bytes choose the queue size and features. The rings sit
	 * at the start of memory so that short inputs reach them; a size
	 * beyond 32 makes them overlap, which a guest may do too. */
	q.size = (uint16_t)(1u << (data[0] % 11));
	q.event_idx = data[1] & 1;
	q.desc_gpa = 0x0;
	q.avail_gpa = 0x200;
	q.used_gpa = 0x300;
	if (vq_validate(&q, NULL) == 0) {
		q.ready = true;
		for (int n = 0; n < 2048; n++) {
			cleanup_err hk_err *err = NULL;
			int r = vq_pop(&q, &c, &err);
			if (r <= 0)
				break;
			vq_chain_read(&c, data[2], scratch, sizeof(scratch));
			vq_chain_write(&c, data[3], scratch, sizeof(scratch));
			vq_push(&q, c.head, (uint32_t)c.wlen);
			(void)vq_need_irq(&q);
			vq_set_avail_event(&q);
		}
	}
	free(mem.host);
	return 0;
}
