/* virtio-net with a tap back end (see net.h).
 *
 * tx: a chain is the 12-byte header and the frame, device-readable only.
 * The header is checked against what was negotiated and copied (so the
 * guest cannot change it between the check and the write); the frame goes
 * to the tap in the same writev, straight from the guest's buffers.
 *
 * rx: frames are read from the tap straight into the guest's buffers. Under
 * MRG_RXBUF the device gathers chains for a frame of the MTU; a larger one
 * (a GSO frame of up to 64 KiB) spills into a bounce buffer, which is
 * copied out once there are chains for all of it, so small frames never pay
 * for popping and giving back dozens of chains. When the guest has no
 * buffers the tap is not watched: frames wait in the tap's queue, nothing
 * spins on a level-triggered fd, and the guest's next rx kick resumes. */
#include "vmm/virtio/net.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

#define Q_RX 0
#define Q_TX 1

#define HDR          VIRTIO_NET_HDR_SIZE
#define RX_MAX       (HDR + VIRTIO_NET_MAX_FRAME)
#define TX_MAX       (HDR + (64u << 10)) /* the largest GSO frame, and its header */
#define RX_BATCH     64                  /* frames per wake-up before others get the loop */
#define ETH_OVERHEAD (14 + 4)            /* Ethernet header and one VLAN tag beyond the MTU */
#define CONFIG_SIZE  12                  /* mac, status, max_virtqueue_pairs, mtu */

#define F(bit) (1ULL << (bit))

_Static_assert(sizeof(struct virtio_net_hdr_v1) == HDR, "VERSION_1 header size");
/* The tap writes header fields in host order unless told TUNSETVNETLE;
 * VERSION_1 wants little-endian, which the host is. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host");
/* A tx chain becomes one writev (with the header copy in front, which
 * takes one more iovec only when the header ends inside a buffer). */
_Static_assert(VQ_MAX_SEGS <= IOV_MAX, "a chain fits one writev");

/* ---- helpers --------------------------------------------------------------- */

static bool live(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Counts a lost frame; logs at most once a second so a guest (or a flood
 * from the host side) cannot fill the log. */
static void note_drop(struct virtio_net *n, uint64_t *counter, const char *why)
{
	struct timespec now;

	(*counter)++;
	n->unlogged++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec == n->log_sec)
		return;
	n->log_sec = now.tv_sec;
	hk_warn("virtio-net: %s (%llu dropped since the last report)", why,
	        (unsigned long long)n->unlogged);
	n->unlogged = 0;
}

static void watch(struct virtio_net *n)
{
	uint32_t ev = (n->rx_on ? EPOLLIN : 0) | (n->tx_blocked ? EPOLLOUT : 0);

	if (n->tap_gone || ev == n->events)
		return;
	n->events = ev;
	(void)vmm_loop_mod(n->loop, n->tap_fd, ev, NULL);
}

/* The tap hung up or failed for good (its interface was deleted): epoll
 * reports that whatever we ask for, so the fd leaves the loop. */
static void tap_failed(struct virtio_net *n, int code)
{
	if (n->tap_gone)
		return;
	hk_warn("virtio-net: the tap failed (%s); no more frames",
	        code ? strerror(code) : "hang-up");
	n->tap_gone = true;
	n->rx_on = n->tx_blocked = false;
	vmm_loop_del(n->loop, n->tap_fd);
}

/* Next chain of queue qi, with the event-idx dance (publish avail_event,
 * look again) so the driver kicks when it adds more. A broken ring fails
 * the device. */
static int pop(struct virtio_dev *d, unsigned qi, struct vq_chain *c)
{
	struct virtq *q = &d->vq[qi];
	hk_err *err = NULL;
	int r = vq_pop(q, c, &err);

	if (r == 0) {
		vq_set_avail_event(q);
		r = vq_pop(q, c, &err);
	}
	if (r < 0) {
		virtio_dev_fail(d, err ? err->msg : "broken virtqueue");
		hk_err_free(&err);
	}
	return r;
}

static void unpop(struct virtq *q, unsigned k)
{
	while (k--)
		vq_unpop(q);
}

/* Copies between buf and the bytes at off of an iovec list. */
static void iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len,
                     bool to_iov)
{
	uint8_t *b = buf;

	for (unsigned i = 0; i < n && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len)
			k = len;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, b, k);
		else
			memcpy(b, (uint8_t *)iov[i].iov_base + off, k);
		b += k;
		len -= k;
		off = 0;
	}
}

