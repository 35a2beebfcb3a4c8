/* libFuzzer: vsock packet headers from a hostile guest. Whatever the bytes,
 * the parser either refuses them with a reason or returns a header whose
 * length fits the payload present and whose addressing is the guest's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/virtio/vsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsock_hdr h;
	const char *why = NULL;
	uint8_t again[VSOCK_HDR_SIZE];

	if (size < VSOCK_HDR_SIZE)
		return 0;
	uint64_t payload = size - VSOCK_HDR_SIZE;
	if (vsock_hdr_parse(data, payload, 3, &h, &why) < 0) {
		if (why == NULL)
			abort();
		return 0;
	}
	if (h.len > payload || h.src_cid != 3 || h.dst_cid != VSOCK_HOST_CID ||
	    h.type != VSOCK_TYPE_STREAM || (h.op != VSOCK_OP_RW && h.len))
		abort();
	vsock_hdr_encode(&h, again);
	if (memcmp(again, data, VSOCK_HDR_SIZE) != 0)
		abort(); /* the encoder must be the parser's inverse */
	return 0;
}
