/* Addresses and routes: read off the engine's eth0 to be re-created in the
 * guest, and added by tests and the suites that play CNI. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/nl.h"

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* "10.0.0.1/24" for messages. */
static const char *fmt_prefix(int family, const uint8_t *a, unsigned len, char *buf, size_t size)
{
	char s[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, a, s, sizeof(s));
	snprintf(buf, size, "%s/%u", s, len);
	return buf;
}

/* Copies an address attribute of the family's size; false otherwise. */
static bool get_addr(const struct nlattr *a, int family, uint8_t *out)
{
	size_t len = addr_len(family);

	if (len == 0 || mnl_attr_get_payload_len(a) != len)
		return false;
	memcpy(out, mnl_attr_get_payload(a), len);
	return true;
}

/* ---- addresses ---------------------------------------------------------- */

struct addr_list {
	unsigned index;
	struct hk_nl_addr *v;
	size_t n;
};

static int addrs_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_list *al = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct hk_nl_addr r = {.family = ifa->ifa_family, .prefixlen = ifa->ifa_prefixlen};
	bool have_local = false, have_addr = false;
	uint8_t addr[16] = {0};

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* The dump covers every link: filtering in the request needs strict
	 * checking, which older kernels lack. */
	if (ifa->ifa_index != al->index || addr_len(ifa->ifa_family) == 0)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the
		 * peer on point-to-point links, and the only one for IPv6. */
		if (mnl_attr_get_type(a) == IFA_LOCAL)
			have_local = get_addr(a, r.family, r.addr);
		else if (mnl_attr_get_type(a) == IFA_ADDRESS)
			have_addr = get_addr(a, r.family, addr);
	}
	if (!have_local) {
		if (!have_addr)
			return MNL_CB_OK;
		memcpy(r.addr, addr, sizeof(addr));
	}
	/* fe80::/10: the guest's kernel derives its own link-local address
	 * from the same MAC, so copying it would only collide (EEXIST). */
	if (r.family == AF_INET6 && r.addr[0] == 0xfe && (r.addr[1] & 0xc0) == 0x80)
		return MNL_CB_OK;
	return hk_nl_append(&al->v, &al->n, &r, sizeof(r)) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int hk_nl_addrs(struct hk_nl *nl, unsigned index, struct hk_nl_addr **out, size_t *n, hk_err **err)
{
	char desc[HK_NL_IFDESC];
	struct addr_list al = {.index = index};
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_UNSPEC;
	if (hk_nl_talk(nl, nlh, addrs_cb, &al, err) < 0) {
		free(al.v);
		return hk_err_wrap(err, "list addresses of %s",
		                   hk_nl_ifdesc(nl, index, desc, sizeof(desc)));
	}
	*out = al.v;
	*n = al.n;
	return 0;
}

