/* The OCI runtime-spec (v1.2) documents for Linux as owned C structs:
 * config.json, the process of `exec --process`, the resources of `update`,
 * and state.json. Parsed once at the edge (oci/codec.c driven by the tables
 * in oci/model.c); nothing else in husk reads the JSON.
 *
 * Optional scalars carry a `set` flag and vectors one too, so that what the
 * engine wrote is exactly what is written back (a round trip is lossless) and
 * "absent" is never confused with zero. */
#ifndef OCI_SPEC_H
#define OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

struct oci_i64 {
	bool set;
	int64_t v;
};
struct oci_u64 {
	bool set;
	uint64_t v;
};
struct oci_bool {
	bool set;
	bool v;
};

/* Every vector has this layout; the typed macro only names its element. */
#define OCI_VEC(T)                                                                                 \
	struct {                                                                                   \
		T *v;                                                                              \
		size_t n;                                                                          \
		bool set;                                                                          \
	}
typedef OCI_VEC(char *) oci_strv;
typedef OCI_VEC(uint32_t) oci_u32v;

struct oci_kv {
	char *key;
	char *value;
};
typedef OCI_VEC(struct oci_kv) oci_map;

struct oci_idmap {
	struct oci_u64 container_id, host_id, size;
};

struct oci_box {
	struct oci_u64 height, width;
};

struct oci_user {
	struct oci_u64 uid, gid, umask;
	oci_u32v additional_gids;
	char *username;
};

struct oci_capabilities {
	oci_strv bounding, effective, inheritable, permitted, ambient;
};

struct oci_rlimit {
	char *type;
	struct oci_u64 hard, soft;
};

struct oci_scheduler {
	char *policy;
	struct oci_i64 nice, priority;
	oci_strv flags;
	struct oci_u64 runtime, deadline, period;
};

struct oci_io_priority {
	char *class;
	struct oci_i64 priority;
};

struct oci_cpu_affinity {
	char *initial, *final;
};

struct oci_process {
	struct oci_bool terminal;
	struct oci_box *console_size;
	struct oci_user *user;
	oci_strv args;
	char *command_line;
	oci_strv env;
	char *cwd;
	struct oci_capabilities *capabilities;
	OCI_VEC(struct oci_rlimit) rlimits;
	struct oci_bool no_new_privileges;
	char *apparmor_profile;
	struct oci_i64 oom_score_adj;
	struct oci_scheduler *scheduler;
	char *selinux_label;
	struct oci_io_priority *io_priority;
	struct oci_cpu_affinity *exec_cpu_affinity;
};

struct oci_root {
	char *path;
	struct oci_bool readonly;
};

struct oci_mount {
	char *destination, *type, *source;
	oci_strv options;
	OCI_VEC(struct oci_idmap) uid_mappings, gid_mappings;
};

struct oci_hook {
	char *path;
	oci_strv args, env;
	struct oci_i64 timeout;
};
typedef OCI_VEC(struct oci_hook) oci_hookv;

struct oci_hooks {
	oci_hookv prestart, create_runtime, create_container, start_container, poststart, poststop;
};

struct oci_namespace {
	char *type, *path;
};

struct oci_device {
	char *type, *path;
	struct oci_i64 major, minor;
	struct oci_u64 file_mode, uid, gid;
};

struct oci_device_cgroup {
	struct oci_bool allow;
	char *type;
	struct oci_i64 major, minor;
	char *access;
};

struct oci_memory {
	struct oci_i64 limit, reservation, swap, kernel, kernel_tcp;
	struct oci_u64 swappiness;
	struct oci_bool disable_oom_killer, use_hierarchy, check_before_update;
};

struct oci_cpu {
	struct oci_u64 shares;
	struct oci_i64 quota;
	struct oci_u64 burst, period;
	struct oci_i64 realtime_runtime;
	struct oci_u64 realtime_period;
	char *cpus, *mems;
	struct oci_i64 idle;
};

struct oci_pids {
	struct oci_i64 limit;
};

struct oci_weight_device {
	struct oci_i64 major, minor;
	struct oci_u64 weight, leaf_weight;
};

struct oci_throttle_device {
	struct oci_i64 major, minor;
	struct oci_u64 rate;
};
typedef OCI_VEC(struct oci_throttle_device) oci_throttlev;

struct oci_block_io {
	struct oci_u64 weight, leaf_weight;
	OCI_VEC(struct oci_weight_device) weight_device;
	oci_throttlev throttle_read_bps_device, throttle_write_bps_device,
	        throttle_read_iops_device, throttle_write_iops_device;
};

struct oci_hugepage_limit {
	char *page_size;
	struct oci_u64 limit;
};

struct oci_net_priority {
	char *name;
	struct oci_u64 priority;
};

