/* process.capabilities as runc applies them, through libcap: the bounding
 * set is cut while the process is still root (it needs CAP_SETPCAP), the
 * other sets once it has its final uid (kept across setuid by KEEPCAPS),
 * ambient last because it can only hold what is permitted and inheritable. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "guest-agent/procsec.h"

static void cap_freep(cap_t *c)
{
	if (*c)
		cap_free(*c);
}
#define cleanup_cap __attribute__((cleanup(cap_freep)))

/* "CAP_NET_ADMIN" to its number. Names this kernel does not know (a newer
 * profile) are skipped, as runc does; -1 then. */
static cap_value_t cap_of(const char *name)
{
	char low[64];
	size_t i = 0;
	cap_value_t v;

	for (; name[i] && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[i] = '\0';
	if (cap_from_name(low, &v) < 0 || v > cap_max_bits() - 1)
		return -1;
	return v;
}

static bool in(const oci_strv *set, cap_value_t v)
{
	for (size_t i = 0; i < set->n; i++)
		if (cap_of(set->v[i]) == v)
			return true;
	return false;
}

int agent_caps_prepare_setuid(const struct oci_capabilities *c, hk_err **err)
{
	if (c == NULL)
		return 0; /* no capabilities object: the process keeps what it has */
	for (cap_value_t v = 0; v < (cap_value_t)cap_max_bits(); v++)
		if (!in(&c->bounding, v) && CAP_IS_SUPPORTED(v) && cap_drop_bound(v) < 0)
			return hk_err_set(err, errno, "process.capabilities.bounding: dropping %s",
			                  cap_to_name(v));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hk_err_set(err, errno, "PR_SET_KEEPCAPS");
	return 0;
}

int agent_caps_apply(const struct oci_capabilities *c, hk_err **err)
{
	cleanup_cap cap_t caps = NULL;
	const struct {
		const oci_strv *set;
		cap_flag_t flag;
	} sets[] = {
	        {c ? &c->effective : NULL, CAP_EFFECTIVE},
	        {c ? &c->permitted : NULL, CAP_PERMITTED},
	        {c ? &c->inheritable : NULL, CAP_INHERITABLE},
	};

	if (c == NULL)
		return 0;
	caps = cap_init(); /* all clear */
	if (caps == NULL)
		return hk_err_set(err, errno, "cap_init");
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++)
		for (size_t i = 0; i < sets[s].set->n; i++) {
			cap_value_t v = cap_of(sets[s].set->v[i]);
			if (v >= 0 && cap_set_flag(caps, sets[s].flag, 1, &v, CAP_SET) < 0)
				return hk_err_set(err, errno, "cap_set_flag %s", sets[s].set->v[i]);
		}
	if (cap_set_proc(caps) < 0)
		return hk_err_set(err, errno, "process.capabilities: setting the process's sets");
	if (CAP_AMBIENT_SUPPORTED()) {
		if (cap_reset_ambient() < 0)
			return hk_err_set(err, errno, "process.capabilities.ambient: reset");
		for (size_t i = 0; i < c->ambient.n; i++) {
			cap_value_t v = cap_of(c->ambient.v[i]);
			/* Ambient can only hold what is permitted and inheritable;
			 * runc passes over the others. */
			if (v < 0 || !in(&c->permitted, v) || !in(&c->inheritable, v))
				continue;
			if (cap_set_ambient(v, CAP_SET) < 0)
				return hk_err_set(err, errno,
				                  "process.capabilities.ambient: raising %s",
				                  c->ambient.v[i]);
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hk_err_set(err, errno, "PR_SET_KEEPCAPS");
	return 0;
}
