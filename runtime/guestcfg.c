#include "runtime/guestcfg.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/cpulist.h"
#include "lib/json.h"
#include "lib/util.h"
#include "vmm/sched/sched.h"

static int set_str(char **dst, const char *v, hk_err **err)
{
	char *s = strdup(v);
	if (s == NULL)
		return hk_err_set(err, ENOMEM, "guest configuration");
	free(*dst);
	*dst = s;
	return 0;
}

/* The first of dir/../share/husk/NAME and dir/guest/NAME that exists. */
static int beside_self(const char *name, const char *sub, char **out, hk_err **err)
{
	char self[PATH_MAX], p[PATH_MAX * 2];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return hk_err_set(err, errno, "/proc/self/exe");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if (sub == NULL) {
		snprintf(p, sizeof(p), "%s/%s", self, name);
		return set_str(out, p, err);
	}
	snprintf(p, sizeof(p), "%s/guest/%s", self, name);
	if (access(p, R_OK) == 0)
		return set_str(out, p, err);
	snprintf(p, sizeof(p), "%s/../share/husk/%s", self, name);
	return set_str(out, p, err);
}

static int u64_field(const hk_json *j, const char *key, uint64_t *out, hk_err **err)
{
	const hk_json *v = hk_json_get(j, key);
	if (v == NULL)
		return 0;
	if (v->type != HJ_NUMBER || hk_parse_u64(v->s, out) < 0)
		return hk_err_set(err, EINVAL, "%s: expected a non-negative integer", key);
	return 1;
}

const char *const rt_sched_flags[RT_NSCHED] = {
        "cpu-list", "mems", "affinity", "scheduler-policy", "priority", "realtime",
};
static const char *const sched_keys[RT_NSCHED] = {
        "cpu_list", "mems", "affinity", "scheduler_policy", "priority", "realtime",
};

/* Refuses a value husk-vmm would refuse, so create fails before anything
 * starts and names where the value came from. */
static int check_sched(enum rt_sched_opt o, const char *v, hk_err **err)
{
	struct sched_cfg c;
	cpu_set_t set;

	sched_cfg_init(&c);
	switch (o) {
	case RT_CPU_LIST:
	case RT_MEMS:
		return hk_cpulist_parse(v, &set, err);
	case RT_AFFINITY:
		return sched_parse_affinity(v, &c, err);
	case RT_SCHED_POLICY:
		return sched_parse_policy(v, &c, err);
	case RT_PRIORITY:
		return sched_parse_priority(v, &c, err);
	case RT_REALTIME:
		return sched_parse_rt(v, &c, err);
	case RT_NSCHED:
		break;
	}
	return hk_err_set(err, EINVAL, "unknown setting");
}

static int set_sched(struct rt_guest *g, enum rt_sched_opt o, const char *v, const char *from,
                     hk_err **err)
{
	if (check_sched(o, v, err) < 0)
		return hk_err_wrap(err, "%s", from);
	return set_str(&g->sched[o], v, err);
}

/* vmm_uid and vmm_gid: below UINT32_MAX ((uid_t)-1 means "unchanged" to
 * setresuid), and one without the other is refused, as husk-vmm does. */
static int load_vmm_ids(const hk_json *j, struct rt_guest *g, hk_err **err)
{
	uint64_t uid, gid;
	int ru = u64_field(j, "vmm_uid", &uid, err);
	if (ru < 0)
		return -1;
	int rg = u64_field(j, "vmm_gid", &gid, err);
	if (rg < 0)
		return -1;
	if (ru != rg)
		return hk_err_set(err, EINVAL, "vmm_uid and vmm_gid go together");
	if (ru == 0)
		return 0;
	if (uid >= UINT32_MAX || gid >= UINT32_MAX)
		return hk_err_set(err, EINVAL, "vmm_uid, vmm_gid: want less than %u", UINT32_MAX);
	g->vmm_ids = true;
	g->vmm_uid = (uint32_t)uid;
	g->vmm_gid = (uint32_t)gid;
	return 0;
}