/* ---- tx: guest → tap ----------------------------------------------------------- */

/* What the guest may ask of the tap is what it negotiated (§5.1.6.2); the
 * kernel checks the rest of the header (csum_start inside the frame…). */
static const char *tx_hdr_check(uint64_t f, const struct virtio_net_hdr_v1 *h)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return "tx header with unknown flags";
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(f & F(VIRTIO_NET_F_CSUM)))
		return "tx checksum offload not negotiated";
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && !(f & F(VIRTIO_NET_F_HOST_TSO4))) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !(f & F(VIRTIO_NET_F_HOST_TSO6))))
		return "tx segmentation not negotiated";
	if (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
	    gso != VIRTIO_NET_HDR_GSO_TCPV6)
		return "tx header with an unknown segmentation type";
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    (gso == VIRTIO_NET_HDR_GSO_NONE || !(f & F(VIRTIO_NET_F_HOST_ECN))))
		return "tx ECN segmentation not negotiated";
	return NULL;
}

/* Sends one chain, or drops it with a count. Returns -1 when the tap is
 * full (the chain is still ours), 0 when it is done with. */
static int tx_one(struct virtio_net *n, const struct vq_chain *c)
{
	static __thread struct iovec iov[IOV_MAX];
	struct virtio_net_hdr_v1 h;
	const char *why = NULL;
	unsigned k = 1;
	ssize_t w;

	if (c->nw)
		why = "tx chain with device-writable buffers";
	else if (c->rlen < HDR)
		why = "tx chain shorter than its header";
	else if (c->rlen > TX_MAX)
		why = "tx frame over 64 KiB";
	else if (c->nr == IOV_MAX)
		why = "tx chain with more buffers than one writev takes";
	else if (vq_chain_read(c, 0, &h, HDR) == HDR)
		why = tx_hdr_check(n->features, &h);
	if (why) {
		note_drop(n, &n->stats.tx_dropped, why);
		return 0;
	}
	h.num_buffers = 0; /* unused on tx (§5.1.6.2) */
	iov[0] = (struct iovec){&h, HDR};
	uint64_t skip = HDR;
	for (unsigned i = 0; i < c->nr; i++) {
		uint64_t s = skip < c->seg[i].len ? skip : c->seg[i].len;
		skip -= s;
		if (c->seg[i].len > s)
			iov[k++] = (struct iovec){c->seg[i].ptr + s, c->seg[i].len - s};
	}
	do
		w = writev(n->tap_fd, iov, (int)k);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EAGAIN)
		return -1;
	if (w < 0) {
		/* EIO while the interface is down, EINVAL for a header the
		 * kernel refuses: the frame is lost, the device goes on. */
		note_drop(n, &n->stats.tx_dropped, "the tap refused a tx frame");
		return 0;
	}
	n->stats.tx_packets++;
	n->stats.tx_bytes += c->rlen - HDR;
	return 0;
}

/* Sends every chain the guest has posted. When the tap is full the chain
 * goes back on the ring and EPOLLOUT brings us back: stopping, rather than
 * dropping, keeps TCP in the guest out of loss recovery, and the guest
 * sees its tx ring fill and slows down on its own. */
