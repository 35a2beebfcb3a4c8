/* The OCI runtime-spec v1.2 for Linux, as tables for the generic codec.
 * One line a field: JSON key, kind, struct member, checks. Keys the spec
 * does not know are ignored, as it requires. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/codec.h"
#include "oci/extra.h"

/* The tables are data laid out one field a line; keep the formatter off. */
/* clang-format off */
#define REQ OCI_F_REQUIRED
#define ABS OCI_F_ABSPATH
#define NE  OCI_F_NONEMPTY

/* T names the struct the following lines describe. */
#define STR(k, m, fl)          {.key = k, .kind = OCI_STR, .off = offsetof(T, m), .flags = fl}
#define STRMAX(k, m, fl, mx)   {.key = k, .kind = OCI_STR, .off = offsetof(T, m), .flags = fl, .umax = mx}
#define ENUM(k, m, fl, vals)   {.key = k, .kind = OCI_STR, .off = offsetof(T, m), .flags = fl, .values = vals}
#define BOOL(k, m, fl)         {.key = k, .kind = OCI_BOOL, .off = offsetof(T, m), .flags = fl}
#define I64(k, m, fl, lo, hi)  {.key = k, .kind = OCI_I64, .off = offsetof(T, m), .flags = fl, .min = lo, .max = hi}
#define I64S(k, m, fl)         I64(k, m, fl, INT64_MIN, INT64_MAX)
#define U64(k, m, fl, hi)      {.key = k, .kind = OCI_U64, .off = offsetof(T, m), .flags = fl, .umax = hi}
#define STRV(k, m, fl)         {.key = k, .kind = OCI_STRV, .off = offsetof(T, m), .flags = fl}
#define ENUMV(k, m, fl, vals)  {.key = k, .kind = OCI_STRV, .off = offsetof(T, m), .flags = fl, .values = vals}
#define U32V(k, m, fl)         {.key = k, .kind = OCI_U32V, .off = offsetof(T, m), .flags = fl}
#define MAP(k, m, fl)          {.key = k, .kind = OCI_MAP, .off = offsetof(T, m), .flags = fl}
#define OBJ(k, m, fl, t)       {.key = k, .kind = OCI_OBJ, .off = offsetof(T, m), .flags = fl, .sub = &t}
#define OBJV(k, m, fl, t)      {.key = k, .kind = OCI_OBJV, .off = offsetof(T, m), .flags = fl, .sub = &t}
#define OBJMAP(k, m, fl, t)    {.key = k, .kind = OCI_OBJMAP, .off = offsetof(T, m), .flags = fl, .sub = &t}

#define TYPE(var, jsonname, ctype, tbl)                                                            \
	const struct oci_type var = {jsonname, sizeof(ctype), tbl, sizeof(tbl) / sizeof(tbl[0])}


/* Linux's HOST_NAME_MAX: sethostname refuses more, so say so at parse time. */
#define HOSTNAME_MAX 64

/* ---- enumerations ---- */
const char *const oci_namespace_types[] = {"pid", "network", "mount", "ipc", "uts",
					      "user", "cgroup", "time", NULL};
static const char *const rlimit_types[] = {
	"RLIMIT_AS",	 "RLIMIT_CORE",	  "RLIMIT_CPU",	   "RLIMIT_DATA",     "RLIMIT_FSIZE",
	"RLIMIT_LOCKS",	 "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",   "RLIMIT_NOFILE",
	"RLIMIT_NPROC",	 "RLIMIT_RSS",	  "RLIMIT_RTPRIO", "RLIMIT_RTTIME",   "RLIMIT_SIGPENDING",
	"RLIMIT_STACK", NULL};
const char *const oci_seccomp_actions[] = {
	"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
	"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",	   "SCMP_ACT_ALLOW",	   "SCMP_ACT_LOG",
	"SCMP_ACT_NOTIFY", NULL};
const char *const oci_seccomp_ops[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
					  "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
					  "SCMP_CMP_MASKED_EQ", NULL};
