/* A container's network (DESIGN §6), the way Kata's tcfilter model does it:
 * the engine's CNI gave the container a network namespace with a veth (or
 * several interfaces); the monitor joins that namespace, makes a tap per
 * interface, and redirects every frame both ways between the two with tc
 * ingress qdiscs and mirred filters. The guest's NIC takes the interface's
 * MAC and MTU, and the agent gives it the same addresses and routes, so the
 * container answers where the engine expects it.
 *
 *   - linux.namespaces has "network" with a path: the above.
 *   - "network" without a path: a namespace of the container's own, which
 *     would hold nothing but lo: the guest gets no NIC (loopback only), and
 *     the monitor a new empty namespace.
 *   - no "network" entry: the host's own stack, which a VM cannot share;
 *     refused unless the annotation io.husk.network is "none" (then, again,
 *     loopback only).
 *
 * What is set up is recorded in the state directory (net.json) so that
 * `delete --force` after a crashed monitor can take the filters away. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/husk-vmm/vmm.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/nl.h"
#include "lib/util.h"
#include "oci/spec.h"
#include "vmm/virtio/net.h"

static void put_ip(struct hk_buf *b, int family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];
	inet_ntop(family, a, s, sizeof(s));
	hk_buf_jstr(b, s);
}

/* One interface for the agent: mac, mtu, addresses and routes. */
static void describe(struct hk_buf *b, const struct hk_nl_link *l, const struct hk_nl_addr *a,
                     size_t na, const struct hk_nl_route *r, size_t nr)
{
	hk_buf_printf(b, "{\"name\":");
	hk_buf_jstr(b, l->name);
	hk_buf_printf(b, ",\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"mtu\":%u,\"addrs\":[",
	              l->mac[0], l->mac[1], l->mac[2], l->mac[3], l->mac[4], l->mac[5], l->mtu);
	for (size_t i = 0; i < na; i++) {
		hk_buf_printf(b, "%s{\"addr\":", i ? "," : "");
		put_ip(b, a[i].family, a[i].addr);
		hk_buf_printf(b, ",\"prefix\":%u}", a[i].prefixlen);
	}
	hk_buf_printf(b, "],\"routes\":[");
	for (size_t i = 0; i < nr; i++) {
		hk_buf_printf(b, "%s{\"family\":%d,\"dst\":", i ? "," : "",
		              r[i].family == AF_INET6 ? 6 : 4);
		put_ip(b, r[i].family, r[i].dst);
		hk_buf_printf(b, ",\"dst_len\":%u", r[i].dst_len);
		if (r[i].has_gw) {
			hk_buf_printf(b, ",\"gw\":");
			put_ip(b, r[i].family, r[i].gw);
		}
		hk_buf_printf(b, ",\"metric\":%u}", r[i].priority);
	}
	hk_buf_printf(b, "]}");
}

/* A tap beside link l, the redirects both ways, and l's addresses and
 * routes into the agent's description. */
static int wire(struct hk_nl *nl, const struct hk_nl_link *l, struct vmm_net_cfg *nc,
                struct hk_buf *desc, bool first, hk_err **err)
{
	cleanup_free struct hk_nl_addr *a = NULL;
	cleanup_free struct hk_nl_route *r = NULL;
	size_t na = 0, nr = 0;
	char tap[IFNAMSIZ];
	unsigned ti;

	if (vmm_tap_open("husk%d", &nc->tap_fd, tap, err) < 0)
		return -1;
	memcpy(nc->mac, l->mac, 6);
	nc->mtu = (uint16_t)(l->mtu > 65535 ? 65535 : l->mtu);
	if (hk_nl_link_index(nl, tap, &ti, err) < 0 ||
	    hk_nl_link_set(nl, ti, 1, l->mtu, NULL, err) < 0 ||
	    hk_nl_redirect(nl, l->index, ti, err) < 0 ||
	    hk_nl_redirect(nl, ti, l->index, err) < 0 ||
	    hk_nl_addrs(nl, l->index, &a, &na, err) < 0 ||
	    hk_nl_routes(nl, l->index, &r, &nr, err) < 0)
		return hk_err_wrap(err, "network: `%s`", l->name);
	hk_buf_printf(desc, "%s", first ? "" : ",");
	describe(desc, l, a, na, r, nr);
	hk_debug("network: %s (%02x:…:%02x, mtu %u) <-> %s, %zu addresses, %zu routes", l->name,
	         l->mac[0], l->mac[5], l->mtu, tap, na, nr);
	return 0;
}