static int load_defaults(struct rt_guest *g, bool *allow_paths, hk_err **err)
{
	const char *path = getenv("HUSK_CONFIG");
	cleanup_free char *buf = NULL;
	cleanup_json hk_json *j = NULL;
	size_t len;
	uint64_t v;

	if (path == NULL)
		path = "/etc/husk/husk.json";
	if (hk_read_file(path, 1 << 20, &buf, &len, err) < 0) {
		if (*err && (*err)->code == ENOENT) {
			hk_err_free(err);
			return 0;
		}
		return hk_err_wrap(err, "runtime defaults");
	}
	if (hk_json_parse(buf, len, NULL, &j, err) < 0 || j->type != HJ_OBJECT)
		return hk_err_set(err, EINVAL, "`%s`: expected a JSON object", path);
	static const char *const strs[] = {"vmm", "kernel", "initrd"};
	char **dst[] = {&g->vmm, &g->kernel, &g->initrd};
	for (size_t i = 0; i < 3; i++) {
		const hk_json *s = hk_json_get(j, strs[i]);
		if (s && s->type != HJ_STRING)
			return hk_err_set(err, EINVAL, "`%s`: %s: expected a string", path,
			                  strs[i]);
		if (s && set_str(dst[i], s->s, err) < 0)
			return -1;
	}
	int r = u64_field(j, "vcpus", &v, err);
	if (r < 0)
		return hk_err_wrap(err, "`%s`", path);
	if (r > 0)
		g->vcpus = (unsigned)v;
	if ((r = u64_field(j, "memory_mib", &v, err)) < 0)
		return hk_err_wrap(err, "`%s`", path);
	if (r > 0)
		g->memory_mib = v;
	if (load_vmm_ids(j, g, err) < 0)
		return hk_err_wrap(err, "`%s`", path);
	const hk_json *a = hk_json_get(j, "allow_path_annotations");
	*allow_paths = a && a->type == HJ_BOOL && a->b;
	for (int o = 0; o < RT_NSCHED; o++) {
		const hk_json *s = hk_json_get(j, sched_keys[o]);
		if (s && s->type != HJ_STRING)
			return hk_err_set(err, EINVAL, "`%s`: %s: expected a string", path,
			                  sched_keys[o]);
		if (s && set_sched(g, (enum rt_sched_opt)o, s->s, path, err) < 0)
			return -1;
	}
	return 0;
}

/* A namespace given by path is another process's, usually another
 * container's: the pause container of a Kubernetes pod, a Podman pod's
 * infra container, docker's --ipc/--pid container:X. Such a container would
 * have to run in that container's VM, which husk does not do yet (one VM
 * per container): refused here, before a VM boots, with the reason. The
 * network namespace is the exception: a path is where the engine's CNI
 * wired the container's interfaces, which the monitor joins (and it refuses
 * a namespace another husk VM already took, cmd/husk-vmm/net.c). */
static int check_namespaces(const struct oci_spec *spec, hk_err **err)
{
	for (size_t i = 0; spec->linux_ && i < spec->linux_->namespaces.n; i++) {
		const struct oci_namespace *ns = &spec->linux_->namespaces.v[i];
		if (ns->path == NULL || ns->path[0] == '\0' || strcmp(ns->type, "network") == 0)
			continue;
		return hk_err_set(err, ENOTSUP,
		                  "linux.namespaces[%zu]: joining another container's %s "
		                  "namespace (`%s`) is not supported: each husk container "
		                  "is a VM of its own, and shares namespaces only with its "
		                  "pod's containers (in the pod's VM), and this is no husk "
		                  "container's in this root",
		                  i, ns->type, ns->path);
	}
	return 0;
}

int rt_guest_vmm(struct rt_guest *g, hk_err **err)
{
	memset(g, 0, sizeof(*g));
	return beside_self("husk-vmm", NULL, &g->vmm, err);
}