const char *const oci_seccomp_archs[] = {
	"SCMP_ARCH_X86",	 "SCMP_ARCH_X86_64",	  "SCMP_ARCH_X32",	"SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64",	 "SCMP_ARCH_MIPS",	  "SCMP_ARCH_MIPS64",	"SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",	 "SCMP_ARCH_MIPSEL64",	  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",	 "SCMP_ARCH_PPC64LE",	  "SCMP_ARCH_S390",	"SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",	 "SCMP_ARCH_PARISC64",	  "SCMP_ARCH_RISCV64",	"SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K",	 "SCMP_ARCH_SH",	  "SCMP_ARCH_SHEB",	NULL};
const char *const oci_seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
/* runc also accepts the recursive forms; engines send them. */
static const char *const propagations[] = {"",	      "shared",	 "slave",  "private", "unbindable",
					   "rshared", "rslave", "rprivate", "runbindable", NULL};
static const char *const device_types[] = {"c", "b", "u", "p", NULL};
static const char *const devcg_types[] = {"a", "c", "b", NULL};
static const char *const sched_policies[] = {"SCHED_OTHER", "SCHED_FIFO",  "SCHED_RR",
					     "SCHED_BATCH", "SCHED_ISO",   "SCHED_IDLE",
					     "SCHED_DEADLINE", NULL};
static const char *const sched_flags[] = {
	"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",	 "SCHED_FLAG_DL_OVERRUN",
	"SCHED_FLAG_KEEP_POLICY",   "SCHED_FLAG_KEEP_PARAMS",	 "SCHED_FLAG_UTIL_CLAMP_MIN",
	"SCHED_FLAG_UTIL_CLAMP_MAX", NULL};
static const char *const ioprio_classes[] = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
					     "IOPRIO_CLASS_IDLE", NULL};
static const char *const personality_domains[] = {"LINUX", "LINUX32", NULL};
static const char *const state_statuses[] = {"creating", "created", "running", "stopped",
					     "paused", NULL};

/* ---- shared pieces ---- */
#define T struct oci_idmap
static const struct oci_field idmap_fields[] = {
	U64("containerID", container_id, REQ, UINT32_MAX),
	U64("hostID", host_id, REQ, UINT32_MAX),
	U64("size", size, REQ, UINT32_MAX),
};
#undef T
static TYPE(idmap_type, "idmap", struct oci_idmap, idmap_fields);

/* ---- process ---- */
#define T struct oci_box
static const struct oci_field box_fields[] = {
	U64("height", height, REQ, UINT32_MAX),
	U64("width", width, REQ, UINT32_MAX),
};
#undef T
static TYPE(box_type, "consoleSize", struct oci_box, box_fields);

#define T struct oci_user
static const struct oci_field user_fields[] = {
	U64("uid", uid, REQ, UINT32_MAX),
	U64("gid", gid, REQ, UINT32_MAX),
	U64("umask", umask, 0, 07777),
	U32V("additionalGids", additional_gids, 0),
	STR("username", username, 0),
};
#undef T
static TYPE(user_type, "user", struct oci_user, user_fields);

#define T struct oci_capabilities
static const struct oci_field caps_fields[] = {
	STRV("bounding", bounding, 0),	 STRV("effective", effective, 0),
	STRV("inheritable", inheritable, 0), STRV("permitted", permitted, 0),
	STRV("ambient", ambient, 0),
};
#undef T
static TYPE(caps_type, "capabilities", struct oci_capabilities, caps_fields);

#define T struct oci_rlimit
static const struct oci_field rlimit_fields[] = {
	ENUM("type", type, REQ, rlimit_types),
	U64("hard", hard, REQ, UINT64_MAX),
	U64("soft", soft, REQ, UINT64_MAX),
};
#undef T
static TYPE(rlimit_type, "rlimit", struct oci_rlimit, rlimit_fields);

#define T struct oci_scheduler
static const struct oci_field sched_fields[] = {
	ENUM("policy", policy, REQ, sched_policies),
	I64("nice", nice, 0, -20, 19),
	I64("priority", priority, 0, INT32_MIN, INT32_MAX),
	ENUMV("flags", flags, 0, sched_flags),
	U64("runtime", runtime, 0, UINT64_MAX),
	U64("deadline", deadline, 0, UINT64_MAX),
	U64("period", period, 0, UINT64_MAX),
};
#undef T
static TYPE(sched_type, "scheduler", struct oci_scheduler, sched_fields);

#define T struct oci_io_priority
static const struct oci_field ioprio_fields[] = {
	ENUM("class", class, REQ, ioprio_classes),
	I64("priority", priority, 0, 0, 7),
};
#undef T
static TYPE(ioprio_type, "ioPriority", struct oci_io_priority, ioprio_fields);

#define T struct oci_cpu_affinity
static const struct oci_field affinity_fields[] = {
	STR("initial", initial, 0),
	STR("final", final, 0),
};
#undef T
static TYPE(affinity_type, "execCPUAffinity", struct oci_cpu_affinity, affinity_fields);

