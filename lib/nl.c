/* The netlink socket and the one request/reply loop every lib/nl*.c call
 * goes through: sequence numbers, acks, dumps, and kernel errors turned
 * into hk_err with the extended ack message. */
#include "lib/nl.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"

/* Large enough for one kernel dump skb (the kernel sizes them to what the
 * reader offered, up to 32 KiB); a smaller buffer would truncate messages. */
#define NL_BUFSZ 32768u

int hk_nl_open(struct hk_nl *nl, hk_err **err)
{
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(NL_BUFSZ);
	if (nl->buf == NULL)
		return hk_err_set(err, errno, "netlink buffer");
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl->sock == NULL) {
		hk_err_set(err, errno, "open rtnetlink socket");
		hk_nl_close(nl);
		return -1;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		hk_err_set(err, errno, "bind rtnetlink socket");
		hk_nl_close(nl);
		return -1;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* The kernel explains most refusals ("Specified device does not exist")
	 * only in the extended ack; capped acks keep our request out of the
	 * error reply. Both are optional: without them errors are bare errnos. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	/* Start somewhere other than 0, which libmnl takes as "do not check". */
	nl->seq = (unsigned)time(NULL) | 1;
	return 0;
}

void hk_nl_close(struct hk_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	free(nl->buf);
	nl->buf = NULL;
}

struct nlmsghdr *hk_nl_msg(struct hk_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	if (++nl->seq == 0)
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	return nlh;
}

/* State of one exchange, seen by the libmnl callbacks. */
struct talk {
	mnl_cb_t cb;
	void *data;
	int cb_errno; /* the caller's callback failed; the rest is drained */
	int error;    /* errno from NLMSG_ERROR, 0 for none */
	char msg[256];
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	/* After a failure keep reading to the end, so the next request does
	 * not find this one's leftovers in the socket. */
	if (t->cb == NULL || t->cb_errno)
		return MNL_CB_OK;
	if (t->cb(nlh, t->data) == MNL_CB_ERROR)
		t->cb_errno = errno ? errno : EPROTO;
	return MNL_CB_OK;
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		t->error = EBADMSG;
		return MNL_CB_STOP;
	}
	t->error = -e->error;
	if (e->error == 0 || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return MNL_CB_STOP;
	/* Uncapped errors carry our request after the header; skip it. */
	size_t off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += mnl_nlmsg_get_payload_len(&e->msg);
	mnl_attr_for_each(a, nlh, off)
	{
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(t->msg, sizeof(t->msg), "%s", mnl_attr_get_str(a));
	}
	return MNL_CB_STOP;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

/* Not const only because mnl_cb_run2() is declared to take a mutable array;
 * it never writes it. */
static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
        [NLMSG_NOOP] = noop_cb,
        [NLMSG_ERROR] = error_cb,
        [NLMSG_DONE] = done_cb,
        [NLMSG_OVERRUN] = noop_cb,
};

static const char *type_name(uint16_t type)
{
	switch (type) {
	case RTM_NEWLINK:
		return "RTM_NEWLINK";
	case RTM_DELLINK:
		return "RTM_DELLINK";
	case RTM_GETLINK:
		return "RTM_GETLINK";
	case RTM_SETLINK:
		return "RTM_SETLINK";
	case RTM_NEWADDR:
		return "RTM_NEWADDR";
	case RTM_GETADDR:
		return "RTM_GETADDR";
	case RTM_NEWROUTE:
		return "RTM_NEWROUTE";
	case RTM_GETROUTE:
		return "RTM_GETROUTE";
	case RTM_NEWQDISC:
		return "RTM_NEWQDISC";
	case RTM_DELQDISC:
		return "RTM_DELQDISC";
	case RTM_GETQDISC:
		return "RTM_GETQDISC";
	case RTM_NEWTFILTER:
		return "RTM_NEWTFILTER";
	case RTM_GETTFILTER:
		return "RTM_GETTFILTER";
	default:
		return "netlink request";
	}
}

/* Reads and drops the rest of dump seq, so that the next exchange starts on
 * a clean socket. */
static void drain(struct hk_nl *nl, unsigned seq)
{
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(nl->sock, nl->buf, NL_BUFSZ);
		if (len <= 0)
			return;
		int left = (int)len;
		for (const struct nlmsghdr *h = (const void *)nl->buf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left))
			if (h->nlmsg_seq == seq &&
			    (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
				return;
	}
}

/* NLM_F_DUMP's bits mean NLM_F_REPLACE|NLM_F_EXCL on a "new" request, so
 * only a "get" (RTM_GET*: type % 4 == 2) with both bits is a dump. */
static bool is_dump(const struct nlmsghdr *nlh)
{
	return (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && (nlh->nlmsg_type & 3) == 2;
}

int hk_nl_talk(struct hk_nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, hk_err **err)
{
	struct talk t = {.cb = cb, .data = data};
	const char *what = type_name(req->nlmsg_type);
	unsigned seq = req->nlmsg_seq;
	bool dump = is_dump(req);
	int ret;

	if (!dump)
		req->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return hk_err_set(err, errno, "%s: send", what);
	do {
		ssize_t len = mnl_socket_recvfrom(nl->sock, nl->buf, NL_BUFSZ);
		if (len < 0)
			return hk_err_set(err, errno, "%s: receive", what);
		ret = mnl_cb_run2(nl->buf, (size_t)len, seq, nl->portid, data_cb, &t, ctl_cbs,
		                  HK_ARRAY_SIZE(ctl_cbs));
	} while (ret > 0);
	if (ret < 0) {
		/* libmnl's own refusals: another sender, a stale sequence, or a
		 * dump the kernel marked inconsistent (EINTR: a change raced it). */
		int e = errno;
		if (dump)
			drain(nl, seq);
		return hk_err_set(err, e, "%s: %s", what,
		                  e == EINTR ? "dump interrupted by a concurrent change"
		                             : "bad reply");
	}
	if (t.error)
		return hk_err_set(err, t.error, "%s%s%s", what, t.msg[0] ? ": " : "", t.msg);
	if (t.cb_errno)
		return hk_err_set(err, t.cb_errno, "%s: reading the reply", what);
	return 0;
}

static int name_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
	{
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(data, IF_NAMESIZE, "%s", mnl_attr_get_str(a));
	}
	return MNL_CB_OK;
}

const char *hk_nl_ifdesc(struct hk_nl *nl, unsigned index, char *buf, size_t size)
{
	cleanup_err hk_err *err = NULL;
	char name[IF_NAMESIZE] = "";
	struct nlmsghdr *nlh = hk_nl_msg(nl, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	/* Asked on the socket, not with if_indextoname(): the caller may be in
	 * another namespace than the one the socket works in. */
	ifi->ifi_index = (int)index;
	if (hk_nl_talk(nl, nlh, name_cb, name, &err) == 0 && name[0])
		snprintf(buf, size, "`%s` (if %u)", name, index);
	else
		snprintf(buf, size, "if %u", index);
	return buf;
}

int hk_nl_append(void *arrayp, size_t *n, const void *elem, size_t size)
{
	void *a;

	/* arrayp is a T **; go through memcpy rather than a void ** cast. */
	memcpy(&a, arrayp, sizeof(a));
	a = realloc(a, (*n + 1) * size);
	if (a == NULL)
		return -1;
	memcpy(arrayp, &a, sizeof(a));
	memcpy((char *)a + *n * size, elem, size);
	(*n)++;
	return 0;
}