int vmm_net_setup(const struct oci_spec *spec, const char *state_dir, struct vmm_config *cfg,
                  char **agent_json, hk_err **err)
{
	const struct oci_namespace *ns = NULL;
	cleanup_buf struct hk_buf desc = {0}, rec = {0};
	cleanup_free struct hk_nl_link *links = NULL;
	struct hk_nl nl = {0};
	size_t n = 0;
	int rc = -1;

	*agent_json = NULL;
	for (size_t i = 0; spec->linux_ && i < spec->linux_->namespaces.n; i++)
		if (strcmp(spec->linux_->namespaces.v[i].type, "network") == 0)
			ns = &spec->linux_->namespaces.v[i];
	if (ns == NULL) {
		const char *opt = oci_map_get(&spec->annotations, "io.husk.network");
		if (opt == NULL || strcmp(opt, "none") != 0)
			return hk_err_set(
			        err, EINVAL,
			        "network: the container asks for the host's network "
			        "namespace, which a VM cannot share; give it a network "
			        "namespace, or set the annotation io.husk.network=none for "
			        "loopback only");
		return 0;
	}
	/* A namespace of the container's own: the monitor, whose pid is the
	 * container's, takes a new empty one as runc's init would, so that an
	 * engine wiring the pid's namespace after create (ctr --cni) never
	 * touches the host's stack. */
	if (ns->path == NULL || ns->path[0] == '\0') {
		if (unshare(CLONE_NEWNET) < 0)
			return hk_err_set(err, errno,
			                  "network: a namespace of the container's own");
		return 0;
	}
	cleanup_close int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_err_set(err, errno, "network: namespace `%s`", ns->path);
	/* Only this thread moves, and no other exists yet; the vCPUs, the loop
	 * and virtiofsd all start in the container's namespace. */
	if (setns(fd, CLONE_NEWNET) < 0)
		return hk_err_set(err, errno, "network: join `%s`", ns->path);
	if (hk_nl_open(&nl, err) < 0 || hk_nl_links(&nl, &links, &n, err) < 0)
		goto out;
	/* A tap of ours here is another husk VM's, alive (a tap goes with the
	 * descriptor of the monitor that made it): that VM took these
	 * interfaces, and a second would compete with it for their frames. */
	for (size_t i = 0; i < n; i++)
		if (strcmp(links[i].kind, "tun") == 0 && strncmp(links[i].name, "husk", 4) == 0) {
			hk_err_set(err, EBUSY,
			           "network: namespace `%s` is already another husk VM's (its "
			           "tap `%s`): a pod's containers share its sandbox's VM when "
			           "they say which pod they are in (CRI's sandbox-id "
			           "annotation, or a /proc/PID/ns/net path of its container)",
			           ns->path, links[i].name);
			goto out;
		}
	hk_buf_printf(&desc, "[");
	hk_buf_printf(&rec, "{\"netns\":");
	hk_buf_jstr(&rec, ns->path);
	hk_buf_printf(&rec, ",\"links\":[");
	for (size_t i = 0; i < n; i++) {
		const struct hk_nl_link *l = &links[i];
		/* lo stays the namespace's; a tap is one of ours (or not ours to
		 * take); a link without an Ethernet address cannot be a NIC. */
		if ((l->flags & IFF_LOOPBACK) || strcmp(l->kind, "tun") == 0 ||
		    !(l->mac[0] | l->mac[1] | l->mac[2] | l->mac[3] | l->mac[4] | l->mac[5]))
			continue;
		if (cfg->nnet == VMM_MAX_NET) {
			hk_warn("network: more than %d interfaces; `%s` is left out", VMM_MAX_NET,
			        l->name);
			continue;
		}
		hk_buf_printf(&rec, "%s", cfg->nnet ? "," : "");
		hk_buf_jstr(&rec, l->name);
		/* Counted first, so a failure halfway is torn down too. */
		struct vmm_net_cfg *nc = &cfg->net[cfg->nnet++];
		nc->tap_fd = -1;
		if (wire(&nl, l, nc, &desc, cfg->nnet == 1, err) < 0)
			goto out;
	}
	hk_buf_printf(&desc, "]");
	hk_buf_printf(&rec, "]}\n");
	char path[4200];
	snprintf(path, sizeof(path), "%s/net.json", state_dir);
	if (hk_buf_done(&desc, err) < 0 || hk_buf_done(&rec, err) < 0 ||
	    hk_write_file_atomic(path, rec.s, rec.len, 0600, err) < 0)
		goto out;
	*agent_json = hk_steal_ptr(desc.s);
	rc = 0;
out:
	if (rc < 0) {
		vmm_net_teardown(cfg);
		for (unsigned k = 0; k < cfg->nnet; k++)
			if (cfg->net[k].tap_fd >= 0)
				close(cfg->net[k].tap_fd);
		cfg->nnet = 0;
	}
	hk_nl_close(&nl);
	return rc;
}

void vmm_net_teardown(struct vmm_config *cfg)
{
	/* Closing a tap removes it, and the filter on it; the filter on the
	 * engine's side goes with its ingress qdisc. */
	cleanup_err hk_err *err = NULL;
	struct hk_nl nl = {0};
	struct hk_nl_link *links = NULL;
	size_t n = 0;

	if (cfg->nnet == 0)
		return;
	if (hk_nl_open(&nl, &err) == 0 && hk_nl_links(&nl, &links, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			for (unsigned k = 0; k < cfg->nnet; k++)
				if (memcmp(links[i].mac, cfg->net[k].mac, 6) == 0 &&
				    strcmp(links[i].kind, "tun") != 0 &&
				    hk_nl_redirect_clear(&nl, links[i].index, &err) < 0) {
					hk_warn("%s", err->msg);
					hk_err_free(&err);
				}
	} else if (err) {
		hk_warn("network teardown: %s", err->msg);
	}
	free(links);
	hk_nl_close(&nl);
}
