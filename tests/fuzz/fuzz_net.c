/* libFuzzer: virtio-net driven by a hostile guest. The input is the guest's
 * memory (descriptor tables, rings, headers and frames for both queues) and
 * a few control bytes: queue sizes, negotiated features, frames the host
 * side sends towards the guest and how the guest moves its rings between
 * two rounds. The tap is one end of a datagram socketpair (no root needed;
 * a small queue, so tx meets EAGAIN and the EPOLLOUT path); the event loop
 * runs for real between rounds. Whatever the bytes, ASan sees no access
 * outside the exact-size guest memory, and every frame the device counts as
 * sent reached the other end whole. */
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "vmm/virtio/net.h"

#define RAM  (64u << 10)
#define CTRL 8

#define F(bit) (1ULL << (bit))

/* Feature choices the control byte picks from. GUEST_CSUM is not among
 * them: it asks the tap for offloads, which a socket cannot take. */
static const uint64_t feature_bits[] = {
        F(VIRTIO_NET_F_MRG_RXBUF),  F(29) /* EVENT_IDX */,     F(VIRTIO_NET_F_CSUM),
        F(VIRTIO_NET_F_HOST_TSO4),  F(VIRTIO_NET_F_HOST_TSO6), F(VIRTIO_NET_F_HOST_ECN),
        F(VIRTIO_NET_F_GUEST_TSO4), F(VIRTIO_NET_F_MTU),
};

struct totals {
	uint64_t packets, bytes;
};

/* Takes everything the device sent; each datagram is one frame. */
static void drain(int fd, struct totals *t)
{
	static uint8_t buf[VIRTIO_NET_HDR_SIZE + (64u << 10) + 64];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		if (n < VIRTIO_NET_HDR_SIZE)
			abort(); /* the device never sends less than a header */
		t->packets++;
		t->bytes += (uint64_t)n - VIRTIO_NET_HDR_SIZE;
	}
}

/* The host side sends frames towards the guest: lengths from the control
 * bytes (runts and frames over the limit included), bytes from the input. */
static void inject(int fd, const uint8_t *ctrl, const uint8_t *data, size_t size)
{
	static uint8_t frame[VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MAX_FRAME + 16];
	unsigned count = ctrl[2] & 7;
	uint32_t scale = (uint32_t)ctrl[3] << 8 | ctrl[4];

	for (unsigned i = 0; i < count; i++) {
		size_t len = ((size_t)scale * (i + 1) * 37) % sizeof(frame);
		for (size_t k = 0; k < len; k++)
			frame[k] = size ? data[(k + i) % size] : (uint8_t)k;
		(void)!send(fd, frame, len, MSG_DONTWAIT);
	}
}

static void queue(struct virtio_dev *d, unsigned qi, uint16_t size, uint64_t desc, bool event_idx)
{
	struct virtq *q = &d->vq[qi];

	vq_reset(q);
	q->size = size;
	q->desc_gpa = desc;
	q->avail_gpa = desc + 0x200;
	q->used_gpa = desc + 0x300;
	q->event_idx = event_idx;
	q->ready = vq_validate(q, NULL) == 0;
}

/* The guest posts more: its avail index moves on by k. */
static void bump_avail(struct vmm_mem *m, const struct virtq *q, unsigned k)
{
	uint16_t idx;

	memcpy(&idx, m->host + q->avail_gpa + 2, 2);
	idx = (uint16_t)(idx + k);
	memcpy(m->host + q->avail_gpa + 2, &idx, 2);
}

/* One turn of the event loop: what the tap is ready for is served, then
 * the stop (it became ready last, so epoll reports it last). */
static void spin(struct vmm_loop *l)
{
	hk_err *err = NULL;

	vmm_loop_stop(l, 0);
	vmm_loop_run(l, &err);
	hk_err_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	static bool quiet;
	struct vmm_mem mem = {.size = RAM, .fd = -1};
	struct virtio_dev d;
	struct virtio_net n;
	struct vmm_loop l;
	struct totals sent = {0};
	hk_err *err = NULL;
	int sv[2];

	if (!quiet) {
		/* Device failures are the point here, not news. */
		(void)hk_log_open(NULL, HK_LOG_TEXT, HK_LOG_ERROR, &err);
		hk_err_free(&err);
		quiet = true;
	}
	if (size < CTRL)
		return 0;
	const uint8_t *ctrl = data;
	data += CTRL;
	size -= CTRL;
	uint64_t features = F(32);
	for (unsigned i = 0; i < 8; i++)
		if (ctrl[1] & (1u << i))
			features |= feature_bits[i];
	mem.host = calloc(1, RAM); /* exact size: ASan flags a byte beyond */
	if (mem.host == NULL)
		return 0;
	memcpy(mem.host, data, size < RAM ? size : RAM);
	if (vmm_loop_init(&l, &err) < 0 ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (virtio_dev_init(&d, &virtio_net_ops, &n, &mem, NULL, 0, 5, -1, &err) < 0 ||
	    virtio_net_open(&n, sv[0], mac, 1500, &l, &err) < 0)
		abort();
	n.dev = &d;
	/* Queues near the start of memory so short inputs reach them; they
	 * may overlap, as a guest's may. */
	bool event_idx = features & F(29);
	queue(&d, 0, (uint16_t)(1u << (ctrl[0] % 6)), 0x0, event_idx);
	queue(&d, 1, (uint16_t)(1u << (ctrl[0] / 6 % 6)), 0x800 * (ctrl[5] & 3), event_idx);
	d.driver_features = features;
	d.status = 15;
	if (d.ops->activate(&d, &err) < 0)
		abort();

	/* Round one: frames wait in the tap, the guest kicks both queues. */
	inject(sv[1], ctrl, data, size);
	d.ops->notify(&d, 1);
	d.ops->notify(&d, 0);
	drain(sv[1], &sent);
	/* Round two: the guest posts more, the loop serves the tap (EPOLLIN,
	 * and EPOLLOUT if tx met a full queue), then kicks again. */
	bump_avail(&mem, &d.vq[0], ctrl[6] & 7);
	bump_avail(&mem, &d.vq[1], ctrl[6] >> 3 & 7);
	inject(sv[1], ctrl + 1, data, size);
	spin(&l);
	drain(sv[1], &sent);
	if (ctrl[7] & 1)
		d.ops->notify(&d, 0);
	if (ctrl[7] & 2)
		d.ops->notify(&d, 1);
	drain(sv[1], &sent);

	/* Every frame counted as sent arrived whole, and nothing else did. */
	if (sent.packets != n.stats.tx_packets || sent.bytes != n.stats.tx_bytes)
		abort();
	d.ops->reset(&d);
	virtio_net_close(&n);
	virtio_dev_fini(&d);
	vmm_loop_fini(&l);
	close(sv[1]);
	free(mem.host);
	return 0;
}
