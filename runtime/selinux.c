#include "runtime/selinux.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "policy/selinux_mcs.h"
#include "runtime/state.h"

static const char *const label_keys[] = {RT_SELINUX_LABEL_KEY, RT_SELINUX_FILE_LABEL_KEY};

static bool owner_alive(const char *owner, void *root)
{
	return rt_exists(root, owner);
}

static int pool_of(const char *root, char *dir, size_t len, struct pol_mcs_pool *pool)
{
	if ((size_t)snprintf(dir, len, "%s/%s", root, RT_SELINUX_POOL) >= len)
		return -1;
	*pool = (struct pol_mcs_pool){.dir = dir, .alive = owner_alive, .arg = (void *)root};
	return 0;
}

static int map_set(oci_map *m, const char *key, const char *value, hk_err **err)
{
	char *v = strdup(value);

	if (v == NULL)
		return hk_err_set(err, ENOMEM, "annotation %s", key);
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].key, key) == 0) {
			free(m->v[i].value); /* ours wins over one config.json forged */
			m->v[i].value = v;
			return 0;
		}
	char *k = strdup(key);
	struct oci_kv *nv = k ? realloc(m->v, (m->n + 1) * sizeof(*nv)) : NULL;
	if (nv == NULL) {
		free(k);
		free(v);
		return hk_err_set(err, ENOMEM, "annotation %s", key);
	}
	m->v = nv;
	m->v[m->n++] = (struct oci_kv){.key = k, .value = v};
	m->set = true;
	return 0;
}

/* Frees a level's pair if id holds it; a level that is no pair holds none. */
static void free_level(const struct pol_mcs_pool *pool, const char *id, const char *level)
{
	struct pol_mcs_pair pair;
	cleanup_err hk_err *e = NULL;

	if (pol_mcs_parse(level, &pair) == 0 && pol_mcs_free(pool, id, &pair, &e) < 0)
		hk_warn("sVirt: %s", e->msg);
}

/* The level of an engine's label, "" when it gives none. */
static int engine_level(const char *label, const char *what, char *out, size_t len, hk_err **err)
{
	out[0] = '\0';
	if (label == NULL || *label == '\0')
		return 0;
	if (pol_selinux_level(label, out, len, err) < 0)
		return hk_err_wrap(err, "%s", what);
	return 0;
}

/* An engine's level that is a plain pair is claimed too, so the pool never
 * hands it to another sandbox; one a pod's sibling holds is shared. */
static int claim_engine_level(const struct pol_mcs_pool *pool, const char *id, const char *level,
                              hk_err **err)
{
	struct pol_mcs_pair p;

	if (pol_mcs_parse(level, &p) < 0)
		return 0;
	int r = pol_mcs_claim(pool, id, &p, err);
	if (r == 1)
		hk_debug("MCS level %s is shared with another sandbox (one pod)", level);
	return r < 0 ? -1 : 0;
}

int rt_selinux_setup(const char *root, const char *id, struct oci_spec *spec, struct rt_selinux *s,
                     hk_err **err)
{
	char dir[PATH_MAX], pl[POL_SELINUX_LEVEL_MAX], ml[POL_SELINUX_LEVEL_MAX];
	char own[POL_MCS_LEVEL_MAX] = "";
	struct pol_mcs_pool pool;
	struct pol_mcs_pair pair;

	memset(s, 0, sizeof(*s));
	if (pool_of(root, dir, sizeof(dir), &pool) < 0)
		return hk_err_set(err, ENAMETOOLONG, "MCS pool of `%s`", root);
	if (engine_level(spec->process ? spec->process->selinux_label : NULL,
	                 "process.selinuxLabel", pl, sizeof(pl), err) < 0 ||
	    engine_level(spec->linux_ ? spec->linux_->mount_label : NULL, "linux.mountLabel", ml,
	                 sizeof(ml), err) < 0)
		return -1;
	if (pl[0] == '\0' && ml[0] == '\0') {
		if (pol_mcs_alloc(&pool, id, &pair, err) < 0)
			return hk_err_wrap(err, "sVirt");
		pol_mcs_format(&pair, own, sizeof(own));
	} else if (claim_engine_level(&pool, id, pl, err) < 0 ||
	           (strcmp(ml, pl) != 0 && claim_engine_level(&pool, id, ml, err) < 0)) {
		free_level(&pool, id, pl);
		return hk_err_wrap(err, "sVirt");
	}
	/* Each label from its own field, else from the other's. */
	const char *exec_level = pl[0] ? pl : ml[0] ? ml : own;
	const char *file_level = ml[0] ? ml : pl[0] ? pl : own;
	if (pol_selinux_labels(exec_level, file_level, &s->l, err) < 0 ||
	    map_set(&spec->annotations, RT_SELINUX_LABEL_KEY, s->l.exec, err) < 0 ||
	    map_set(&spec->annotations, RT_SELINUX_FILE_LABEL_KEY, s->l.file, err) < 0) {
		const char *const held[] = {own, pl, ml};
		for (size_t i = 0; i < HK_ARRAY_SIZE(held); i++)
			free_level(&pool, id, held[i]);
		return hk_err_wrap(err, "sVirt");
	}
	s->engine_rootfs = ml[0] != '\0';
	s->enabled = pol_selinux_enabled();
	/* The one line that says labels are not applied: at info where the
	 * log is a file (engines give one; it is where operators look), at
	 * debug on stderr, so `husk run` by hand stays as quiet as runc. */
	if (!s->enabled)
		hk_log(hk_log_to_file() ? HK_LOG_INFO : HK_LOG_DEBUG,
		       "SELinux is disabled on this host: labels %s and %s are recorded, not "
		       "applied",
		       s->l.exec, s->l.file);
	return 0;
}

