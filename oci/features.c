/* The runtime-spec features document (`husk features`): what this runtime
 * understands, so engines can ask before they send it. The lists describe
 * what the guest agent applies inside the VM. */
#include <errno.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "oci/extra.h"

const char *const oci_hook_kinds[] = {
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
        NULL};

const char *const oci_mount_options[] = {
        "async",         "atime",       "bind",        "defaults",  "dev",
        "diratime",      "dirsync",     "exec",        "iversion",  "lazytime",
        "loud",          "mand",        "noatime",     "nodev",     "nodiratime",
        "noexec",        "noiversion",  "nolazytime",  "nomand",    "norelatime",
        "nostrictatime", "nosuid",      "nosymfollow", "private",   "rbind",
        "relatime",      "remount",     "ro",          "rprivate",  "rshared",
        "rslave",        "runbindable", "rw",          "shared",    "silent",
        "slave",         "strictatime", "suid",        "symfollow", "sync",
        "unbindable",    NULL};

/* Linux capabilities up to the guest kernel's (6.1: CAP_CHECKPOINT_RESTORE). */
const char *const oci_capability_names[] = {"CAP_CHOWN",
                                            "CAP_DAC_OVERRIDE",
                                            "CAP_DAC_READ_SEARCH",
                                            "CAP_FOWNER",
                                            "CAP_FSETID",
                                            "CAP_KILL",
                                            "CAP_SETGID",
                                            "CAP_SETUID",
                                            "CAP_SETPCAP",
                                            "CAP_LINUX_IMMUTABLE",
                                            "CAP_NET_BIND_SERVICE",
                                            "CAP_NET_BROADCAST",
                                            "CAP_NET_ADMIN",
                                            "CAP_NET_RAW",
                                            "CAP_IPC_LOCK",
                                            "CAP_IPC_OWNER",
                                            "CAP_SYS_MODULE",
                                            "CAP_SYS_RAWIO",
                                            "CAP_SYS_CHROOT",
                                            "CAP_SYS_PTRACE",
                                            "CAP_SYS_PACCT",
                                            "CAP_SYS_ADMIN",
                                            "CAP_SYS_BOOT",
                                            "CAP_SYS_NICE",
                                            "CAP_SYS_RESOURCE",
                                            "CAP_SYS_TIME",
                                            "CAP_SYS_TTY_CONFIG",
                                            "CAP_MKNOD",
                                            "CAP_LEASE",
                                            "CAP_AUDIT_WRITE",
                                            "CAP_AUDIT_CONTROL",
                                            "CAP_SETFCAP",
                                            "CAP_MAC_OVERRIDE",
                                            "CAP_MAC_ADMIN",
                                            "CAP_SYSLOG",
                                            "CAP_WAKE_ALARM",
                                            "CAP_BLOCK_SUSPEND",
                                            "CAP_AUDIT_READ",
                                            "CAP_PERFMON",
                                            "CAP_BPF",
                                            "CAP_CHECKPOINT_RESTORE",
                                            NULL};

static void str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void strv(yajl_gen g, const char *key, const char *const *v)
{
	str(g, key);
	yajl_gen_array_open(g);
	for (; *v; v++)
		str(g, *v);
	yajl_gen_array_close(g);
}

static void flag(yajl_gen g, const char *key, bool v)
{
	str(g, key);
	yajl_gen_bool(g, v);
}

/* {"enabled": v} under key. */
static void enabled(yajl_gen g, const char *key, bool v)
{
	str(g, key);
	yajl_gen_map_open(g);
	flag(g, "enabled", v);
	yajl_gen_map_close(g);
}

int oci_features(const char *husk_version, char **out, size_t *len, hk_err **err)
{
	const unsigned char *buf;
	size_t n;
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		return hk_err_set(err, ENOMEM, "features");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "    ");
	yajl_gen_map_open(g);
	str(g, "ociVersionMin");
	str(g, OCI_VERSION_MIN);
	str(g, "ociVersionMax");
	str(g, OCI_VERSION_MAX);
	strv(g, "hooks", oci_hook_kinds);
	strv(g, "mountOptions", oci_mount_options);

	str(g, "linux");
	yajl_gen_map_open(g);
	strv(g, "namespaces", oci_namespace_types);
	strv(g, "capabilities", oci_capability_names);
	/* Inside the guest husk runs cgroup v2 only; on the host it places the
	 * whole VM in v1, v2 or hybrid hierarchies. No systemd driver. */
	str(g, "cgroup");
	yajl_gen_map_open(g);
	flag(g, "v1", true);
	flag(g, "v2", true);
	flag(g, "systemd", false);
	flag(g, "systemdUser", false);
	flag(g, "rdma", false);
	yajl_gen_map_close(g);
	str(g, "seccomp");
	yajl_gen_map_open(g);
	flag(g, "enabled", true);
	strv(g, "actions", oci_seccomp_actions);
	strv(g, "operators", oci_seccomp_ops);
	strv(g, "archs", oci_seccomp_archs);
	strv(g, "knownFlags", oci_seccomp_flags);
	strv(g, "supportedFlags", oci_seccomp_flags);
	yajl_gen_map_close(g);
	enabled(g, "apparmor", false);
	enabled(g, "selinux", true);
	enabled(g, "intelRdt", false);
	str(g, "mountExtensions");
	yajl_gen_map_open(g);
	enabled(g, "idmap", false);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);

	str(g, "annotations");
	yajl_gen_map_open(g);
	str(g, "io.github.husk.version");
	str(g, husk_version);
	str(g, "io.github.husk.sandbox");
	str(g, "kvm-microvm");
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);

	yajl_gen_get_buf(g, &buf, &n);
	*out = strndup((const char *)buf, n);
	yajl_gen_free(g);
	if (*out == NULL)
		return hk_err_set(err, ENOMEM, "features");
	if (len)
		*len = n;
	return 0;
}
