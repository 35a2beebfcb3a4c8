/* virtio-net against a real tap, in a network namespace of the test's own.
 * Each test brings up a tap, a device and an event loop on a thread of its
 * own, as the monitor runs them; the test is the guest driver: it writes
 * rings in synthetic guest memory and kicks through the MMIO register, so
 * every frame goes through the loop like in a VM. An AF_PACKET socket on
 * the tap is the other end of the wire: what the guest sends must arrive
 * there byte for byte, what it sends out of the tap must land in the
 * guest's buffers. Needs root (CAP_NET_ADMIN for the tap and the
 * namespace); skips otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "tests/unit/guestmem.h"
#include "tests/unit/mmio_driver.h"
#include "tests/unit/tap.h"
#include "vmm/virtio/net.h"

/* Two queues in the synthetic memory: rings apart, buffers apart. */
#define RX_DESC  0x1000
#define RX_AVAIL 0x2000
#define RX_USED  0x3000
#define TX_DESC  0x4000
#define TX_AVAIL 0x5000
#define TX_USED  0x6000
#define RX_BUF   0x10000 /* rx buffer i at RX_BUF + i * 0x1000 */
#define TX_BUF   0x80000
#define QSIZE    64

#define ETHERTYPE_TEST 0x88b5 /* IEEE local experimental: the stack ignores it */

#define F(bit)     (1ULL << (bit))
#define VERSION_1  F(32)
#define EVENT_IDX  F(29)
#define S_NEEDS_RS 64
#define D_NEXT     1 /* descriptor flags (§2.7.5) */
#define D_WRITE    2

static struct vmm_mem mem;

struct rig {
	struct vmm_loop loop;
	pthread_t thread;
	struct virtio_dev d;
	struct virtio_net n;
	int irq;
	char ifname[IFNAMSIZ];
	int ifindex;
	int pkt; /* AF_PACKET on the tap: the wire */
};

static struct rig rig;

/* ---- the driver's side ---------------------------------------------------- */

static void queue_setup(struct virtio_dev *d, unsigned q, uint64_t desc, uint64_t avail,
                        uint64_t used)
{
	wr(d, 0x30, q);
	wr(d, 0x38, QSIZE);
	wr(d, 0x80, (uint32_t)desc);
	wr(d, 0x90, (uint32_t)avail);
	wr(d, 0xa0, (uint32_t)used);
	wr(d, 0x44, 1);
}

static void driver_start(struct virtio_dev *d, uint64_t features)
{
	driver_init(d, features);
	queue_setup(d, 0, RX_DESC, RX_AVAIL, RX_USED);
	queue_setup(d, 1, TX_DESC, TX_AVAIL, TX_USED);
	wr(d, 0x70, 1 | 2 | 8 | 4);
}

/* A ring index in guest memory (rings are aligned, §2.7). */
static uint16_t *ring_idx(uint64_t ring)
{
	return (uint16_t *)(void *)(mem.host + ring + 2);
}

/* Makes head available on a queue (the loop thread may be reading). */
static void post(uint64_t avail, uint16_t head)
{
	uint16_t *idx = ring_idx(avail);
	uint16_t i = __atomic_load_n(idx, __ATOMIC_RELAXED);

	memcpy(mem.host + avail + 4 + 2 * (i % QSIZE), &head, 2);
	__atomic_store_n(idx, (uint16_t)(i + 1), __ATOMIC_RELEASE);
}

static void kick(unsigned q)
{
	wr(&rig.d, 0x50, q);
}

static uint16_t used_idx(uint64_t used)
{
	return __atomic_load_n(ring_idx(used), __ATOMIC_ACQUIRE);
}

static void used_elem(uint64_t used, uint16_t i, uint32_t *head, uint32_t *len)
{
	memcpy(head, mem.host + used + 4 + 8 * (i % QSIZE), 4);
	memcpy(len, mem.host + used + 8 + 8 * (i % QSIZE), 4);
}

/* rx buffer i: one writable descriptor of len bytes. */
static void rx_buffer(uint16_t i, uint32_t len)
{
	gm_desc(&mem, RX_DESC, i, RX_BUF + 0x1000ULL * i, len, D_WRITE, 0);
	post(RX_AVAIL, i);
}

#define WAIT_FOR(cond)                                                                             \
	({                                                                                         \
		int ok_ = 0;                                                                       \
		for (int i_ = 0; i_ < 300 && !(ok_ = (cond)); i_++)                                \
			usleep(10000);                                                             \
		ok_;                                                                               \
	})

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;

	pthread_mutex_lock(&rig.d.lock);
	s = rig.n.stats;
	pthread_mutex_unlock(&rig.d.lock);
	return s;
}

