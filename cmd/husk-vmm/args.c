#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "cmd/husk-vmm/vmm.h"
#include "lib/util.h"
#include "vmm/virtio/net.h"

/* Splits a trailing ",ro" off arg in place. */
static bool take_ro(char *arg)
{
	size_t n = strlen(arg);

	if (n > 3 && strcmp(arg + n - 3, ",ro") == 0) {
		arg[n - 3] = '\0';
		return true;
	}
	return false;
}

int vmm_parse_share(char *arg, struct vmm_share *s, hk_err **err)
{
	s->readonly = take_ro(arg);
	char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg || eq[1] == '\0')
		return hk_err_set(err, 0, "--fs %s: want TAG=DIR[,ro]", arg);
	if ((size_t)(eq - arg) >= sizeof(s->tag))
		return hk_err_set(err, 0, "--fs %s: tag longer than 36 bytes", arg);
	memcpy(s->tag, arg, (size_t)(eq - arg));
	s->tag[eq - arg] = '\0';
	s->dir = eq + 1;
	return 0;
}

int vmm_parse_blk(char *arg, struct vmm_blk_cfg *b, hk_err **err)
{
	b->readonly = take_ro(arg);
	if (*arg == '\0')
		return hk_err_set(err, 0, "--blk: want FILE[,ro]");
	b->path = arg;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return mac[0] & 1 ? -1 : 0; /* a multicast address is no NIC's */
}

int vmm_parse_net(char *arg, struct vmm_net_cfg *n, hk_err **err)
{
	char ifname[IFNAMSIZ];
	char *opts = strchr(arg, ',');
	uint64_t v;

	/* A locally administered address of our own unless one is given. */
	n->mac[0] = 0x02;
	if (getrandom(n->mac + 1, 5, 0) != 5)
		return hk_err_set(err, errno, "--net: a MAC address");
	n->mtu = 1500;
	n->tap_fd = -1;
	if (opts)
		*opts++ = '\0';
	while (opts && *opts) {
		char *next = strchr(opts, ',');
		if (next)
			*next++ = '\0';
		if (strncmp(opts, "mac=", 4) == 0) {
			if (parse_mac(opts + 4, n->mac) < 0)
				return hk_err_set(err, 0, "--net: bad MAC `%s`", opts + 4);
		} else if (strncmp(opts, "mtu=", 4) == 0) {
			if (hk_parse_u64(opts + 4, &v) < 0 || v < 68 || v > 65535)
				return hk_err_set(err, 0, "--net: mtu `%s`: want 68 to 65535",
				                  opts + 4);
			n->mtu = (uint16_t)v;
		} else {
			return hk_err_set(err, 0, "--net: unknown option `%s` (mac=, mtu=)", opts);
		}
		opts = next;
	}
	if (*arg == '\0')
		return hk_err_set(err, 0, "--net: want TAP[,mac=MAC][,mtu=N]");
	if (vmm_tap_open(arg, &n->tap_fd, ifname, err) < 0)
		return hk_err_wrap(err, "--net");
	return 0;
}