int rt_guest_config(const struct oci_spec *spec, struct rt_guest *g, hk_err **err)
{
	bool allow_paths = false;
	uint64_t v;
	const char *a;

	memset(g, 0, sizeof(*g));
	if (check_namespaces(spec, err) < 0)
		return -1;
	g->vcpus = RT_DEFAULT_VCPUS;
	g->memory_mib = RT_DEFAULT_MEMORY_MIB;
	if (beside_self("husk-vmm", NULL, &g->vmm, err) < 0 ||
	    beside_self("vmlinux", "", &g->kernel, err) < 0 ||
	    beside_self("initramfs.cpio", "", &g->initrd, err) < 0 ||
	    load_defaults(g, &allow_paths, err) < 0)
		goto fail;
	/* What the container asks of its resources sizes its VM. */
	const struct oci_resources *r = spec->linux_ ? spec->linux_->resources : NULL;
	if (r && r->memory && r->memory->limit.set && r->memory->limit.v > 0) {
		uint64_t need = ((uint64_t)r->memory->limit.v >> 20) + RT_MEMORY_OVERHEAD_MIB;
		if (need > g->memory_mib)
			g->memory_mib = need;
	}
	if (r && r->cpu && r->cpu->quota.set && r->cpu->quota.v > 0) {
		uint64_t period =
		        r->cpu->period.set && r->cpu->period.v ? r->cpu->period.v : 100000;
		uint64_t n = ((uint64_t)r->cpu->quota.v + period - 1) / period;
		if (n > g->vcpus)
			g->vcpus = (unsigned)(n > 64 ? 64 : n);
	}
	if (r && r->cpu && r->cpu->cpus && *r->cpu->cpus &&
	    set_sched(g, RT_CPU_LIST, r->cpu->cpus, "linux.resources.cpu.cpus", err) < 0)
		goto fail;
	if (r && r->cpu && r->cpu->mems && *r->cpu->mems &&
	    set_sched(g, RT_MEMS, r->cpu->mems, "linux.resources.cpu.mems", err) < 0)
		goto fail;
	for (int o = 0; o < RT_NSCHED; o++) {
		char key[48];
		snprintf(key, sizeof(key), "io.husk.%s", rt_sched_flags[o]);
		if ((a = oci_map_get(&spec->annotations, key)) != NULL &&
		    set_sched(g, (enum rt_sched_opt)o, a, key, err) < 0)
			goto fail;
	}
	if ((a = oci_map_get(&spec->annotations, "io.husk.vcpus")) != NULL) {
		if (hk_parse_u64(a, &v) < 0 || v == 0 || v > 64) {
			hk_err_set(err, EINVAL, "annotation io.husk.vcpus `%s`: want 1 to 64", a);
			goto fail;
		}
		g->vcpus = (unsigned)v;
	}
	if ((a = oci_map_get(&spec->annotations, "io.husk.memory")) != NULL) {
		if (hk_parse_u64(a, &v) < 0 || v < 64 || v > (1u << 20)) {
			hk_err_set(err, EINVAL,
			           "annotation io.husk.memory `%s`: want 64 to 1048576 MiB", a);
			goto fail;
		}
		g->memory_mib = v;
	}
	/* A kernel chosen by whoever writes annotations is a privilege the
	 * host's administrator grants in husk.json, as Kata's allow-list does. */
	static const char *const paths[] = {"io.husk.kernel", "io.husk.initrd"};
	char **dst[] = {&g->kernel, &g->initrd};
	for (size_t i = 0; i < 2; i++) {
		if ((a = oci_map_get(&spec->annotations, paths[i])) == NULL)
			continue;
		if (!allow_paths) {
			hk_err_set(err, EPERM,
			           "annotation %s: not allowed by the runtime "
			           "configuration (allow_path_annotations)",
			           paths[i]);
			goto fail;
		}
		if (set_str(dst[i], a, err) < 0)
			goto fail;
	}
	const char *const need[] = {g->vmm, g->kernel, g->initrd};
	const char *const what[] = {"the monitor", "the guest kernel", "the guest initramfs"};
	for (size_t i = 0; i < 3; i++)
		if (access(need[i], R_OK) < 0) {
			hk_err_set(err, errno, "%s `%s`", what[i], need[i]);
			goto fail;
		}
	return 0;
fail:
	rt_guest_free(g);
	return -1;
}

void rt_guest_free(struct rt_guest *g)
{
	free(g->vmm);
	free(g->kernel);
	free(g->initrd);
	g->vmm = g->kernel = g->initrd = NULL;
	for (int o = 0; o < RT_NSCHED; o++) {
		free(g->sched[o]);
		g->sched[o] = NULL;
	}
}
