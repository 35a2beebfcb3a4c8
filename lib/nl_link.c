/* Links: look-up, dump, settings, veth pairs for tests and CNI stand-ins. */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/nl.h"

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *nlh, unsigned index)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)index;
	return ifi;
}

/* The kind from IFLA_LINKINFO's IFLA_INFO_KIND. */
static void link_kind(const struct nlattr *info, char *kind, size_t size)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, info)
	{
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(kind, size, "%s", mnl_attr_get_str(a));
	}
}

/* One RTM_NEWLINK into l; -1 with errno when the message is malformed. */
static int parse_link(const struct nlmsghdr *nlh, struct hk_nl_link *l)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi)) {
		errno = EBADMSG;
		return -1;
	}
	memset(l, 0, sizeof(*l));
	l->index = (unsigned)ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_ADDRESS:
			/* Only Ethernet-sized addresses: the guest NIC is Ethernet. */
			if (mnl_attr_get_payload_len(a) == sizeof(l->mac))
				memcpy(l->mac, mnl_attr_get_payload(a), sizeof(l->mac));
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				l->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_LINKINFO:
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
				link_kind(a, l->kind, sizeof(l->kind));
			break;
		}
	}
	return 0;
}

static int index_cb(const struct nlmsghdr *nlh, void *data)
{
	struct hk_nl_link l;

	if (parse_link(nlh, &l) < 0)
		return MNL_CB_ERROR;
	*(unsigned *)data = l.index;
	return MNL_CB_OK;
}

int hk_nl_link_index(struct hk_nl *nl, const char *name, unsigned *index, hk_err **err)
{
	struct nlmsghdr *nlh;

	if (strlen(name) >= IFNAMSIZ)
		return hk_err_set(err, EINVAL, "interface `%s`: name longer than %d bytes", name,
		                  IFNAMSIZ - 1);
	nlh = hk_nl_msg(nl, RTM_GETLINK, 0);
	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	*index = 0;
	if (hk_nl_talk(nl, nlh, index_cb, index, err) < 0) {
		/* "No such device" says it all; the request name would be noise. */
		if ((*err)->code == ENODEV) {
			hk_err_free(err);
			return hk_err_set(err, ENODEV, "interface `%s`", name);
		}
		return hk_err_wrap(err, "interface `%s`", name);
	}
	if (*index == 0)
		return hk_err_set(err, EPROTO, "interface `%s`: no index in the reply", name);
	return 0;
}

struct link_list {
	struct hk_nl_link *v;
	size_t n;
};

static int links_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_list *ll = data;
	struct hk_nl_link l;

	if (parse_link(nlh, &l) < 0 || hk_nl_append(&ll->v, &ll->n, &l, sizeof(l)) < 0)
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

int hk_nl_links(struct hk_nl *nl, struct hk_nl_link **out, size_t *n, hk_err **err)
{
	struct link_list ll = {0};
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_GETLINK, NLM_F_DUMP);

	put_ifinfo(nlh, 0);
	if (hk_nl_talk(nl, nlh, links_cb, &ll, err) < 0) {
		free(ll.v);
		return hk_err_wrap(err, "list links");
	}
	*out = ll.v;
	*n = ll.n;
	return 0;
}

int hk_nl_link_set(struct hk_nl *nl, unsigned index, int up, unsigned mtu, const uint8_t *mac,
                   hk_err **err)
{
	char desc[HK_NL_IFDESC];
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_SETLINK, 0);
	struct ifinfomsg *ifi = put_ifinfo(nlh, index);

	if (up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = up ? IFF_UP : 0;
	}
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	if (hk_nl_talk(nl, nlh, NULL, NULL, err) < 0) {
		char what[64] = "";
		if (up >= 0)
			snprintf(what, sizeof(what), " %s", up ? "up" : "down");
		if (mtu)
			snprintf(what + strlen(what), sizeof(what) - strlen(what), " mtu %u", mtu);
		if (mac)
			snprintf(what + strlen(what), sizeof(what) - strlen(what),
			         " mac %02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
			         mac[3], mac[4], mac[5]);
		return hk_err_wrap(err, "set link %s%s",
		                   hk_nl_ifdesc(nl, index, desc, sizeof(desc)), what);
	}
	return 0;
}

int hk_nl_link_del(struct hk_nl *nl, unsigned index, hk_err **err)
{
	char desc[HK_NL_IFDESC];
	struct nlmsghdr *nlh;

	/* The name is looked up first: after the request it is gone. */
	hk_nl_ifdesc(nl, index, desc, sizeof(desc));
	nlh = hk_nl_msg(nl, RTM_DELLINK, 0);
	put_ifinfo(nlh, index);
	if (hk_nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return hk_err_wrap(err, "delete link %s", desc);
	return 0;
}

int hk_nl_veth_add(struct hk_nl *nl, const char *name, const char *peer, hk_err **err)
{
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info, *data, *pinfo;

	if (strlen(name) >= IFNAMSIZ || strlen(peer) >= IFNAMSIZ)
		return hk_err_set(err, EINVAL, "veth `%s`/`%s`: name longer than %d bytes", name,
		                  peer, IFNAMSIZ - 1);
	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* The peer is described as a link of its own: an ifinfomsg, then its
	 * attributes, inside VETH_INFO_PEER. */
	pinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	put_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_nest_end(nlh, pinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	if (hk_nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return hk_err_wrap(err, "add veth `%s` peer `%s`", name, peer);
	return 0;
}

int hk_nl_link_move(struct hk_nl *nl, unsigned index, int netns_fd, hk_err **err)
{
	char desc[HK_NL_IFDESC];
	struct nlmsghdr *nlh;

	hk_nl_ifdesc(nl, index, desc, sizeof(desc));
	nlh = hk_nl_msg(nl, RTM_SETLINK, 0);
	put_ifinfo(nlh, index);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	if (hk_nl_talk(nl, nlh, NULL, NULL, err) < 0)
		return hk_err_wrap(err, "move link %s to another network namespace", desc);
	return 0;
}