static void tx_drain(struct virtio_net *n)
{
	static __thread struct vq_chain c;
	struct virtio_dev *d = n->dev;
	struct virtq *q = &d->vq[Q_TX];
	bool pushed = false;

	while (!n->tx_blocked && !n->tap_gone && pop(d, Q_TX, &c) > 0) {
		if (tx_one(n, &c) < 0) {
			vq_unpop(q);
			n->tx_blocked = true;
			watch(n);
			break;
		}
		vq_push(q, c.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_signal_used(d, Q_TX);
}

/* ---- rx: tap → guest ----------------------------------------------------------- */

enum rx_state {
	RX_MORE,  /* a frame was handled: go on */
	RX_EMPTY, /* the tap has nothing more: wait for EPOLLIN */
	RX_STALL, /* no room in the guest (or no device): wait for an rx kick */
};

/* Chains popped for one frame: their writable buffers as one iovec list
 * (room kept for the spill into the bounce buffer) and each chain's share. */
struct rx_gather {
	struct iovec iov[IOV_MAX];
	struct {
		uint16_t head;
		uint32_t cap;
	} slot[VQ_MAX_SIZE];
	unsigned niov, nslots;
	uint32_t cap;   /* bytes of guest buffer gathered, at most RX_MAX */
	bool exhausted; /* the ring ran dry before `need` was met */
};

static __thread struct rx_gather rx_g;

/* Pops chains until they hold need bytes, or max chains. An rx chain the
 * device cannot use by the rules (a readable buffer, or shorter than the
 * header every buffer must hold) fails the device: giving it back empty
 * would leave chains popped before it unable to go back in order. */
static int gather(struct virtio_net *n, struct rx_gather *g, uint32_t need, unsigned max)
{
	static __thread struct vq_chain c;
	struct virtio_dev *d = n->dev;

	if (need > RX_MAX)
		need = RX_MAX; /* an MTU near 64 KiB: every chain must add room */
	g->niov = g->nslots = 0;
	g->cap = 0;
	g->exhausted = false;
	while (g->cap < need && g->nslots < max) {
		int r = pop(d, Q_RX, &c);
		if (r < 0)
			return -1;
		if (r == 0) {
			g->exhausted = true;
			break;
		}
		if (c.nr || c.wlen < HDR) {
			virtio_dev_fail(d,
			                "rx buffer not device-writable or shorter than the header");
			return -1;
		}
		if (g->niov + c.nw >= IOV_MAX) {
			/* One readv takes IOV_MAX buffers, the spill included: this
			 * chain waits for the next frame, or never fits at all. */
			if (g->nslots == 0) {
				virtio_dev_fail(d,
				                "rx chain with more buffers than one read takes");
				return -1;
			}
			vq_unpop(&d->vq[Q_RX]);
			break;
		}
		g->slot[g->nslots].head = c.head;
		g->slot[g->nslots].cap = 0;
		for (unsigned i = c.nr; i < c.nr + c.nw && g->cap < RX_MAX; i++) {
			uint32_t take =
			        c.seg[i].len < RX_MAX - g->cap ? c.seg[i].len : RX_MAX - g->cap;
			g->iov[g->niov++] = (struct iovec){c.seg[i].ptr, take};
			g->cap += take;
			g->slot[g->nslots].cap += take;
		}
		g->nslots++;
	}
	return 0;
}

/* The frame of len bytes is in the gathered buffers: set the header fields
 * that are ours, hand the chains it fills to the driver and put the rest
 * back. The first chain holds the whole header (gather made sure). */
static void rx_complete(struct virtio_net *n, const struct rx_gather *g, uint32_t len)
{
	struct virtq *q = &n->dev->vq[Q_RX];
	struct virtio_net_hdr_v1 h;
	unsigned used = 0;

	for (uint32_t left = len; left; used++)
		left -= g->slot[used].cap < left ? g->slot[used].cap : left;
	iov_copy(g->iov, g->niov, 0, &h, HDR, false);
	/* The tap skips num_buffers (it writes the 10-byte legacy header);
	 * without MRG_RXBUF it must be 1 (§5.1.6.4). */
	h.num_buffers = (uint16_t)used;
	/* Without GUEST_CSUM the flags must be zero: the tap would still say
	 * DATA_VALID. */
	if (!(n->features & F(VIRTIO_NET_F_GUEST_CSUM)))
		h.flags = 0;
	iov_copy(g->iov, g->niov, 0, &h, HDR, true);
	uint32_t left = len;
	for (unsigned i = 0; i < used; i++) {
		uint32_t k = g->slot[i].cap < left ? g->slot[i].cap : left;
		vq_push(q, g->slot[i].head, k);
		left -= k;
	}
	unpop(q, g->nslots - used);
	n->stats.rx_packets++;
	n->stats.rx_bytes += len - HDR;
}

/* Delivers the frame waiting in the bounce buffer. */
static enum rx_state rx_pending(struct virtio_net *n, bool *pushed)
{
	struct rx_gather *g = &rx_g;
	struct virtq *q = &n->dev->vq[Q_RX];

	if (gather(n, g, n->pending, VQ_MAX_SIZE) < 0)
		return RX_STALL;
	if (g->cap < n->pending) {
		unpop(q, g->nslots);
		/* Wait for more buffers, unless the guest already gave us its
		 * whole ring or more iovecs than one readv: then they never do. */
		if (g->exhausted && g->nslots < q->size)
			return RX_STALL;
		n->pending = 0;
		note_drop(n, &n->stats.rx_dropped, "rx frame larger than all the guest's buffers");
		return RX_MORE;
	}
	iov_copy(g->iov, g->niov, 0, n->bounce, n->pending, true);
	rx_complete(n, g, n->pending);
	n->pending = 0;
	*pushed = true;
	return RX_MORE;
}

/* Reads one frame from the tap into the guest's buffers, the part beyond
 * them into the bounce buffer. */
static enum rx_state rx_read(struct virtio_net *n, bool *pushed)
{
	struct rx_gather *g = &rx_g;
	struct virtq *q = &n->dev->vq[Q_RX];
	bool mrg = n->features & F(VIRTIO_NET_F_MRG_RXBUF);
	unsigned niov;
	ssize_t r;

	if (gather(n, g, mrg ? HDR + ETH_OVERHEAD + n->mtu : RX_MAX, mrg ? VQ_MAX_SIZE : 1) < 0 ||
	    g->nslots == 0)
		return RX_STALL;
	niov = g->niov;
	if (g->cap < RX_MAX)
		g->iov[niov++] = (struct iovec){n->bounce + g->cap, RX_MAX - g->cap};
	do
		r = readv(n->tap_fd, g->iov, (int)niov);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		unpop(q, g->nslots);
		if (r < 0 && errno == EAGAIN)
			return RX_EMPTY;
		tap_failed(n, r < 0 ? errno : 0);
		return RX_STALL;
	}
	if (r < HDR || r > RX_MAX) {
		/* The tap reports the whole length even when it had to cut. */
		unpop(q, g->nslots);
		note_drop(n, &n->stats.rx_dropped,
		          r < HDR ? "runt rx frame" : "rx frame over 64 KiB");
		return RX_MORE;
	}
	if ((uint64_t)r <= g->cap) {
		rx_complete(n, g, (uint32_t)r);
		*pushed = true;
		return RX_MORE;
	}
	unpop(q, g->nslots);
	if (!mrg) {
		note_drop(n, &n->stats.rx_dropped, "rx frame larger than the guest's buffer");
		return RX_MORE;
	}
	/* The head of the frame went to the guest's buffers, its tail to the
	 * bounce buffer right after where the head belongs: join them. */
	iov_copy(g->iov, g->niov, 0, n->bounce, g->cap, false);
	n->pending = (uint32_t)r;
	return rx_pending(n, pushed);
}

/* Moves up to RX_BATCH frames, signals the guest once, and watches the tap
 * only while the guest has room. */
static void rx_run(struct virtio_net *n)
{
	enum rx_state st = RX_MORE;
	bool pushed = false;

	for (unsigned i = 0; i < RX_BATCH && st == RX_MORE && live(n->dev) && !n->tap_gone; i++)
		st = n->pending ? rx_pending(n, &pushed) : rx_read(n, &pushed);
	n->rx_on = st != RX_STALL && live(n->dev);
	watch(n);
	if (pushed)
		virtio_signal_used(n->dev, Q_RX);
}

static void on_tap(void *arg, uint32_t events)
{
	struct virtio_net *n = arg;
	struct virtio_dev *d = n->dev;

	if (d == NULL)
		return;
	/* The transport's lock, as on the kick path: the rings must not be
	 * reset under us. */
	pthread_mutex_lock(&d->lock);
	if (events & (EPOLLERR | EPOLLHUP)) {
		tap_failed(n, 0);
	} else if (!live(d)) {
		n->rx_on = n->tx_blocked = false;
		watch(n);
	} else {
		if ((events & EPOLLOUT) && n->tx_blocked) {
			n->tx_blocked = false;
			watch(n);
			tx_drain(n);
		}
		if (events & EPOLLIN)
			rx_run(n);
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- the device ---------------------------------------------------------------- */

/* The offloads the tap may hand the guest: what it accepted. The tap takes
 * segmentation only with checksum offload, as the spec ties GUEST_TSO* to
 * GUEST_CSUM. */
static unsigned offloads_for(uint64_t f)
{
	unsigned o;

	if (!(f & F(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	o = TUN_F_CSUM;
	if (f & F(VIRTIO_NET_F_GUEST_TSO4))
		o |= TUN_F_TSO4;
	if (f & F(VIRTIO_NET_F_GUEST_TSO6))
		o |= TUN_F_TSO6;
	if ((f & F(VIRTIO_NET_F_GUEST_ECN)) && (o & (TUN_F_TSO4 | TUN_F_TSO6)))
		o |= TUN_F_TSO_ECN;
	return o;
}

static int net_activate(struct virtio_dev *d, hk_err **err)
{
	struct virtio_net *n = d->priv;
	unsigned o = offloads_for(d->driver_features);

	if (n->tap_gone)
		return hk_err_set(err, EIO, "virtio-net: the tap is gone");
	/* Only when it changes: a new tap has none, and the ioctl is the one
	 * thing a back end other than a tap (the fuzzer's socket) lacks. */
	if (o != n->offloads && ioctl(n->tap_fd, TUNSETOFFLOAD, (unsigned long)o) < 0)
		return hk_err_set(err, errno, "virtio-net: TUNSETOFFLOAD %#x", o);
	n->offloads = o;
	n->features = d->driver_features;
	n->pending = 0;
	n->tx_blocked = false;
	n->rx_on = true;
	watch(n);
	return 0;
}

static void net_notify(struct virtio_dev *d, unsigned qi)
{
	struct virtio_net *n = d->priv;

	if (n->tap_gone)
		return;
	if (qi == Q_TX)
		tx_drain(n);
	else if (qi == Q_RX)
		rx_run(n); /* new buffers: resume a stalled rx, and watch the tap again */
}

static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;

	/* Frames still in the tap stay there for the next driver. */
	n->pending = 0;
	n->features = 0;
	n->rx_on = n->tx_blocked = false;
	watch(n);
}

static void net_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_net *n = d->priv;
	uint16_t status = VIRTIO_NET_S_LINK_UP, pairs = 1;
	uint8_t cfg[CONFIG_SIZE];

	memcpy(cfg, n->mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(cfg + 10, &n->mtu, 2);
	memcpy(data, cfg + off, len);
}

const struct virtio_dev_ops virtio_net_ops = {
        .name = "net",
        .device_id = 1,
        .num_queues = 2,
        .features = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_MTU) |
                    F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
                    F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_HOST_TSO4) |
                    F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN) |
                    F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_STATUS),
        .config_size = CONFIG_SIZE,
        .config_read = net_config_read,
        .activate = net_activate,
        .notify = net_notify,
        .reset = net_reset,
};

int vmm_tap_open(const char *name, int *fd, char ifname[IFNAMSIZ], hk_err **err)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int hdr = HDR;

	if (name && strlen(name) >= IFNAMSIZ)
		return hk_err_set(err, ENAMETOOLONG, "tap `%s`", name);
	if (name)
		strcpy(ifr.ifr_name, name);
	cleanup_close int t = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t < 0)
		return hk_err_set(err, errno, "open /dev/net/tun");
	if (ioctl(t, TUNSETIFF, &ifr) < 0)
		return hk_err_set(err, errno, "tap `%s`", name ? name : "");
	if (ioctl(t, TUNSETVNETHDRSZ, &hdr) < 0)
		return hk_err_set(err, errno, "tap `%s`: vnet header size", ifr.ifr_name);
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	*fd = hk_steal_fd(&t);
	return 0;
}

