/* The guest's network, as the monitor found it in the container's network
 * namespace on the host (cmd/husk-vmm/net.c): each NIC is found by its MAC
 * (the virtio-net device carries the host interface's), given its MTU, put
 * up, and given the same addresses and routes, through rtnetlink. The
 * container shares the VM's network stack (the VM is its namespace), as in
 * Kata. The description comes from the host; it is still checked field by
 * field, since a bad one must fail the create with a reason.
 *
 * Plain netlink rather than libmnl: the agent is static and Debian ships
 * libmnl only as a shared library; the four requests here need little. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

struct req {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[256];
};

static void add_attr(struct req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Sends one request and reads its acknowledgement. */
static int talk(int fd, struct req *r, const char *what, hk_err **err)
{
	static unsigned seq;
	char buf[4096];

	r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->h.nlmsg_seq = ++seq;
	if (send(fd, r, r->h.nlmsg_len, 0) < 0)
		return hk_err_set(err, errno, "%s", what);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return hk_err_set(err, errno, "%s", what);
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return hk_err_set(err, EPROTO, "%s: short answer", what);
			if (e->error == 0)
				return 0;
			return hk_err_set(err, -e->error, "%s", what);
		}
	}
}

static int link_up(int fd, unsigned index, unsigned mtu, hk_err **err)
{
	struct req r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
	                      .nlmsg_type = RTM_NEWLINK}};
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = (int)index;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	if (mtu)
		add_attr(&r, IFLA_MTU, &(uint32_t){mtu}, 4);
	return talk(fd, &r, "bring the link up", err);
}

/* "10.0.0.2" or "fd00::2" into bytes; the family it turned out to be. */
static int parse_ip(const hk_json *v, uint8_t out[16], int *family)
{
	if (v == NULL || v->type != HJ_STRING)
		return -1;
	if (inet_pton(AF_INET, v->s, out) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, v->s, out) == 1)
		*family = AF_INET6;
	else
		return -1;
	return 0;
}

static unsigned num(const hk_json *o, const char *k, unsigned dflt)
{
	const hk_json *v = hk_json_get(o, k);
	uint64_t n;
	if (v == NULL || v->type != HJ_NUMBER || hk_parse_u64(v->s, &n) < 0 || n > UINT32_MAX)
		return dflt;
	return (unsigned)n;
}

static int add_addr(int fd, unsigned index, const hk_json *a, hk_err **err)
{
	struct req r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
	                      .nlmsg_type = RTM_NEWADDR,
	                      .nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
	uint8_t ip[16];
	int family;
	unsigned prefix = num(a, "prefix", 999);

	if (parse_ip(hk_json_get(a, "addr"), ip, &family) < 0 ||
	    prefix > (family == AF_INET ? 32u : 128u))
		return hk_err_set(err, EINVAL, "network: bad address");
	r.ifa.ifa_family = (unsigned char)family;
	r.ifa.ifa_prefixlen = (unsigned char)prefix;
	r.ifa.ifa_index = index;
	/* The host already checked the address is unique on its link. */
	r.ifa.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	add_attr(&r, IFA_LOCAL, ip, family == AF_INET ? 4 : 16);
	add_attr(&r, IFA_ADDRESS, ip, family == AF_INET ? 4 : 16);
	return talk(fd, &r, "add an address", err);
}