int hk_nl_addr_add(struct hk_nl *nl, unsigned index, const struct hk_nl_addr *a, hk_err **err)
{
	char desc[HK_NL_IFDESC], p[INET6_ADDRSTRLEN + 8];
	size_t len = addr_len(a->family);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (len == 0 || a->prefixlen > len * 8)
		return hk_err_set(err, EINVAL, "add address: family %d prefix /%u", a->family,
		                  a->prefixlen);
	nlh = hk_nl_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)a->family;
	ifa->ifa_prefixlen = (unsigned char)a->prefixlen;
	ifa->ifa_index = index;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, IFA_LOCAL, len, a->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, a->addr);
	/* Whoever hands out the address (CNI) made sure it is unique; duplicate
	 * address detection would only leave it unusable for a second. */
	if (a->family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	if (hk_nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return hk_err_wrap(err, "add address %s to %s",
		                   fmt_prefix(a->family, a->addr, a->prefixlen, p, sizeof(p)),
		                   hk_nl_ifdesc(nl, index, desc, sizeof(desc)));
	return 0;
}

/* ---- routes ------------------------------------------------------------- */

struct route_list {
	unsigned oif;
	struct hk_nl_route *v;
	size_t n;
};

/* Routes the guest's kernel makes by itself, or that have no meaning there. */
static bool kernel_made(const struct rtmsg *rtm, const struct hk_nl_route *r)
{
	/* Prefix routes of addresses: they come back when the guest adds them. */
	if (rtm->rtm_protocol == RTPROT_KERNEL)
		return true;
	/* Learnt from router advertisements, which reach the guest too. */
	if (rtm->rtm_protocol == RTPROT_RA)
		return true;
	/* Local, broadcast, multicast, unreachable…: not a way out through oif. */
	if (rtm->rtm_type != RTN_UNICAST)
		return true;
	if (r->family == AF_INET6 && r->dst_len >= 8 &&
	    ((r->dst[0] == 0xfe && (r->dst[1] & 0xc0) == 0x80) || r->dst[0] == 0xff))
		return true;
	return false;
}

static int routes_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_list *rl = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct hk_nl_route r = {0};
	unsigned table;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (addr_len(rtm->rtm_family) == 0)
		return MNL_CB_OK;
	r.family = rtm->rtm_family;
	r.dst_len = rtm->rtm_dst_len;
	r.scope = rtm->rtm_scope;
	table = rtm->rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		switch (mnl_attr_get_type(a)) {
		case RTA_TABLE: /* rtm_table holds only 8 bits of it */
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				table = mnl_attr_get_u32(a);
			break;
		case RTA_DST:
			get_addr(a, r.family, r.dst);
			break;
		case RTA_GATEWAY:
			r.has_gw = get_addr(a, r.family, r.gw);
			break;
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				r.oif = mnl_attr_get_u32(a);
			break;
		case RTA_PRIORITY:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				r.priority = mnl_attr_get_u32(a);
			break;
		}
	}
	/* Multipath routes carry no RTA_OIF and are left out: CNI does not
	 * make them, and the guest has one NIC. */
	if (table != RT_TABLE_MAIN || r.oif != rl->oif || kernel_made(rtm, &r))
		return MNL_CB_OK;
	return hk_nl_append(&rl->v, &rl->n, &r, sizeof(r)) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int hk_nl_routes(struct hk_nl *nl, unsigned oif, struct hk_nl_route **out, size_t *n, hk_err **err)
{
	char desc[HK_NL_IFDESC];
	struct route_list rl = {.oif = oif};
	static const int families[] = {AF_INET, AF_INET6};

	/* One dump per family: AF_UNSPEC would also walk the multicast
	 * routing and MPLS tables, only to drop them. */
	for (size_t i = 0; i < HK_ARRAY_SIZE(families); i++) {
		struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_GETROUTE, NLM_F_DUMP);
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = (unsigned char)families[i];
		if (hk_nl_talk(nl, nlh, routes_cb, &rl, err) < 0) {
			free(rl.v);
			return hk_err_wrap(err, "list routes through %s",
			                   hk_nl_ifdesc(nl, oif, desc, sizeof(desc)));
		}
	}
	*out = rl.v;
	*n = rl.n;
	return 0;
}

int hk_nl_route_add(struct hk_nl *nl, const struct hk_nl_route *r, hk_err **err)
{
	char desc[HK_NL_IFDESC], p[INET6_ADDRSTRLEN + 8], gw[INET6_ADDRSTRLEN] = "";
	size_t len = addr_len(r->family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (len == 0 || r->dst_len > len * 8)
		return hk_err_set(err, EINVAL, "add route: family %d prefix /%u", r->family,
		                  r->dst_len);
	nlh = hk_nl_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)r->family;
	rtm->rtm_dst_len = (unsigned char)r->dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT; /* as `ip route add`: set up by an administrator */
	rtm->rtm_scope = r->scope;
	rtm->rtm_type = RTN_UNICAST;
	if (r->dst_len)
		mnl_attr_put(nlh, RTA_DST, len, r->dst);
	if (r->has_gw)
		mnl_attr_put(nlh, RTA_GATEWAY, len, r->gw);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, r->oif);
	if (r->priority)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->priority);
	if (hk_nl_talk(nl, nlh, NULL, NULL, err) < 0) {
		if (r->has_gw)
			inet_ntop(r->family, r->gw, gw, sizeof(gw));
		return hk_err_wrap(err, "add route %s%s%s dev %s",
		                   fmt_prefix(r->family, r->dst, r->dst_len, p, sizeof(p)),
		                   r->has_gw ? " via " : "", gw,
		                   hk_nl_ifdesc(nl, r->oif, desc, sizeof(desc)));
	}
	return 0;
}