int rt_selinux_label_files(const struct rt_selinux *s, const char *dir, const char *bundle,
                           const struct oci_spec *spec, const char *kernel, const char *initrd,
                           hk_err **err)
{
	char rootfs[PATH_MAX];
	const char *rp = spec->root && spec->root->path ? spec->root->path : "rootfs";

	if (!s->enabled)
		return 0;
	if (rp[0] == '/')
		snprintf(rootfs, sizeof(rootfs), "%s", rp);
	else if ((size_t)snprintf(rootfs, sizeof(rootfs), "%s/%s", bundle, rp) >= sizeof(rootfs))
		return hk_err_set(err, ENAMETOOLONG, "rootfs of `%s`", bundle);
	if (pol_selinux_relabel(dir, s->l.file, true, err) < 0 ||
	    (!s->engine_rootfs && pol_selinux_relabel(rootfs, s->l.file, true, err) < 0))
		return hk_err_wrap(err, "sVirt");
	/* Shared by every sandbox and often on a read-only /usr: an install
	 * labels them by file context; failing here only warns, the monitor
	 * then fails to read them with its own clear error. */
	const char *const ro[] = {kernel, initrd};
	for (size_t i = 0; i < HK_ARRAY_SIZE(ro); i++) {
		cleanup_err hk_err *e = NULL;
		if (pol_selinux_relabel(ro[i], POL_SELINUX_RO_LABEL, false, &e) < 0)
			hk_warn("sVirt: %s", e->msg);
	}
	return 0;
}

int rt_selinux_exec(const struct rt_selinux *s)
{
	return s->enabled ? pol_selinux_set_exec(s->l.exec) : 0;
}

void rt_selinux_release(const char *root, const char *id, const oci_map *annotations)
{
	char dir[PATH_MAX], level[POL_SELINUX_LEVEL_MAX];
	struct pol_mcs_pool pool;

	if (annotations == NULL || pool_of(root, dir, sizeof(dir), &pool) < 0)
		return;
	for (size_t i = 0; i < HK_ARRAY_SIZE(label_keys); i++) {
		const char *label = oci_map_get(annotations, label_keys[i]);
		if (label && pol_selinux_level(label, level, sizeof(level), NULL) > 0)
			free_level(&pool, id, level);
	}
}

void rt_selinux_reclaim(const char *root)
{
	char dir[PATH_MAX];
	struct pol_mcs_pool pool;
	cleanup_err hk_err *e = NULL;
	unsigned n = 0;

	if (pool_of(root, dir, sizeof(dir), &pool) < 0)
		return;
	if (pol_mcs_reclaim(&pool, &n, &e) < 0)
		hk_warn("sVirt: %s", e->msg);
	else if (n)
		hk_debug("sVirt: reclaimed %u MCS pair(s) of sandboxes that are gone", n);
}

int rt_selinux_keep(const oci_map *from, struct oci_spec *spec, hk_err **err)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(label_keys); i++) {
		const char *v = oci_map_get(from, label_keys[i]);
		if (v && map_set(&spec->annotations, label_keys[i], v, err) < 0)
			return -1;
	}
	return 0;
}
