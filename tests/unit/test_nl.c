/* lib/nl*.c against the real kernel, in a private network namespace so
 * nothing reaches the host: links, veth pairs, addresses, routes, and the tc
 * redirect between a veth and a tap proven with real frames both ways. The
 * tests run in order and build on each other's devices. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/nl.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

static struct hk_nl nl;
static int peer_ns = -1; /* the veth peer's namespace; closing it would delete tv0 too */
static int tap_fd = -1;
static int self_ns = -1;      /* the test's own namespace, to come back to */
static unsigned tv0, tap_idx; /* the "eth0" veth and the tap, redirected both ways */

static const struct hk_nl_link *find_link(const struct hk_nl_link *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int ifindex(const char *name)
{
	cleanup_err hk_err *err = NULL;
	unsigned i;

	if (hk_nl_link_index(&nl, name, &i, &err) < 0) {
		printf("#   %s\n", err->msg);
		return -1;
	}
	return (int)i;
}

/* err by address: it must be read after call has run. */
static int print_err(int r, hk_err **err)
{
	if (r < 0)
		printf("#   %s\n", *err ? (*err)->msg : "(no error set)");
	return r;
}
#define OK(call) CHECK(print_err((call), &err) == 0)

/* A tap as the device model makes one: IFF_TAP|IFF_NO_PI, non-blocking. */
static int open_tap(const char *name)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int test_lo_up(void)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free struct hk_nl_link *links = NULL;
	const struct hk_nl_link *lo;
	unsigned lo_idx;
	size_t n;

	OK(hk_nl_link_index(&nl, "lo", &lo_idx, &err));
	OK(hk_nl_link_set(&nl, lo_idx, 1, 0, NULL, &err));
	OK(hk_nl_links(&nl, &links, &n, &err));
	CHECK(n == 1); /* a fresh namespace has lo only */
	CHECK((lo = find_link(links, n, "lo")) != NULL);
	CHECK(lo->index == lo_idx);
	CHECK(lo->flags & IFF_UP);
	CHECK(lo->mtu == 65536);
	return 0;
}

static int test_veth_dump(void)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free struct hk_nl_link *links = NULL;
	const struct hk_nl_link *a, *b;
	static const uint8_t zero[6];
	size_t n;

	OK(hk_nl_veth_add(&nl, "hk-a", "hk-b", &err));
	OK(hk_nl_links(&nl, &links, &n, &err));
	CHECK((a = find_link(links, n, "hk-a")) != NULL);
	CHECK((b = find_link(links, n, "hk-b")) != NULL);
	CHECK_STR(a->kind, "veth");
	CHECK_STR(b->kind, "veth");
	CHECK(a->mtu == 1500 && b->mtu == 1500);
	CHECK(memcmp(a->mac, zero, 6) != 0 && memcmp(b->mac, zero, 6) != 0);
	CHECK(memcmp(a->mac, b->mac, 6) != 0);
	CHECK(!(a->flags & IFF_UP));
	CHECK(a->index != b->index && (int)a->index == ifindex("hk-a"));
	/* The same pair again is refused, and says which. */
	CHECK(hk_nl_veth_add(&nl, "hk-a", "hk-b", &err) < 0);
	CHECK(err->code == EEXIST);
	CHECK(strstr(err->msg, "add veth `hk-a` peer `hk-b`") != NULL);
	return 0;
}