#define T struct oci_process
static const struct oci_field process_fields[] = {
	BOOL("terminal", terminal, 0),
	OBJ("consoleSize", console_size, 0, box_type),
	OBJ("user", user, REQ, user_type),
	STRV("args", args, REQ | NE),
	STR("commandLine", command_line, 0),
	STRV("env", env, 0),
	STR("cwd", cwd, REQ | ABS),
	OBJ("capabilities", capabilities, 0, caps_type),
	OBJV("rlimits", rlimits, 0, rlimit_type),
	BOOL("noNewPrivileges", no_new_privileges, 0),
	STR("apparmorProfile", apparmor_profile, 0),
	I64("oomScoreAdj", oom_score_adj, 0, -1000, 1000),
	OBJ("scheduler", scheduler, 0, sched_type),
	STR("selinuxLabel", selinux_label, 0),
	OBJ("ioPriority", io_priority, 0, ioprio_type),
	OBJ("execCPUAffinity", exec_cpu_affinity, 0, affinity_type),
};
#undef T
TYPE(oci_process_type, "process", struct oci_process, process_fields);

/* ---- root, mounts, hooks ---- */
#define T struct oci_root
static const struct oci_field root_fields[] = {
	STR("path", path, REQ | NE),
	BOOL("readonly", readonly, 0),
};
#undef T
static TYPE(root_type, "root", struct oci_root, root_fields);

#define T struct oci_mount
static const struct oci_field mount_fields[] = {
	STR("destination", destination, REQ | NE),
	STR("type", type, 0),
	STR("source", source, 0),
	STRV("options", options, 0),
	OBJV("uidMappings", uid_mappings, 0, idmap_type),
	OBJV("gidMappings", gid_mappings, 0, idmap_type),
};
#undef T
static TYPE(mount_type, "mount", struct oci_mount, mount_fields);

#define T struct oci_hook
static const struct oci_field hook_fields[] = {
	STR("path", path, REQ | ABS),
	STRV("args", args, 0),
	STRV("env", env, 0),
	I64("timeout", timeout, 0, 1, INT32_MAX),
};
#undef T
static TYPE(hook_type, "hook", struct oci_hook, hook_fields);

#define T struct oci_hooks
static const struct oci_field hooks_fields[] = {
	OBJV("prestart", prestart, 0, hook_type),
	OBJV("createRuntime", create_runtime, 0, hook_type),
	OBJV("createContainer", create_container, 0, hook_type),
	OBJV("startContainer", start_container, 0, hook_type),
	OBJV("poststart", poststart, 0, hook_type),
	OBJV("poststop", poststop, 0, hook_type),
};
#undef T
static TYPE(hooks_type, "hooks", struct oci_hooks, hooks_fields);

/* ---- linux ---- */
#define T struct oci_namespace
static const struct oci_field ns_fields[] = {
	ENUM("type", type, REQ, oci_namespace_types),
	STR("path", path, ABS),
};
#undef T
static TYPE(ns_type, "namespace", struct oci_namespace, ns_fields);

#define T struct oci_device
static const struct oci_field device_fields[] = {
	ENUM("type", type, REQ, device_types),
	STR("path", path, REQ | ABS),
	I64S("major", major, 0),
	I64S("minor", minor, 0),
	U64("fileMode", file_mode, 0, 07777),
	U64("uid", uid, 0, UINT32_MAX),
	U64("gid", gid, 0, UINT32_MAX),
};
#undef T
static TYPE(device_type, "device", struct oci_device, device_fields);

#define T struct oci_device_cgroup
static const struct oci_field devcg_fields[] = {
	BOOL("allow", allow, REQ),
	ENUM("type", type, 0, devcg_types),
	I64S("major", major, 0),
	I64S("minor", minor, 0),
	STR("access", access, 0),
};
#undef T
static TYPE(devcg_type, "device rule", struct oci_device_cgroup, devcg_fields);

#define T struct oci_memory
static const struct oci_field memory_fields[] = {
	I64S("limit", limit, 0),
	I64S("reservation", reservation, 0),
	I64S("swap", swap, 0),
	I64S("kernel", kernel, 0),
	I64S("kernelTCP", kernel_tcp, 0),
	U64("swappiness", swappiness, 0, UINT64_MAX),
	BOOL("disableOOMKiller", disable_oom_killer, 0),
	BOOL("useHierarchy", use_hierarchy, 0),
	BOOL("checkBeforeUpdate", check_before_update, 0),
};
#undef T
static TYPE(memory_type, "memory", struct oci_memory, memory_fields);