struct oci_network {
	struct oci_u64 class_id;
	OCI_VEC(struct oci_net_priority) priorities;
};

/* Elements of JSON objects keyed by name start with that name. */
struct oci_rdma {
	char *name;
	struct oci_u64 hca_handles, hca_objects;
};

struct oci_time_offset {
	char *name;
	struct oci_i64 secs;
	struct oci_u64 nanosecs;
};

struct oci_resources {
	OCI_VEC(struct oci_device_cgroup) devices;
	struct oci_memory *memory;
	struct oci_cpu *cpu;
	struct oci_pids *pids;
	struct oci_block_io *block_io;
	OCI_VEC(struct oci_hugepage_limit) hugepage_limits;
	struct oci_network *network;
	OCI_VEC(struct oci_rdma) rdma;
	oci_map unified;
};

struct oci_seccomp_arg {
	struct oci_u64 index, value, value_two;
	char *op;
};

struct oci_syscall {
	oci_strv names;
	char *action;
	struct oci_u64 errno_ret;
	OCI_VEC(struct oci_seccomp_arg) args;
};

struct oci_seccomp {
	char *default_action;
	struct oci_u64 default_errno_ret;
	oci_strv architectures, flags;
	char *listener_path, *listener_metadata;
	OCI_VEC(struct oci_syscall) syscalls;
};

struct oci_intel_rdt {
	char *clos_id, *l3_cache_schema, *mem_bw_schema;
	struct oci_bool enable_cmt, enable_mbm;
};

struct oci_personality {
	char *domain;
	oci_strv flags;
};

struct oci_linux {
	OCI_VEC(struct oci_idmap) uid_mappings, gid_mappings;
	oci_map sysctl;
	struct oci_resources *resources;
	char *cgroups_path;
	OCI_VEC(struct oci_namespace) namespaces;
	OCI_VEC(struct oci_device) devices;
	struct oci_seccomp *seccomp;
	char *rootfs_propagation;
	oci_strv masked_paths, readonly_paths;
	char *mount_label;
	struct oci_intel_rdt *intel_rdt;
	struct oci_personality *personality;
	OCI_VEC(struct oci_time_offset) time_offsets;
};

struct oci_spec {
	char *oci_version;
	struct oci_process *process;
	struct oci_root *root;
	char *hostname, *domainname;
	OCI_VEC(struct oci_mount) mounts;
	struct oci_hooks *hooks;
	oci_map annotations;
	struct oci_linux *linux_; /* "linux" is a predefined macro in GNU C */
};

struct oci_state {
	char *oci_version, *id, *status;
	struct oci_i64 pid;
	char *bundle;
	oci_map annotations;
};

/* Documents and the type tables that describe them (oci/model.c). */
struct oci_type;
extern const struct oci_type oci_spec_type, oci_process_type, oci_resources_type, oci_state_type;

/* Largest document husk reads: far above any honest config.json. */
#define OCI_MAX_DOC (32u << 20)

/* Parses and validates a document of type t into a new object. Errors name
 * the JSON path and the reason: `process.args[2]: expected a string`. */
int oci_parse(const struct oci_type *t, const char *buf, size_t len, void **out, hk_err **err);
int oci_load(const struct oci_type *t, const char *path, void **out, hk_err **err);

/* Serialises obj as JSON (pretty for people, compact for machines). Returns
 * a malloced NUL-terminated string. */
int oci_write(const struct oci_type *t, const void *obj, bool pretty, char **out, size_t *len,
              hk_err **err);

void oci_free(const struct oci_type *t, void *obj);

/* Typed conveniences for the common documents. */
static inline int oci_spec_parse(const char *buf, size_t len, struct oci_spec **out, hk_err **err)
{
	return oci_parse(&oci_spec_type, buf, len, (void **)out, err);
}
static inline int oci_spec_load(const char *path, struct oci_spec **out, hk_err **err)
{
	return oci_load(&oci_spec_type, path, (void **)out, err);
}
static inline void oci_spec_free(struct oci_spec *s)
{
	oci_free(&oci_spec_type, s);
}

/* Looks up an annotation; NULL when absent. */
const char *oci_map_get(const oci_map *m, const char *key);

/* A mount's option given as is ("rbind", "ro"). */
bool oci_mount_has_option(const struct oci_mount *m, const char *o);
/* A bind mount: type "bind", or a "bind"/"rbind" option (runc's rule). */
bool oci_mount_is_bind(const struct oci_mount *m);

/* targets.c: each mount's missing target made in the tree at root (a
 * directory, or a file for a bind of one; sources relative to bundle),
 * resolved beneath root: for a root shared read-only. */
int oci_make_targets(const struct oci_spec *spec, const char *root, const char *bundle,
                     hk_err **err);

#endif