static int test_link_set(void)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free struct hk_nl_link *links = NULL;
	const struct hk_nl_link *a;
	static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	int ia = ifindex("hk-a"), ib = ifindex("hk-b");
	size_t n;

	CHECK(ia > 0 && ib > 0);
	OK(hk_nl_link_set(&nl, (unsigned)ia, 1, 9000, mac, &err));
	OK(hk_nl_link_set(&nl, (unsigned)ib, 1, 0, NULL, &err));
	OK(hk_nl_links(&nl, &links, &n, &err));
	CHECK((a = find_link(links, n, "hk-a")) != NULL);
	CHECK(a->mtu == 9000);
	CHECK(memcmp(a->mac, mac, 6) == 0);
	CHECK(a->flags & IFF_UP);
	/* -1, 0 and NULL leave things alone. */
	OK(hk_nl_link_set(&nl, (unsigned)ia, -1, 0, NULL, &err));
	free(links);
	links = NULL;
	OK(hk_nl_links(&nl, &links, &n, &err));
	CHECK((a = find_link(links, n, "hk-a")) != NULL);
	CHECK(a->mtu == 9000 && (a->flags & IFF_UP) && memcmp(a->mac, mac, 6) == 0);
	/* An MTU the veth cannot take is refused with the kernel's errno. */
	CHECK(hk_nl_link_set(&nl, (unsigned)ia, -1, 70000, NULL, &err) < 0);
	CHECK(err->code == EINVAL);
	CHECK(strstr(err->msg, "set link `hk-a`") != NULL && strstr(err->msg, "mtu 70000"));
	return 0;
}

static struct hk_nl_addr addr(int family, const char *s, unsigned len)
{
	struct hk_nl_addr a = {.family = family, .prefixlen = len};

	inet_pton(family, s, a.addr);
	return a;
}

static struct hk_nl_route route(int family, const char *dst, unsigned len, const char *gw,
                                unsigned oif)
{
	struct hk_nl_route r = {.family = family, .dst_len = len, .oif = oif, .has_gw = true};

	inet_pton(family, dst, r.dst);
	inet_pton(family, gw, r.gw);
	return r;
}

static const struct hk_nl_route *find_route(const struct hk_nl_route *v, size_t n, int family,
                                            const char *dst, unsigned len)
{
	uint8_t d[16] = {0};

	inet_pton(family, dst, d);
	for (size_t i = 0; i < n; i++)
		if (v[i].family == family && v[i].dst_len == len && memcmp(v[i].dst, d, 16) == 0)
			return &v[i];
	return NULL;
}

static int test_addrs_routes(void)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free struct hk_nl_addr *addrs = NULL;
	cleanup_free struct hk_nl_route *routes = NULL;
	const struct hk_nl_route *r;
	int ia = ifindex("hk-a");
	size_t n;

	CHECK(ia > 0);
	struct hk_nl_addr a4 = addr(AF_INET, "10.77.0.2", 24);
	struct hk_nl_addr a6 = addr(AF_INET6, "fd77::2", 64);
	OK(hk_nl_addr_add(&nl, (unsigned)ia, &a4, &err));
	OK(hk_nl_addr_add(&nl, (unsigned)ia, &a6, &err));
	struct hk_nl_route d4 = route(AF_INET, "0.0.0.0", 0, "10.77.0.1", (unsigned)ia);
	struct hk_nl_route s4 = route(AF_INET, "192.168.50.0", 24, "10.77.0.1", (unsigned)ia);
	struct hk_nl_route d6 = route(AF_INET6, "::", 0, "fd77::1", (unsigned)ia);
	struct hk_nl_route l4 = route(AF_INET, "172.16.0.0", 16, "0.0.0.0", (unsigned)ia);
	s4.priority = 50;
	l4.has_gw = false;
	l4.scope = RT_SCOPE_LINK; /* on-link: no gateway */
	OK(hk_nl_route_add(&nl, &l4, &err));
	OK(hk_nl_route_add(&nl, &d4, &err));
	OK(hk_nl_route_add(&nl, &s4, &err));
	OK(hk_nl_route_add(&nl, &d6, &err));

	/* The link is up, so the kernel gave it an fe80:: address too: not
	 * listed, the guest makes its own. */
	OK(hk_nl_addrs(&nl, (unsigned)ia, &addrs, &n, &err));
	CHECK(n == 2);
	CHECK(memcmp(&addrs[0], &a4, sizeof(a4)) == 0 || memcmp(&addrs[1], &a4, sizeof(a4)) == 0);
	CHECK(memcmp(&addrs[0], &a6, sizeof(a6)) == 0 || memcmp(&addrs[1], &a6, sizeof(a6)) == 0);

	/* Only what was added: not 10.77.0.0/24, fd77::/64, fe80::/64 nor
	 * the multicast and local routes the kernel made. */
	OK(hk_nl_routes(&nl, (unsigned)ia, &routes, &n, &err));
	for (size_t i = 0; i < n; i++) {
		char s[INET6_ADDRSTRLEN];
		inet_ntop(routes[i].family, routes[i].dst, s, sizeof(s));
		printf("#   route %s/%u\n", s, routes[i].dst_len);
	}
	CHECK(n == 4);
	CHECK((r = find_route(routes, n, AF_INET, "172.16.0.0", 16)) != NULL);
	CHECK(!r->has_gw && r->scope == RT_SCOPE_LINK && r->oif == (unsigned)ia);
	CHECK((r = find_route(routes, n, AF_INET, "0.0.0.0", 0)) != NULL);
	CHECK(r->has_gw && memcmp(r->gw, d4.gw, 4) == 0 && r->oif == (unsigned)ia);
	CHECK(r->scope == RT_SCOPE_UNIVERSE);
	CHECK((r = find_route(routes, n, AF_INET, "192.168.50.0", 24)) != NULL);
	CHECK(r->has_gw && memcmp(r->gw, s4.gw, 4) == 0 && r->priority == 50);
	CHECK((r = find_route(routes, n, AF_INET6, "::", 0)) != NULL);
	CHECK(r->has_gw && memcmp(r->gw, d6.gw, 16) == 0 && r->oif == (unsigned)ia);

	/* The kernel's refusals come back with its errno and context. */
	CHECK(hk_nl_addr_add(&nl, (unsigned)ia, &a4, &err) < 0);
	CHECK(err->code == EEXIST);
	CHECK(strstr(err->msg, "add address 10.77.0.2/24 to `hk-a`") != NULL);
	hk_err_free(&err);
	struct hk_nl_route bad = route(AF_INET, "10.99.0.0", 16, "10.55.0.1", (unsigned)ia);
	CHECK(hk_nl_route_add(&nl, &bad, &err) < 0);
	printf("#   expected: %s\n", err->msg);
	CHECK(strstr(err->msg, "add route 10.99.0.0/16 via 10.55.0.1 dev `hk-a`") != NULL);
	return 0;
}