static int add_route(int fd, unsigned index, const hk_json *o, hk_err **err)
{
	struct req r = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
	                      .nlmsg_type = RTM_NEWROUTE,
	                      .nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL}};
	uint8_t dst[16], gw[16];
	int family, gfamily;
	unsigned len = num(o, "dst_len", 999), metric = num(o, "metric", 0);
	const hk_json *g = hk_json_get(o, "gw");

	if (parse_ip(hk_json_get(o, "dst"), dst, &family) < 0 ||
	    len > (family == AF_INET ? 32u : 128u) ||
	    (g && (parse_ip(g, gw, &gfamily) < 0 || gfamily != family)))
		return hk_err_set(err, EINVAL, "network: bad route");
	r.rt.rtm_family = (unsigned char)family;
	r.rt.rtm_dst_len = (unsigned char)len;
	r.rt.rtm_table = RT_TABLE_MAIN;
	r.rt.rtm_protocol = RTPROT_BOOT;
	r.rt.rtm_scope = g ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	r.rt.rtm_type = RTN_UNICAST;
	if (len)
		add_attr(&r, RTA_DST, dst, family == AF_INET ? 4 : 16);
	if (g)
		add_attr(&r, RTA_GATEWAY, gw, family == AF_INET ? 4 : 16);
	if (metric)
		add_attr(&r, RTA_PRIORITY, &(uint32_t){metric}, 4);
	add_attr(&r, RTA_OIF, &(uint32_t){index}, 4);
	/* A route the kernel made already for an address is the same route. */
	cleanup_err hk_err *e = NULL;
	if (talk(fd, &r, "add a route", &e) < 0 && e->code != EEXIST) {
		*err = e;
		e = NULL;
		return -1;
	}
	return 0;
}

/* The guest interface whose address is mac ("aa:bb:…"), by sysfs. */
static unsigned find_by_mac(const char *mac, char *name, size_t len)
{
	DIR *d = opendir("/sys/class/net");
	unsigned index = 0;

	for (struct dirent *e; d && index == 0 && (e = readdir(d)) != NULL;) {
		char path[300], got[32] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/address", e->d_name);
		cleanup_file FILE *f = fopen(path, "re");
		if (f == NULL || fgets(got, sizeof(got), f) == NULL)
			continue;
		got[strcspn(got, "\n")] = '\0';
		if (strcasecmp(got, mac) == 0) {
			index = if_nametoindex(e->d_name);
			snprintf(name, len, "%.15s", e->d_name); /* IFNAMSIZ - 1 */
		}
	}
	if (d)
		closedir(d);
	return index;
}

static int open_rtnl(hk_err **err)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	/* An answer that never comes must not hold the agent (PID 1). */
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return hk_err_set(err, e, "netlink");
	}
	return fd;
}

int agent_net_lo(hk_err **err)
{
	/* At boot, before anything else is there to see a failure: the plain
	 * ioctl, which waits for no answer. */
	struct ifreq ifr = {.ifr_name = "lo"};
	cleanup_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return hk_err_set(err, errno, "lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return hk_err_set(err, errno, "lo up");
	return 0;
}

int agent_net_apply(const hk_json *nics, hk_err **err)
{
	if (nics == NULL)
		return 0;
	if (nics->type != HJ_ARRAY)
		return hk_err_set(err, EINVAL, "network: want an array of interfaces");
	cleanup_close int fd = open_rtnl(err);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < nics->n; i++) {
		const hk_json *nic = nics->vals[i], *mac = hk_json_get(nic, "mac");
		const hk_json *addrs = hk_json_get(nic, "addrs"),
		              *routes = hk_json_get(nic, "routes");
		char name[IFNAMSIZ] = "";
		if (mac == NULL || mac->type != HJ_STRING)
			return hk_err_set(err, EINVAL, "network[%zu]: no mac", i);
		unsigned index = find_by_mac(mac->s, name, sizeof(name));
		if (index == 0)
			return hk_err_set(err, ENODEV, "network[%zu]: no NIC with address %s", i,
			                  mac->s);
		if (link_up(fd, index, num(nic, "mtu", 0), err) < 0)
			return hk_err_wrap(err, "network: %s", name);
		for (size_t k = 0; addrs && addrs->type == HJ_ARRAY && k < addrs->n; k++)
			if (add_addr(fd, index, addrs->vals[k], err) < 0)
				return hk_err_wrap(err, "network: %s", name);
		/* Routes through a gateway need the routes to the gateway first:
		 * the link's own (no gateway) go in before the rest. */
		for (int pass = 0; pass < 2; pass++)
			for (size_t k = 0; routes && routes->type == HJ_ARRAY && k < routes->n;
			     k++) {
				bool has_gw = hk_json_get(routes->vals[k], "gw") != NULL;
				if (has_gw == (pass == 1) &&
				    add_route(fd, index, routes->vals[k], err) < 0)
					return hk_err_wrap(err, "network: %s", name);
			}
		hk_debug("network: %s up (%s)", name, mac->s);
	}
	return 0;
}
