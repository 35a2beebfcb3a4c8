/* libFuzzer: virtio-blk requests from a hostile guest against a small disk
 * image (a memfd). The input is guest memory holding a descriptor table,
 * rings and buffers; every chain is served as a request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "vmm/virtio/blk.h"

#define RAM (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_chain c;
	static struct virtio_blk b = {.fd = -1};
	struct vmm_mem mem = {.size = RAM, .fd = -1};
	struct virtq q;

	if (b.fd < 0) {
		b.fd = memfd_create("fuzz-disk", 0);
		if (b.fd < 0 || ftruncate(b.fd, 64 << 10) < 0)
			abort();
		b.sectors = 128;
		memcpy(b.serial, "fuzz", 4);
	}
	if (size < 2)
		return 0;
	b.readonly = data[1] & 1;
	mem.host = calloc(1, RAM);
	if (mem.host == NULL)
		return 0;
	memcpy(mem.host, data + 2, size - 2 < RAM ? size - 2 : RAM);
	vq_reset(&q);
	q.mem = &mem;
	q.size = (uint16_t)(1u << (data[0] % 6));
	q.avail_gpa = 0x200; /* near the start: short inputs reach the rings */
	q.used_gpa = 0x300;
	if (vq_validate(&q, NULL) == 0) {
		q.ready = true;
		for (int n = 0; n < 256; n++) {
			cleanup_err hk_err *err = NULL;
			if (vq_pop(&q, &c, &err) <= 0)
				break;
			vq_push(&q, c.head, virtio_blk_request(&b, &c));
		}
	}
	free(mem.host);
	return 0;
}