/* What the loop's epoll watches on the tap, from the kernel's own account
 * (/proc/self/fdinfo of the epoll fd); -1 when the tap is not in it. */
static long tap_events(void)
{
	char path[64], line[256];
	long ev = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", rig.loop.epfd);
	cleanup_file FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		int tfd;
		unsigned e;
		if (sscanf(line, "tfd: %d events: %x", &tfd, &e) == 2 && tfd == rig.n.tap_fd)
			ev = e & ~(unsigned)(EPOLLERR | EPOLLHUP); /* always there */
	}
	return ev;
}

/* ---- the wire ---------------------------------------------------------------- */

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
	uint16_t type = htons(ETHERTYPE_TEST);

	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	memcpy(f + 12, &type, 2);
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seed);
}

/* Sends a frame out of the tap, from the host side towards the guest. */
static int wire_send(const uint8_t *f, size_t len)
{
	struct sockaddr_ll sa = {.sll_family = AF_PACKET,
	                         .sll_ifindex = rig.ifindex,
	                         .sll_halen = 6,
	                         .sll_protocol = htons(ETHERTYPE_TEST)};

	memcpy(sa.sll_addr, f, 6);
	return sendto(rig.pkt, f, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len ? 0
	                                                                                      : -1;
}

/* The next test frame the tap delivered into the host (sent by the guest). */
static ssize_t wire_recv(uint8_t *buf, size_t cap)
{
	for (;;) {
		struct pollfd p = {.fd = rig.pkt, .events = POLLIN};
		struct sockaddr_ll sa;
		socklen_t sl = sizeof(sa);
		if (poll(&p, 1, 3000) != 1)
			return -1;
		ssize_t n = recvfrom(rig.pkt, buf, cap, 0, (struct sockaddr *)&sa, &sl);
		if (n < 0)
			return -1;
		if (sa.sll_pkttype != PACKET_OUTGOING && n >= 14 && buf[12] == 0x88 &&
		    buf[13] == 0xb5)
			return n;
	}
}

/* ---- set-up ------------------------------------------------------------------ */

static void *loop_main(void *arg)
{
	hk_err *err = NULL;

	vmm_loop_run(&rig.loop, &err);
	hk_err_free(&err);
	return NULL;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return s < 0 ? -1 : ioctl(s, req, ifr);
}

/* A tap up with the given MTU, a device on it (MTU 1500: larger frames
 * take the bounce path, as GSO frames do), a loop thread, a wire. */
static int rig_up(uint64_t features, int mtu)
{
	static const uint8_t mac[6] = {0x02, 0x48, 0x55, 0x53, 0x4b, 0x01};
	cleanup_err hk_err *err = NULL;
	struct ifreq ifr = {0};
	int fd;

	memset(mem.host, 0, GM_SIZE);
	if (vmm_loop_init(&rig.loop, &err) < 0 || vmm_tap_open("husk%d", &fd, rig.ifname, &err) < 0)
		return printf("# %s\n", err->msg), -1;
	strcpy(ifr.ifr_name, rig.ifname);
	ifr.ifr_mtu = mtu;
	if (ifreq_ioctl(SIOCSIFMTU, &ifr) < 0 || ifreq_ioctl(SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	if (ifreq_ioctl(SIOCSIFFLAGS, &ifr) < 0 || ifreq_ioctl(SIOCGIFINDEX, &ifr) < 0)
		return -1;
	rig.ifindex = ifr.ifr_ifindex;
	rig.irq = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (virtio_dev_init(&rig.d, &virtio_net_ops, &rig.n, &mem, &rig.loop, 0xd0000000, 5,
	                    rig.irq, &err) < 0 ||
	    virtio_net_open(&rig.n, fd, mac, 1500, &rig.loop, &err) < 0)
		return printf("# %s\n", err->msg), -1;
	rig.n.dev = &rig.d;
	rig.pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	struct sockaddr_ll sa = {.sll_family = AF_PACKET,
	                         .sll_protocol = htons(ETH_P_ALL),
	                         .sll_ifindex = rig.ifindex};
	if (rig.pkt < 0 || bind(rig.pkt, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	if (pthread_create(&rig.thread, NULL, loop_main, NULL) != 0)
		return -1;
	driver_start(&rig.d, VERSION_1 | features);
	return rd(&rig.d, 0x70) == 15 ? 0 : -1;
}

static void rig_down(void)
{
	vmm_loop_stop(&rig.loop, 0);
	pthread_join(rig.thread, NULL);
	virtio_net_close(&rig.n);
	virtio_dev_fini(&rig.d);
	vmm_loop_fini(&rig.loop);
	close(rig.irq);
	close(rig.pkt);
}

/* ---- tests ------------------------------------------------------------------- */

static int test_config(void)
{
	struct virtio_dev d;
	struct virtio_net n;
	struct vmm_loop l;
	cleanup_err hk_err *err = NULL;
	const uint8_t mac[6] = {2, 1, 2, 3, 4, 5};
	uint8_t cfg[12];
	int sv[2];

	CHECK(vmm_loop_init(&l, &err) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
	close(sv[1]);
	CHECK(virtio_dev_init(&d, &virtio_net_ops, &n, &mem, NULL, 0, 5, -1, &err) == 0);
	CHECK(virtio_net_open(&n, sv[0], mac, 1500, &l, &err) == 0);
	CHECK(rd(&d, 0x08) == 1);
	wr(&d, 0x14, 0);
	uint32_t f = rd(&d, 0x10);
	CHECK((f & F(VIRTIO_NET_F_MAC)) && (f & F(VIRTIO_NET_F_MRG_RXBUF)) &&
	      (f & F(VIRTIO_NET_F_MTU)) && (f & F(VIRTIO_NET_F_STATUS)) &&
	      (f & F(VIRTIO_NET_F_GUEST_TSO4)) && (f & F(VIRTIO_NET_F_HOST_TSO6)));
	CHECK(!(f & F(VIRTIO_NET_F_CTRL_VQ)) && !(f & F(VIRTIO_NET_F_MQ)));
	for (unsigned i = 0; i < sizeof(cfg); i += 2) {
		uint16_t v;
		virtio_mmio_ops.read(&d, 0x100 + i, &v, 2);
		memcpy(cfg + i, &v, 2);
	}
	CHECK(memcmp(cfg, mac, 6) == 0);
	CHECK(cfg[6] == VIRTIO_NET_S_LINK_UP && cfg[7] == 0); /* status */
	CHECK(cfg[8] == 1 && cfg[9] == 0);                    /* one queue pair */
	CHECK(cfg[10] == (1500 & 0xff) && cfg[11] == (1500 >> 8));
	virtio_net_close(&n);
	virtio_dev_fini(&d);
	vmm_loop_fini(&l);
	/* An MTU below the spec's floor is refused, and the fd is still closed. */
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
	CHECK(virtio_net_open(&n, sv[0], mac, 67, &l, &err) < 0);
	CHECK(fcntl(sv[0], F_GETFD) < 0 && errno == EBADF);
	close(sv[1]);
	return 0;
}

/* The guest sends two frames in one kick, one with the header in its own
 * buffer, one with header and frame in one; both leave by the tap. */
static int test_tx(void)
{
	uint8_t f1[100], f2[1514], got[2048];
	ssize_t n;

	CHECK(rig_up(0, 1500) == 0);
	make_frame(f1, sizeof(f1), 1);
	make_frame(f2, sizeof(f2), 2);
	gm_desc(&mem, TX_DESC, 0, TX_BUF, VIRTIO_NET_HDR_SIZE, D_NEXT, 1);
	gm_desc(&mem, TX_DESC, 1, TX_BUF + 0x100, sizeof(f1), 0, 0);
	memcpy(mem.host + TX_BUF + 0x100, f1, sizeof(f1));
	gm_desc(&mem, TX_DESC, 2, TX_BUF + 0x1000, VIRTIO_NET_HDR_SIZE + sizeof(f2), 0, 0);
	memcpy(mem.host + TX_BUF + 0x1000 + VIRTIO_NET_HDR_SIZE, f2, sizeof(f2));
	post(TX_AVAIL, 0);
	post(TX_AVAIL, 2);
	kick(1);
	CHECK(WAIT_FOR(used_idx(TX_USED) == 2));
	n = wire_recv(got, sizeof(got));
	CHECK(n == sizeof(f1) && memcmp(got, f1, sizeof(f1)) == 0);
	n = wire_recv(got, sizeof(got));
	CHECK(n == sizeof(f2) && memcmp(got, f2, sizeof(f2)) == 0);
	struct virtio_net_stats s = stats();
	CHECK(s.tx_packets == 2 && s.tx_bytes == sizeof(f1) + sizeof(f2) && s.tx_dropped == 0);
	uint64_t irqs;
	CHECK(read(rig.irq, &irqs, 8) == 8); /* the guest heard about it */
	rig_down();
	return 0;
}

/* Under MRG_RXBUF a frame spreads over as many 512-byte buffers as it
 * needs; num_buffers says how many. A jumbo frame (larger than what the
 * device gathers up front) goes through the bounce buffer. */
static int test_rx_mergeable(void)
{
	static uint8_t f[9014], got[9014];
	uint32_t head, len;

	CHECK(rig_up(F(VIRTIO_NET_F_MRG_RXBUF), 9000) == 0);
	for (uint16_t i = 0; i < 24; i++)
		rx_buffer(i, 512);
	kick(0);
	make_frame(f, 1000, 3);
	CHECK(wire_send(f, 1000) == 0);
	CHECK(WAIT_FOR(used_idx(RX_USED) == 2));
	used_elem(RX_USED, 0, &head, &len);
	CHECK(head == 0 && len == 512);
	used_elem(RX_USED, 1, &head, &len);
	CHECK(head == 1 && len == 12 + 1000 - 512);
	struct virtio_net_hdr_v1 h;
	memcpy(&h, mem.host + RX_BUF, sizeof(h));
	CHECK(h.num_buffers == 2 && h.flags == 0 && h.gso_type == 0);
	memcpy(got, mem.host + RX_BUF + 12, 500);
	memcpy(got + 500, mem.host + RX_BUF + 0x1000, 500);
	CHECK(memcmp(got, f, 1000) == 0);

	/* 12 + 9014 bytes: 18 buffers, starting at buffer 2. */
	make_frame(f, sizeof(f), 4);
	CHECK(wire_send(f, sizeof(f)) == 0);
	CHECK(WAIT_FOR(used_idx(RX_USED) == 2 + 18));
	memcpy(&h, mem.host + RX_BUF + 0x2000, sizeof(h));
	CHECK(h.num_buffers == 18);
	size_t off = 0;
	for (uint16_t i = 0; i < 18; i++) {
		used_elem(RX_USED, (uint16_t)(2 + i), &head, &len);
		CHECK(head == 2u + i && len == (i < 17 ? 512 : 12 + 9014 - 17 * 512));
		uint32_t skip = i == 0 ? 12 : 0;
		memcpy(got + off, mem.host + RX_BUF + 0x1000ULL * head + skip, len - skip);
		off += len - skip;
	}
	CHECK(off == sizeof(f) && memcmp(got, f, sizeof(f)) == 0);
	struct virtio_net_stats s = stats();
	CHECK(s.rx_packets == 2 && s.rx_bytes == 1000 + sizeof(f) && s.rx_dropped == 0);
	rig_down();
	return 0;
}

/* Without MRG_RXBUF one chain holds a frame or the frame is dropped; the
 * chain stays for the next frame, and num_buffers is 1. */
static int test_rx_single(void)
{
	uint8_t f[1000];
	uint32_t head, len;

	CHECK(rig_up(0, 1500) == 0);
	rx_buffer(0, 256);
	kick(0);
	make_frame(f, sizeof(f), 5);
	CHECK(wire_send(f, sizeof(f)) == 0);
	CHECK(WAIT_FOR(stats().rx_dropped == 1));
	CHECK(used_idx(RX_USED) == 0);
	CHECK(wire_send(f, 60) == 0);
	CHECK(WAIT_FOR(used_idx(RX_USED) == 1));
	used_elem(RX_USED, 0, &head, &len);
	CHECK(head == 0 && len == 12 + 60);
	struct virtio_net_hdr_v1 h;
	memcpy(&h, mem.host + RX_BUF, sizeof(h));
	CHECK(h.num_buffers == 1);
	CHECK(memcmp(mem.host + RX_BUF + 12, f, 60) == 0);
	rig_down();
	return 0;
}

/* No rx buffers: the tap is not watched and the frame waits in it; the rx
 * kick that brings buffers resumes. The same for a frame that needs more
 * buffers than the guest has (it waits in the bounce buffer). */
static int test_rx_stall(void)
{
	uint8_t f[1514];
	uint32_t head, len;

	CHECK(rig_up(F(VIRTIO_NET_F_MRG_RXBUF) | EVENT_IDX, 1500) == 0);
	CHECK(tap_events() == EPOLLIN);
	make_frame(f, 100, 6);
	CHECK(wire_send(f, 100) == 0);
	CHECK(WAIT_FOR(tap_events() == 0));
	usleep(50000);
	CHECK(used_idx(RX_USED) == 0 && stats().rx_packets == 0);
	rx_buffer(0, 512);
	kick(0);
	CHECK(WAIT_FOR(used_idx(RX_USED) == 1));
	used_elem(RX_USED, 0, &head, &len);
	CHECK(head == 0 && len == 112 && memcmp(mem.host + RX_BUF + 12, f, 100) == 0);
	CHECK(WAIT_FOR(tap_events() == 0)); /* the ring is empty again */

	/* 12 + 1514 bytes with two 512-byte buffers: waits for a third. */
	rx_buffer(1, 512);
	rx_buffer(2, 512);
	kick(0);
	CHECK(WAIT_FOR(tap_events() == EPOLLIN));
	make_frame(f, sizeof(f), 7);
	CHECK(wire_send(f, sizeof(f)) == 0);
	CHECK(WAIT_FOR(tap_events() == 0));
	CHECK(used_idx(RX_USED) == 1);
	rx_buffer(3, 512);
	kick(0);
	CHECK(WAIT_FOR(used_idx(RX_USED) == 4));
	struct virtio_net_hdr_v1 h;
	memcpy(&h, mem.host + RX_BUF + 0x1000, sizeof(h));
	CHECK(h.num_buffers == 3);
	CHECK(memcmp(mem.host + RX_BUF + 0x1000 + 12, f, 500) == 0);
	CHECK(memcmp(mem.host + RX_BUF + 0x3000, f + 500 + 512, 1514 - 1012) == 0);
	CHECK(stats().rx_packets == 2);
	rig_down();
	return 0;
}

/* Chains a hostile guest may post on tx: each is dropped with a count and
 * handed back; the valid frame after them still leaves. A ring that breaks
 * the rules fails the device, and a reset unwatches the tap. */
static int test_tx_hostile(void)
{
	uint8_t f[64], got[128];
	struct virtio_net_hdr_v1 h = {0};

	CHECK(rig_up(0, 1500) == 0);
	make_frame(f, sizeof(f), 8);
	/* 0: shorter than the header. */
	gm_desc(&mem, TX_DESC, 0, TX_BUF, 8, 0, 0);
	/* 1: over 64 KiB + header. */
	gm_desc(&mem, TX_DESC, 1, TX_BUF, 12 + 65536 + 1, 0, 0);
	/* 2: a writable buffer in a tx chain. */
	gm_desc(&mem, TX_DESC, 2, TX_BUF + 0x20000, 12 + sizeof(f), D_NEXT, 3);
	gm_desc(&mem, TX_DESC, 3, TX_BUF + 0x21000, 64, D_WRITE, 0);
	/* 4: checksum offload the guest did not negotiate. */
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	memcpy(mem.host + TX_BUF + 0x22000, &h, 12);
	memcpy(mem.host + TX_BUF + 0x22000 + 12, f, sizeof(f));
	gm_desc(&mem, TX_DESC, 4, TX_BUF + 0x22000, 12 + sizeof(f), 0, 0);
	/* 5: TSO the guest did not negotiate. */
	h.flags = 0;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	memcpy(mem.host + TX_BUF + 0x23000, &h, 12);
	memcpy(mem.host + TX_BUF + 0x23000 + 12, f, sizeof(f));
	gm_desc(&mem, TX_DESC, 5, TX_BUF + 0x23000, 12 + sizeof(f), 0, 0);
	/* 6: a good frame. */
	memset(mem.host + TX_BUF + 0x24000, 0, 12);
	memcpy(mem.host + TX_BUF + 0x24000 + 12, f, sizeof(f));
	gm_desc(&mem, TX_DESC, 6, TX_BUF + 0x24000, 12 + sizeof(f), 0, 0);
	uint16_t heads[] = {0, 1, 2, 4, 5, 6};
	for (unsigned i = 0; i < HK_ARRAY_SIZE(heads); i++)
		post(TX_AVAIL, heads[i]);
	kick(1);
	CHECK(WAIT_FOR(used_idx(TX_USED) == 6));
	for (uint16_t i = 0; i < 6; i++) {
		uint32_t head, len;
		used_elem(TX_USED, i, &head, &len);
		CHECK(head == heads[i] && len == 0);
	}
	CHECK(wire_recv(got, sizeof(got)) == sizeof(f) && memcmp(got, f, sizeof(f)) == 0);
	struct virtio_net_stats s = stats();
	CHECK(s.tx_dropped == 5 && s.tx_packets == 1);
	CHECK(!(rd(&rig.d, 0x70) & S_NEEDS_RS));

	/* The available index runs ahead of the ring: the device fails. */
	uint16_t *idx = ring_idx(TX_AVAIL);
	__atomic_store_n(idx, (uint16_t)(*idx + QSIZE + 1), __ATOMIC_RELEASE);
	kick(1);
	CHECK(WAIT_FOR(rd(&rig.d, 0x70) & S_NEEDS_RS));
	/* A head out of range after a reset fails it the same way. */
	memset(mem.host + TX_AVAIL, 0, 0x100);
	memset(mem.host + TX_USED, 0, 0x300);
	driver_start(&rig.d, VERSION_1);
	post(TX_AVAIL, QSIZE + 3);
	kick(1);
	CHECK(WAIT_FOR(rd(&rig.d, 0x70) & S_NEEDS_RS));
	wr(&rig.d, 0x70, 0);
	CHECK(WAIT_FOR(tap_events() == 0));
	rig_down();
	return 0;
}

/* rx chains the device cannot use by the rules fail it, before any frame
 * is read: the frame is still there for the driver after a reset. */
static int test_rx_hostile(void)
{
	uint8_t f[200];
	uint32_t head, len;

	CHECK(rig_up(F(VIRTIO_NET_F_MRG_RXBUF), 1500) == 0);
	/* A readable buffer where only writable ones belong. */
	gm_desc(&mem, RX_DESC, 0, RX_BUF, 512, 0, 0);
	post(RX_AVAIL, 0);
	kick(0);
	make_frame(f, sizeof(f), 9);
	CHECK(wire_send(f, sizeof(f)) == 0);
	CHECK(WAIT_FOR(rd(&rig.d, 0x70) & S_NEEDS_RS));
	CHECK(WAIT_FOR(tap_events() == 0));
	/* Shorter than the header. */
	memset(mem.host, 0, 0x10000);
	driver_start(&rig.d, VERSION_1 | F(VIRTIO_NET_F_MRG_RXBUF));
	rx_buffer(0, 8);
	kick(0);
	CHECK(WAIT_FOR(rd(&rig.d, 0x70) & S_NEEDS_RS));
	/* A driver that plays by the rules gets the frame. */
	memset(mem.host, 0, 0x10000);
	driver_start(&rig.d, VERSION_1 | F(VIRTIO_NET_F_MRG_RXBUF));
	rx_buffer(0, 2048);
	kick(0);
	CHECK(WAIT_FOR(used_idx(RX_USED) == 1));
	used_elem(RX_USED, 0, &head, &len);
	CHECK(len == 12 + sizeof(f) && memcmp(mem.host + RX_BUF + 12, f, sizeof(f)) == 0);
	CHECK(stats().rx_dropped == 0);
	rig_down();
	return 0;
}

/* What the guest accepted reaches the tap: with GUEST_CSUM and TSO a
 * checksum-offloaded frame keeps its flag, without them flags are zero. */
static int test_offloads(void)
{
	CHECK(rig_up(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) |
	                     F(VIRTIO_NET_F_GUEST_ECN),
	             1500) == 0);
	CHECK(rig.n.offloads == (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN));
	driver_start(&rig.d, VERSION_1 | F(VIRTIO_NET_F_GUEST_TSO4)); /* TSO without CSUM */
	CHECK(rd(&rig.d, 0x70) == 15 && rig.n.offloads == 0);
	rig_down();
	return 0;
}

int main(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		printf("ok 1 - test_net # SKIP no network namespace: %s\n1..1\n", strerror(errno));
		return 0;
	}
	/* A fresh interface would send IPv6 router solicitations out of the
	 * tap into the guest's buffers: none here. */
	cleanup_file FILE *v6 = fopen("/proc/sys/net/ipv6/conf/default/disable_ipv6", "w");
	if (v6)
		fputs("1\n", v6);
	if (v6)
		fflush(v6);
	if (gm_init(&mem, GM_SIZE) < 0)
		return 1;
	RUN_TEST(test_config);
	RUN_TEST(test_tx);
	RUN_TEST(test_rx_mergeable);
	RUN_TEST(test_rx_single);
	RUN_TEST(test_rx_stall);
	RUN_TEST(test_tx_hostile);
	RUN_TEST(test_rx_hostile);
	RUN_TEST(test_offloads);
	gm_fini(&mem);
	TAP_DONE();
}