int virtio_net_open(struct virtio_net *n, int tap_fd, const uint8_t mac[6], uint16_t mtu,
                    struct vmm_loop *loop, hk_err **err)
{
	cleanup_close int fd = tap_fd;

	memset(n, 0, sizeof(*n));
	n->tap_fd = -1;
	n->loop = loop;
	n->log_sec = -1;
	n->mtu = mtu;
	memcpy(n->mac, mac, 6);
	if (mtu < 68) /* the spec's floor (§5.1.4.1), IPv4's minimum */
		return hk_err_set(err, EINVAL, "virtio-net: MTU %u", mtu);
	n->bounce = malloc(RX_MAX);
	if (n->bounce == NULL)
		return hk_err_set(err, ENOMEM, "virtio-net: rx buffer");
	/* Idle until DRIVER_OK: a level-triggered EPOLLIN with no guest to
	 * take frames would spin. */
	if (vmm_loop_add(loop, fd, 0, on_tap, n, err) < 0) {
		free(n->bounce);
		n->bounce = NULL;
		return hk_err_wrap(err, "virtio-net");
	}
	n->tap_fd = hk_steal_fd(&fd);
	return 0;
}

void virtio_net_close(struct virtio_net *n)
{
	if (n->tap_fd >= 0) {
		vmm_loop_del(n->loop, n->tap_fd);
		close(n->tap_fd);
		n->tap_fd = -1;
	}
	free(n->bounce);
	n->bounce = NULL;
}
