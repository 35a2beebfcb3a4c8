/* libFuzzer: agent frames and envelopes, as either side receives them from
 * the other. A stream of bytes is split into frames and each payload is
 * parsed; nothing may crash, leak or accept an envelope that breaks the
 * documented shape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size > 0) {
		cleanup_err hk_err *err = NULL;
		const uint8_t *p;
		size_t plen, used;
		int r = hk_frame_split(data, size, &p, &plen, &used, &err);
		if (r <= 0)
			break;
		struct hk_msg m;
		if (hk_msg_parse((const char *)p, plen, &m, &err) == 0) {
			if ((m.kind == HK_MSG_REQUEST) != (m.method != NULL) ||
			    (m.kind == HK_MSG_ERROR && m.message == NULL))
				abort();
			hk_msg_free(&m);
		}
		data += used;
		size -= used;
	}
	return 0;
}