static int test_link_del(void)
{
	cleanup_err hk_err *err = NULL;
	unsigned i;
	int ia = ifindex("hk-a");

	CHECK(ia > 0);
	OK(hk_nl_link_del(&nl, (unsigned)ia, &err));
	/* A veth goes with its peer. */
	CHECK(hk_nl_link_index(&nl, "hk-b", &i, &err) < 0 && err->code == ENODEV);
	return 0;
}

static int test_redirect(void)
{
	cleanup_err hk_err *err = NULL;
	cleanup_free struct hk_nl_link *links = NULL;
	const struct hk_nl_link *t;
	unsigned count;
	size_t n;
	int i;

	OK(hk_nl_veth_add(&nl, "tv0", "tv1", &err));
	tap_fd = open_tap("hk-tap");
	CHECK(tap_fd >= 0);
	CHECK((i = ifindex("tv0")) > 0);
	tv0 = (unsigned)i;
	CHECK((i = ifindex("hk-tap")) > 0);
	tap_idx = (unsigned)i;
	OK(hk_nl_links(&nl, &links, &n, &err));
	CHECK((t = find_link(links, n, "hk-tap")) != NULL);
	CHECK_STR(t->kind, "tun");
	OK(hk_nl_link_set(&nl, tv0, 1, 0, NULL, &err));
	OK(hk_nl_link_set(&nl, tap_idx, 1, 0, NULL, &err));

	OK(hk_nl_filters(&nl, tv0, &count, &err));
	CHECK(count == 0);
	OK(hk_nl_redirect(&nl, tv0, tap_idx, &err));
	OK(hk_nl_redirect(&nl, tap_idx, tv0, &err));
	OK(hk_nl_filters(&nl, tv0, &count, &err));
	CHECK(count == 1);
	OK(hk_nl_filters(&nl, tap_idx, &count, &err));
	CHECK(count == 1);
	return 0;
}

/* ---- frames ------------------------------------------------------------- */

