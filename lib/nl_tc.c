/* tc redirect between the engine's veth and the tap (Kata's "tcfilter"):
 * each side gets an ingress qdisc and one filter that matches every packet
 * and hands it to the other side's egress with the mirred action. No bridge,
 * no addresses on the host side, and the guest sees the frames unchanged. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/nl.h"

/* Filters are attached to the ingress hook by clsact's name for it: the
 * ingress qdisc accepts any minor, and a clsact qdisc someone else set up
 * (same handle ffff:) accepts only this one. */
#define INGRESS_PARENT TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)

static struct tcmsg *put_tcmsg(struct nlmsghdr *nlh, unsigned index, uint32_t parent)
{
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = (int)index;
	tcm->tcm_parent = parent;
	return tcm;
}

/* 1 when this call made the qdisc, 0 when it was there already. */
static int add_ingress(struct hk_nl *nl, unsigned index, hk_err **err)
{
	char desc[HK_NL_IFDESC];
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
	struct tcmsg *tcm = put_tcmsg(nlh, index, TC_H_INGRESS);

	tcm->tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	if (hk_nl_talk(nl, nlh, NULL, NULL, err) < 0) {
		/* Already there (ours from an earlier call, or a clsact): the
		 * filter goes on it all the same. */
		if ((*err)->code == EEXIST) {
			hk_err_free(err);
			return 0;
		}
		return hk_err_wrap(err, "add ingress qdisc on %s",
		                   hk_nl_ifdesc(nl, index, desc, sizeof(desc)));
	}
	return 1;
}

/* The action list of a filter: one mirred egress redirect to `to`. The
 * packet is stolen, so nothing after the filter sees it on `from`. */
static void put_redirect_action(struct nlmsghdr *nlh, uint16_t type, unsigned to)
{
	struct tc_mirred parms = {
	        .action = TC_ACT_STOLEN,
	        .eaction = TCA_EGRESS_REDIR,
	        .ifindex = to,
	};
	struct nlattr *acts = mnl_attr_nest_start(nlh, type);
	struct nlattr *act = mnl_attr_nest_start(nlh, 1); /* actions are numbered from 1 */
	struct nlattr *opts;

	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	opts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(parms), &parms);
	mnl_attr_nest_end(nlh, opts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
}

/* Starts a filter on the ingress of from for every protocol; priority 0
 * lets the kernel pick one, so each call adds a filter. */
static struct nlmsghdr *filter_msg(struct hk_nl *nl, unsigned from, const char *kind)
{
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
	struct tcmsg *tcm = put_tcmsg(nlh, from, INGRESS_PARENT);

	tcm->tcm_info = TC_H_MAKE(0, htons(ETH_P_ALL));
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	return nlh;
}

static int add_matchall(struct hk_nl *nl, unsigned from, unsigned to, hk_err **err)
{
	struct nlmsghdr *nlh = filter_msg(nl, from, "matchall");
	struct nlattr *opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);

	put_redirect_action(nlh, TCA_MATCHALL_ACT, to);
	mnl_attr_nest_end(nlh, opts);
	return hk_nl_talk(nl, nlh, NULL, NULL, err);
}

/* u32 with one key that compares no bits (mask 0) matches everything. */
static int add_u32(struct hk_nl *nl, unsigned from, unsigned to, hk_err **err)
{
	struct nlmsghdr *nlh = filter_msg(nl, from, "u32");
	struct nlattr *opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	struct tc_u32_sel sel = {.flags = TC_U32_TERMINAL, .nkeys = 1};
	struct tc_u32_key key = {.mask = 0, .val = 0, .off = 0};
	/* The selector is followed by its keys (a flexible array member). */
	uint8_t raw[sizeof(sel) + sizeof(key)];

	memcpy(raw, &sel, sizeof(sel));
	memcpy(raw + sizeof(sel), &key, sizeof(key));
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(raw), raw);
	put_redirect_action(nlh, TCA_U32_ACT, to);
	mnl_attr_nest_end(nlh, opts);
	return hk_nl_talk(nl, nlh, NULL, NULL, err);
}

int hk_nl_redirect(struct hk_nl *nl, unsigned from, unsigned to, hk_err **err)
{
	char d1[HK_NL_IFDESC], d2[HK_NL_IFDESC];
	int r, made = add_ingress(nl, from, err);

	if (made < 0)
		return -1;
	/* matchall says what is meant and is cheapest; kernels built without
	 * it (CONFIG_NET_CLS_MATCHALL unset, as on husk's own test hosts)
	 * answer ENOENT "TC classifier not found", and there u32's empty
	 * match does the same work. */
	r = add_matchall(nl, from, to, err);
	if (r < 0 && ((*err)->code == ENOENT || (*err)->code == EOPNOTSUPP)) {
		hk_err_free(err);
		r = add_u32(nl, from, to, err);
	}
	if (r < 0) {
		/* Leave the interface as it was: a qdisc made for nothing would
		 * only puzzle whoever looks at it next. */
		if (made) {
			cleanup_err hk_err *ignored = NULL;
			hk_nl_redirect_clear(nl, from, &ignored);
		}
		return hk_err_wrap(err, "redirect ingress of %s to %s",
		                   hk_nl_ifdesc(nl, from, d1, sizeof(d1)),
		                   hk_nl_ifdesc(nl, to, d2, sizeof(d2)));
	}
	return 0;
}

int hk_nl_redirect_clear(struct hk_nl *nl, unsigned index, hk_err **err)
{
	char desc[HK_NL_IFDESC];
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_DELQDISC, 0);

	/* No handle: the ingress slot is named by its parent alone. Giving
	 * ffff: would make "no qdisc there" an EINVAL ("Invalid handle") on an
	 * interface that once had one, instead of ENOENT. */
	put_tcmsg(nlh, index, TC_H_INGRESS);
	if (hk_nl_talk(nl, nlh, NULL, NULL, err) < 0) {
		/* ENOENT: no ingress qdisc; ENODEV: the interface went, and its
		 * qdiscs with it (a tap closed before teardown). */
		if ((*err)->code == ENOENT || (*err)->code == ENODEV) {
			hk_err_free(err);
			return 0;
		}
		return hk_err_wrap(err, "delete ingress qdisc of %s",
		                   hk_nl_ifdesc(nl, index, desc, sizeof(desc)));
	}
	return 0;
}

/* A filter dump lists each classifier instance (one per priority and
 * protocol) with handle 0, then its nodes (u32 adds a hash table and a key,
 * matchall one node); the instances are what hk_nl_redirect adds. */
static int filters_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (tcm->tcm_handle == 0)
		(*(unsigned *)data)++;
	return MNL_CB_OK;
}

int hk_nl_filters(struct hk_nl *nl, unsigned index, unsigned *count, hk_err **err)
{
	char desc[HK_NL_IFDESC];
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_GETTFILTER, NLM_F_DUMP);

	put_tcmsg(nlh, index, INGRESS_PARENT);
	*count = 0;
	/* No qdisc, or no such interface, is an empty dump: 0 filters. */
	if (hk_nl_talk(nl, nlh, filters_cb, count, err) < 0)
		return hk_err_wrap(err, "list ingress filters of %s",
		                   hk_nl_ifdesc(nl, index, desc, sizeof(desc)));
	return 0;
}
