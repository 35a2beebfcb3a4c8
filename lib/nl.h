/* Host-side rtnetlink through libmnl: what husk-vmm needs to wire a
 * container's network namespace to its tap (DESIGN §6). It reads the engine's
 * eth0 (MAC, MTU, addresses, routes) to hand them to the guest, and redirects
 * traffic both ways between eth0 and the tap with an ingress qdisc and a
 * mirred redirect filter on each (Kata's "tcfilter" model).
 *
 * Every call works in the network namespace the socket was opened in, so
 * open it after entering the container's namespace. Interfaces are named by
 * index; hk_nl_link_index() resolves a name. err must not be NULL: some
 * calls read the kernel's errno to tell a benign refusal (EEXIST, ENOENT).
 *
 * Host only: the static guest agent does not link lib/nl*.c (there is no
 * static libmnl; guest-agent/guest.mk filters these files out). */
#ifndef HK_NL_H
#define HK_NL_H

#include <libmnl/libmnl.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct hk_nl {
	struct mnl_socket *sock;
	unsigned seq;    /* of the last request; replies must carry it */
	unsigned portid; /* the kernel's address for this socket */
	char *buf;       /* requests are built, and replies received, here */
};

int hk_nl_open(struct hk_nl *nl, hk_err **err);
/* Safe on a zeroed or already closed handle. */
void hk_nl_close(struct hk_nl *nl);

/* ---- links ---------------------------------------------------------------- */

struct hk_nl_link {
	unsigned index;
	char name[IFNAMSIZ];
	uint8_t mac[6]; /* zero when the link has no Ethernet address (lo is all zero too) */
	unsigned mtu;
	unsigned flags; /* IFF_UP, IFF_LOWER_UP, … */
	char kind[16];  /* "veth", "tun", … from IFLA_LINKINFO; "" for none */
};

/* ENODEV when there is no such interface. */
int hk_nl_link_index(struct hk_nl *nl, const char *name, unsigned *index, hk_err **err);
/* Every link of the namespace; *out is the caller's to free. */
int hk_nl_links(struct hk_nl *nl, struct hk_nl_link **out, size_t *n, hk_err **err);
/* up: 1 up, 0 down, -1 leave; mtu 0 and mac NULL leave those alone. */
int hk_nl_link_set(struct hk_nl *nl, unsigned index, int up, unsigned mtu, const uint8_t *mac,
                   hk_err **err);
int hk_nl_link_del(struct hk_nl *nl, unsigned index, hk_err **err);
/* A veth pair, both ends down (tests, and test suites that play CNI). */
int hk_nl_veth_add(struct hk_nl *nl, const char *name, const char *peer, hk_err **err);
/* Moves a link into the network namespace behind netns_fd (a /proc/PID/ns/net
 * fd), as CNI does with the container's end of a veth. */
int hk_nl_link_move(struct hk_nl *nl, unsigned index, int netns_fd, hk_err **err);

/* ---- addresses and routes --------------------------------------------------- */

struct hk_nl_addr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 bytes used for AF_INET */
	unsigned prefixlen;
};

/* The addresses on a link, both families, except IPv6 link-local ones. */
int hk_nl_addrs(struct hk_nl *nl, unsigned index, struct hk_nl_addr **out, size_t *n, hk_err **err);
int hk_nl_addr_add(struct hk_nl *nl, unsigned index, const struct hk_nl_addr *a, hk_err **err);

struct hk_nl_route {
	int family;
	uint8_t dst[16];
	unsigned dst_len; /* 0 with dst all zero: the default route */
	uint8_t gw[16];
	bool has_gw;
	unsigned oif;
	unsigned priority;   /* 0: the kernel's default metric */
	unsigned char scope; /* RT_SCOPE_UNIVERSE, or RT_SCOPE_LINK for on-link routes */
};

/* The main table's routes out of oif, both families, without the ones the
 * kernel makes by itself (prefix routes of addresses, link-local, multicast):
 * what is left is what the guest must be told to re-create. */
int hk_nl_routes(struct hk_nl *nl, unsigned oif, struct hk_nl_route **out, size_t *n, hk_err **err);
int hk_nl_route_add(struct hk_nl *nl, const struct hk_nl_route *r, hk_err **err);

/* ---- tc redirect ------------------------------------------------------------ */

/* Everything that arrives on `from` leaves through `to`: an ingress qdisc on
 * `from` (kept when there is one) and a match-everything filter with a mirred
 * egress redirect to `to`. Each call adds one filter. */
int hk_nl_redirect(struct hk_nl *nl, unsigned from, unsigned to, hk_err **err);
/* Deletes the ingress qdisc of index and so its filters; no qdisc, or no
 * interface any more, is not an error (teardown runs this unconditionally). */
int hk_nl_redirect_clear(struct hk_nl *nl, unsigned index, hk_err **err);
/* How many filters (classifier instances) sit on the ingress of index. */
int hk_nl_filters(struct hk_nl *nl, unsigned index, unsigned *count, hk_err **err);

/* ---- for lib/nl*.c (and tests that need a message this API lacks) ----------- */

/* Starts a request in nl->buf with a fresh sequence number. */
struct nlmsghdr *hk_nl_msg(struct hk_nl *nl, uint16_t type, uint16_t flags);
/* Sends req and runs cb on each reply until the ack (NLM_F_ACK is added unless
 * req is a dump) or the end of the dump. A kernel error comes back as its
 * errno with the extended ack message when there is one; cb fails by returning
 * MNL_CB_ERROR with errno set. The caller wraps *err with what it was doing. */
int hk_nl_talk(struct hk_nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, hk_err **err);
/* "`eth0` (if 4)", or "if 4" when it is gone, for messages; buf wants
 * HK_NL_IFDESC bytes. Reuses nl->buf, so call it after reading a reply. */
#define HK_NL_IFDESC (IFNAMSIZ + 24)
const char *hk_nl_ifdesc(struct hk_nl *nl, unsigned index, char *buf, size_t size);
/* Appends *elem (size bytes) to the array *arrayp (a T **) of *n elements;
 * -1 with errno on failure, the array left as it was. */
int hk_nl_append(void *arrayp, size_t *n, const void *elem, size_t size);

#endif
