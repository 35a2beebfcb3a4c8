#include "vmm/virtio/rng.h"

#include <sys/random.h>

/* Most bytes one request gets: the guest asks again for more, and a
 * hostile guest cannot make one kick cost unbounded host work. */
#define RNG_MAX_CHAIN (64u << 10)

static uint32_t rng_fill(struct virtio_dev *d, const struct vq_chain *c)
{
	uint32_t done = 0;

	for (unsigned i = c->nr; i < c->nr + c->nw && done < RNG_MAX_CHAIN; i++) {
		size_t want = c->seg[i].len;
		if (want > RNG_MAX_CHAIN - done)
			want = RNG_MAX_CHAIN - done;
		ssize_t n = getrandom(c->seg[i].ptr, want, 0);
		if (n <= 0)
			break;
		done += (uint32_t)n;
	}
	return done;
}

static void rng_notify(struct virtio_dev *d, unsigned qi)
{
	if (qi == 0)
		virtio_drain(d, 0, rng_fill);
}

const struct virtio_dev_ops virtio_rng_ops = {
        .name = "rng",
        .device_id = 4,
        .num_queues = 1,
        .notify = rng_notify,
};