static const uint8_t guest_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
#define GUEST_IP "10.88.0.1"
#define PEER_IP  "10.88.0.2"
#define PORT     5555

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int is_arp_for_guest(const uint8_t *f, size_t len)
{
	struct in_addr ip;

	inet_pton(AF_INET, GUEST_IP, &ip);
	return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 1 &&
	       memcmp(f + 38, &ip, 4) == 0;
}

static int is_udp_ping(const uint8_t *f, size_t len)
{
	return len >= 42 + 9 && get16(f + 12) == 0x0800 && f[23] == IPPROTO_UDP &&
	       get16(f + 36) == PORT && memcmp(f + 42, "husk-ping", 9) == 0;
}

/* The guest's side of the tap, for 5 s at most: answers ARP requests for
 * GUEST_IP (noting the asker's MAC) and returns the length of the first
 * "husk-ping" datagram, -1 if none came. Other frames (IPv6 chatter of
 * either side) are ignored. */
static ssize_t play_guest(uint8_t *f, size_t size, uint8_t *peer_mac, int *answered)
{
	uint64_t deadline = hk_now_us() + 5000000;

	*answered = 0;
	while (hk_now_us() < deadline) {
		struct pollfd p = {.fd = tap_fd, .events = POLLIN};
		if (poll(&p, 1, 100) < 0)
			return -1;
		ssize_t len = read(tap_fd, f, size);
		if (len <= 0)
			continue;
		if (is_udp_ping(f, (size_t)len))
			return len;
		if (!is_arp_for_guest(f, (size_t)len))
			continue;
		uint8_t reply[42] = {0};
		memcpy(peer_mac, f + 22, 6);
		memcpy(reply, peer_mac, 6);
		memcpy(reply + 6, guest_mac, 6);
		put16(reply + 12, 0x0806);
		put16(reply + 14, 1);      /* Ethernet */
		put16(reply + 16, 0x0800); /* IPv4 */
		reply[18] = 6;
		reply[19] = 4;
		put16(reply + 20, 2); /* reply */
		memcpy(reply + 22, guest_mac, 6);
		memcpy(reply + 28, f + 38, 4); /* the guest's IP, as asked */
		memcpy(reply + 32, peer_mac, 6);
		memcpy(reply + 38, f + 28, 4); /* the peer's IP */
		if (write(tap_fd, reply, sizeof(reply)) != (ssize_t)sizeof(reply))
			return -1;
		(*answered)++;
	}
	return -1;
}

/* Until index is operationally up (IFF_RUNNING), 5 s at most. */
static bool wait_running(unsigned index)
{
	for (int i = 0; i < 500; i++) {
		cleanup_err hk_err *err = NULL;
		cleanup_free struct hk_nl_link *links = NULL;
		size_t n;
		if (hk_nl_links(&nl, &links, &n, &err) < 0)
			return false;
		for (size_t j = 0; j < n; j++)
			if (links[j].index == index && (links[j].flags & IFF_RUNNING))
				return true;
		usleep(10000);
	}
	return false;
}

static uint16_t ip_checksum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += get16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP from the guest to the peer, UDP checksum 0 (none). */
static size_t udp_frame(uint8_t *f, const uint8_t *dst_mac, const char *payload)
{
	size_t plen = strlen(payload);
	struct in_addr src, dst;

	inet_pton(AF_INET, GUEST_IP, &src);
	inet_pton(AF_INET, PEER_IP, &dst);
	memset(f, 0, 42);
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (unsigned)(20 + 8 + plen));
	f[22] = 64;
	f[23] = IPPROTO_UDP;
	memcpy(f + 26, &src, 4);
	memcpy(f + 30, &dst, 4);
	put16(f + 24, ip_checksum(f + 14, 20));
	put16(f + 34, PORT);
	put16(f + 36, PORT);
	put16(f + 38, (unsigned)(8 + plen));
	memcpy(f + 42, payload, plen);
	return 42 + plen;
}

