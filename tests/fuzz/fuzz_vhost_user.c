/* libFuzzer: replies from a vhost-user back end (virtiofsd runs outside the
 * monitor and is not trusted with the monitor's memory). The checker must
 * accept only a reply to the request asked, with the reply flag, version 1
 * and exactly the payload size expected. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "vmm/vhost_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cleanup_err hk_err *err = NULL;
	uint32_t req, flags, len;

	if (size < 2)
		return 0;
	uint32_t want_req = data[0] % 20, want_size = (data[1] % 3) * 8;
	data += 2;
	size -= 2;
	if (vhu_check_reply(data, size, want_req, want_size, &err) < 0) {
		if (err == NULL || err->msg == NULL)
			abort();
		return 0;
	}
	memcpy(&req, data, 4);
	memcpy(&flags, data + 4, 4);
	memcpy(&len, data + 8, 4);
	if (size < VHU_HDR_SIZE || req != want_req || len != want_size ||
	    size != VHU_HDR_SIZE + len || !(flags & 4) || (flags & 3) != 1)
		abort();
	return 0;
}