#define T struct oci_cpu
static const struct oci_field cpu_fields[] = {
	U64("shares", shares, 0, UINT64_MAX),
	I64S("quota", quota, 0),
	U64("burst", burst, 0, UINT64_MAX),
	U64("period", period, 0, UINT64_MAX),
	I64S("realtimeRuntime", realtime_runtime, 0),
	U64("realtimePeriod", realtime_period, 0, UINT64_MAX),
	STR("cpus", cpus, 0),
	STR("mems", mems, 0),
	I64S("idle", idle, 0),
};
#undef T
static TYPE(cpu_type, "cpu", struct oci_cpu, cpu_fields);

#define T struct oci_pids
static const struct oci_field pids_fields[] = {
	I64S("limit", limit, REQ),
};
#undef T
static TYPE(pids_type, "pids", struct oci_pids, pids_fields);

#define T struct oci_weight_device
static const struct oci_field weightdev_fields[] = {
	I64S("major", major, REQ),
	I64S("minor", minor, REQ),
	U64("weight", weight, 0, UINT16_MAX),
	U64("leafWeight", leaf_weight, 0, UINT16_MAX),
};
#undef T
static TYPE(weightdev_type, "weightDevice", struct oci_weight_device, weightdev_fields);

#define T struct oci_throttle_device
static const struct oci_field throttle_fields[] = {
	I64S("major", major, REQ),
	I64S("minor", minor, REQ),
	U64("rate", rate, REQ, UINT64_MAX),
};
#undef T
static TYPE(throttle_type, "throttleDevice", struct oci_throttle_device, throttle_fields);

#define T struct oci_block_io
static const struct oci_field blkio_fields[] = {
	U64("weight", weight, 0, UINT16_MAX),
	U64("leafWeight", leaf_weight, 0, UINT16_MAX),
	OBJV("weightDevice", weight_device, 0, weightdev_type),
	OBJV("throttleReadBpsDevice", throttle_read_bps_device, 0, throttle_type),
	OBJV("throttleWriteBpsDevice", throttle_write_bps_device, 0, throttle_type),
	OBJV("throttleReadIOPSDevice", throttle_read_iops_device, 0, throttle_type),
	OBJV("throttleWriteIOPSDevice", throttle_write_iops_device, 0, throttle_type),
};
#undef T
static TYPE(blkio_type, "blockIO", struct oci_block_io, blkio_fields);

#define T struct oci_hugepage_limit
static const struct oci_field hugepage_fields[] = {
	STR("pageSize", page_size, REQ | NE),
	U64("limit", limit, REQ, UINT64_MAX),
};
#undef T
static TYPE(hugepage_type, "hugepageLimit", struct oci_hugepage_limit, hugepage_fields);

#define T struct oci_net_priority
static const struct oci_field netprio_fields[] = {
	STR("name", name, REQ | NE),
	U64("priority", priority, REQ, UINT32_MAX),
};
#undef T
static TYPE(netprio_type, "priority", struct oci_net_priority, netprio_fields);

#define T struct oci_network
static const struct oci_field network_fields[] = {
	U64("classID", class_id, 0, UINT32_MAX),
	OBJV("priorities", priorities, 0, netprio_type),
};
#undef T
static TYPE(network_type, "network", struct oci_network, network_fields);

#define T struct oci_rdma
static const struct oci_field rdma_fields[] = {
	U64("hcaHandles", hca_handles, 0, UINT32_MAX),
	U64("hcaObjects", hca_objects, 0, UINT32_MAX),
};
#undef T
static TYPE(rdma_type, "rdma", struct oci_rdma, rdma_fields);

#define T struct oci_resources
static const struct oci_field resources_fields[] = {
	OBJV("devices", devices, 0, devcg_type),
	OBJ("memory", memory, 0, memory_type),
	OBJ("cpu", cpu, 0, cpu_type),
	OBJ("pids", pids, 0, pids_type),
	OBJ("blockIO", block_io, 0, blkio_type),
	OBJV("hugepageLimits", hugepage_limits, 0, hugepage_type),
	OBJ("network", network, 0, network_type),
	OBJMAP("rdma", rdma, 0, rdma_type),
	MAP("unified", unified, 0),
};
#undef T
TYPE(oci_resources_type, "resources", struct oci_resources, resources_fields);

#define T struct oci_seccomp_arg
static const struct oci_field scarg_fields[] = {
	U64("index", index, REQ, 5), /* syscalls take at most six arguments */
	U64("value", value, REQ, UINT64_MAX),
	U64("valueTwo", value_two, 0, UINT64_MAX),
	ENUM("op", op, REQ, oci_seccomp_ops),
};
#undef T
static TYPE(scarg_type, "seccomp argument", struct oci_seccomp_arg, scarg_fields);