/* A new network namespace, as an fd; the caller stays where it is. */
static int new_netns(void)
{
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return -1;
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (setns(self_ns, CLONE_NEWNET) < 0)
		abort(); /* the rest of the tests would run in the wrong place */
	return fd;
}

/* The peer end of the veth in a namespace of its own plays the engine's
 * outside world: its ARP request and UDP datagram must come out of the tap,
 * and frames written into the tap must reach its socket. */
static int test_traffic(void)
{
	cleanup_err hk_err *err = NULL;
	int ns = peer_ns = new_netns();
	cleanup_close int sock = -1;
	struct hk_nl peer_nl = {0};
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	uint8_t f[2048], peer_mac[6];
	unsigned tv1;
	int answered;
	ssize_t len;
	int r = 0, i;

	CHECK(ns >= 0);
	CHECK((i = ifindex("tv1")) > 0);
	OK(hk_nl_link_move(&nl, (unsigned)i, ns, &err));
	CHECK(hk_nl_link_index(&nl, "tv1", &tv1, &err) < 0 && err->code == ENODEV);
	hk_err_free(&err);

	/* Configure the peer from inside its namespace; the socket stays there. */
	CHECK(setns(ns, CLONE_NEWNET) == 0);
	r = hk_nl_open(&peer_nl, &err);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (setns(self_ns, CLONE_NEWNET) < 0)
		abort();
	CHECK(print_err(r, &err) == 0 && sock >= 0);
	struct hk_nl_addr pa = addr(AF_INET, PEER_IP, 24);
	r = hk_nl_link_index(&peer_nl, "tv1", &tv1, &err);
	if (r == 0)
		r = hk_nl_link_set(&peer_nl, tv1, 1, 0, NULL, &err);
	if (r == 0)
		r = hk_nl_addr_add(&peer_nl, tv1, &pa, &err);
	hk_nl_close(&peer_nl);
	CHECK(print_err(r, &err) == 0);
	CHECK(bind(sock, (struct sockaddr *)&any, sizeof(any)) == 0);

	/* A veth whose peer has just come up drops what it is given to send
	 * until the kernel's link watcher re-activates its queue (noop_qdisc
	 * before that); wait for that as the engine's set-up would have. */
	CHECK(wait_running(tv0));

	/* veth → tap: the peer's ARP request and, once the guest has answered
	 * through the tap (tap → veth), the datagram it held back. */
	inet_pton(AF_INET, GUEST_IP, &to.sin_addr);
	CHECK(sendto(sock, "husk-ping", 9, 0, (struct sockaddr *)&to, sizeof(to)) == 9);
	CHECK((len = play_guest(f, sizeof(f), peer_mac, &answered)) > 0);
	CHECK(answered >= 1);
	CHECK(memcmp(f, guest_mac, 6) == 0 && memcmp(f + 6, peer_mac, 6) == 0);

	/* tap → veth on its own: a datagram from the guest reaches the socket. */
	len = (ssize_t)udp_frame(f, peer_mac, "husk-pong");
	CHECK(write(tap_fd, f, (size_t)len) == len);
	struct pollfd p = {.fd = sock, .events = POLLIN};
	CHECK(poll(&p, 1, 5000) == 1);
	char got[64];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	len = recvfrom(sock, got, sizeof(got), 0, (struct sockaddr *)&from, &flen);
	CHECK(len == 9 && memcmp(got, "husk-pong", 9) == 0);
	CHECK(from.sin_addr.s_addr == to.sin_addr.s_addr && from.sin_port == htons(PORT));
	return 0;
}

/* Ingress qdiscs on index, counted by a qdisc dump. */
static int count_ingress_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	unsigned *c = data;

	if ((unsigned)tcm->tcm_ifindex == c[0] && tcm->tcm_parent == TC_H_INGRESS)
		c[1]++;
	return MNL_CB_OK;
}

static int ingress_qdiscs(unsigned index)
{
	cleanup_err hk_err *err = NULL;
	struct nlmsghdr *nlh = hk_nl_msg(&nl, RTM_GETQDISC, NLM_F_DUMP);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	unsigned c[2] = {index, 0};

	tcm->tcm_family = AF_UNSPEC;
	if (print_err(hk_nl_talk(&nl, nlh, count_ingress_cb, c, &err), &err) < 0)
		return -1;
	return (int)c[1];
}

