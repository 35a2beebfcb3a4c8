#include "vmm/virtio/rng.h"

#include <sys/random.h>

#include "lib/cleanup.h"
#include "lib/log.h"

/* Most bytes one request gets: the guest asks again for more, and a
 * hostile guest cannot make one kick cost unbounded host work. */
#define RNG_MAX_CHAIN (64u << 10)

static void rng_notify(struct virtio_dev *d, unsigned qi)
{
	struct virtq *q = &d->vq[0];
	static __thread struct vq_chain c;
	cleanup_err hk_err *err = NULL;
	int r;

	if (qi != 0)
		return;
	for (;;) {
		vq_set_avail_event(q);
		r = vq_pop(q, &c, &err);
		if (r <= 0)
			break;
		uint32_t done = 0;
		for (unsigned i = c.nr; i < c.nr + c.nw && done < RNG_MAX_CHAIN; i++) {
			size_t want = c.seg[i].len;
			if (want > RNG_MAX_CHAIN - done)
				want = RNG_MAX_CHAIN - done;
			ssize_t n = getrandom(c.seg[i].ptr, want, 0);
			if (n <= 0)
				break;
			done += (uint32_t)n;
		}
		vq_push(q, c.head, done);
	}
	if (r < 0)
		virtio_dev_fail(d, err->msg);
	virtio_signal_used(d, 0);
}

const struct virtio_dev_ops virtio_rng_ops = {
        .name = "rng",
        .device_id = 4,
        .num_queues = 1,
        .notify = rng_notify,
};