#define T struct oci_syscall
static const struct oci_field syscall_fields[] = {
	STRV("names", names, REQ | NE),
	ENUM("action", action, REQ, oci_seccomp_actions),
	U64("errnoRet", errno_ret, 0, UINT32_MAX),
	OBJV("args", args, 0, scarg_type),
};
#undef T
static TYPE(syscall_type, "syscall rule", struct oci_syscall, syscall_fields);

#define T struct oci_seccomp
static const struct oci_field seccomp_fields[] = {
	ENUM("defaultAction", default_action, REQ, oci_seccomp_actions),
	U64("defaultErrnoRet", default_errno_ret, 0, UINT32_MAX),
	ENUMV("architectures", architectures, 0, oci_seccomp_archs),
	ENUMV("flags", flags, 0, oci_seccomp_flags),
	STR("listenerPath", listener_path, ABS),
	STR("listenerMetadata", listener_metadata, 0),
	OBJV("syscalls", syscalls, 0, syscall_type),
};
#undef T
static TYPE(seccomp_type, "seccomp", struct oci_seccomp, seccomp_fields);

#define T struct oci_intel_rdt
static const struct oci_field rdt_fields[] = {
	STR("closID", clos_id, 0),
	STR("l3CacheSchema", l3_cache_schema, 0),
	STR("memBwSchema", mem_bw_schema, 0),
	BOOL("enableCMT", enable_cmt, 0),
	BOOL("enableMBM", enable_mbm, 0),
};
#undef T
static TYPE(rdt_type, "intelRdt", struct oci_intel_rdt, rdt_fields);

#define T struct oci_personality
static const struct oci_field personality_fields[] = {
	ENUM("domain", domain, REQ, personality_domains),
	STRV("flags", flags, 0),
};
#undef T
static TYPE(personality_type, "personality", struct oci_personality, personality_fields);

#define T struct oci_time_offset
static const struct oci_field timeoff_fields[] = {
	I64S("secs", secs, 0),
	U64("nanosecs", nanosecs, 0, 999999999),
};
#undef T
static TYPE(timeoff_type, "timeOffset", struct oci_time_offset, timeoff_fields);

#define T struct oci_linux
static const struct oci_field linux_fields[] = {
	OBJV("uidMappings", uid_mappings, 0, idmap_type),
	OBJV("gidMappings", gid_mappings, 0, idmap_type),
	MAP("sysctl", sysctl, 0),
	OBJ("resources", resources, 0, oci_resources_type),
	STR("cgroupsPath", cgroups_path, 0),
	OBJV("namespaces", namespaces, 0, ns_type),
	OBJV("devices", devices, 0, device_type),
	OBJ("seccomp", seccomp, 0, seccomp_type),
	ENUM("rootfsPropagation", rootfs_propagation, 0, propagations),
	STRV("maskedPaths", masked_paths, 0),
	STRV("readonlyPaths", readonly_paths, 0),
	STR("mountLabel", mount_label, 0),
	OBJ("intelRdt", intel_rdt, 0, rdt_type),
	OBJ("personality", personality, 0, personality_type),
	OBJMAP("timeOffsets", time_offsets, 0, timeoff_type),
};
#undef T
static TYPE(linux_type, "linux", struct oci_linux, linux_fields);

/* ---- the documents ---- */
#define T struct oci_spec
static const struct oci_field spec_fields[] = {
	STR("ociVersion", oci_version, REQ | NE),
	OBJ("process", process, 0, oci_process_type),
	OBJ("root", root, REQ, root_type),
	STRMAX("hostname", hostname, 0, HOSTNAME_MAX),
	STRMAX("domainname", domainname, 0, HOSTNAME_MAX),
	OBJV("mounts", mounts, 0, mount_type),
	OBJ("hooks", hooks, 0, hooks_type),
	MAP("annotations", annotations, 0),
	OBJ("linux", linux_, 0, linux_type),
};
#undef T
TYPE(oci_spec_type, "config.json", struct oci_spec, spec_fields);

#define T struct oci_state
static const struct oci_field state_fields[] = {
	STR("ociVersion", oci_version, REQ | NE),
	STR("id", id, REQ | NE),
	ENUM("status", status, REQ, state_statuses),
	I64("pid", pid, 0, 0, INT_MAX),
	STR("bundle", bundle, REQ | ABS),
	MAP("annotations", annotations, 0),
};
#undef T
TYPE(oci_state_type, "state", struct oci_state, state_fields);
/* clang-format on */