static int test_clear(void)
{
	cleanup_err hk_err *err = NULL;
	unsigned count;

	CHECK(ingress_qdiscs(tv0) == 1 && ingress_qdiscs(tap_idx) == 1);
	OK(hk_nl_redirect_clear(&nl, tv0, &err));
	OK(hk_nl_redirect_clear(&nl, tap_idx, &err));
	OK(hk_nl_filters(&nl, tv0, &count, &err));
	CHECK(count == 0);
	OK(hk_nl_filters(&nl, tap_idx, &count, &err));
	CHECK(count == 0);
	CHECK(ingress_qdiscs(tv0) == 0 && ingress_qdiscs(tap_idx) == 0);
	/* Teardown may run twice, or after the tap is gone. */
	OK(hk_nl_redirect_clear(&nl, tv0, &err));
	OK(hk_nl_redirect_clear(&nl, tap_idx, &err));
	OK(hk_nl_redirect_clear(&nl, 999999, &err));
	return 0;
}

static int test_errors(void)
{
	cleanup_err hk_err *err = NULL;
	unsigned i, gone;

	CHECK(hk_nl_link_index(&nl, "hk-nope", &i, &err) < 0);
	CHECK(err->code == ENODEV);
	CHECK_STR(err->msg, "interface `hk-nope`: No such device");
	hk_err_free(&err);
	CHECK(hk_nl_link_index(&nl, "a-name-far-too-long", &i, &err) < 0 && err->code == EINVAL);
	hk_err_free(&err);
	CHECK(hk_nl_link_set(&nl, 999999, 1, 0, NULL, &err) < 0 && err->code == ENODEV);
	CHECK(strstr(err->msg, "set link if 999999 up") != NULL);
	hk_err_free(&err);

	/* A redirect to an interface that has just vanished. */
	OK(hk_nl_veth_add(&nl, "hk-gone", "hk-gone-p", &err));
	OK(hk_nl_link_index(&nl, "hk-gone", &gone, &err));
	OK(hk_nl_link_del(&nl, gone, &err));
	CHECK(hk_nl_redirect(&nl, tv0, gone, &err) < 0);
	printf("#   expected: %s\n", err->msg);
	CHECK(err->code == ENODEV);
	char want[96];
	snprintf(want, sizeof(want), "redirect ingress of `tv0` (if %u) to if %u: ", tv0, gone);
	CHECK(strstr(err->msg, want) != NULL);
	/* …leaves no qdisc behind, as there was none before. */
	CHECK(ingress_qdiscs(tv0) == 0);
	hk_err_free(&err);
	/* And from one. */
	CHECK(hk_nl_redirect(&nl, gone, tv0, &err) < 0 && err->code == ENODEV);
	printf("#   expected: %s\n", err->msg);
	CHECK(strstr(err->msg, "add ingress qdisc on if") != NULL);
	return 0;
}

int main(void)
{
	cleanup_err hk_err *err = NULL;

	/* Everything happens in a namespace of our own that dies with us. */
	if (unshare(CLONE_NEWNET) < 0) {
		printf("1..0 # SKIP unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return 0;
	}
	self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_ns < 0 || hk_nl_open(&nl, &err) < 0) {
		printf("Bail out! %s\n", err ? err->msg : strerror(errno));
		return 1;
	}
	RUN_TEST(test_lo_up);
	RUN_TEST(test_veth_dump);
	RUN_TEST(test_link_set);
	RUN_TEST(test_addrs_routes);
	RUN_TEST(test_link_del);
	RUN_TEST(test_redirect);
	RUN_TEST(test_traffic);
	RUN_TEST(test_clear);
	RUN_TEST(test_errors);
	hk_nl_close(&nl);
	hk_nl_close(&nl); /* closing twice is harmless */
	if (tap_fd >= 0)
		close(tap_fd);
	close(self_ns);
	if (peer_ns >= 0)
		close(peer_ns);
	TAP_DONE();
}
