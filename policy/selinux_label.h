/* sVirt labels (DESIGN §7): the contexts of a sandbox from its MCS level,
 * and applying them on a host that runs SELinux. husk does this without
 * libselinux: setexeccon is a write to /proc/thread-self/attr/exec, and a
 * file's label is its security.selinux extended attribute. The types are
 * those of policy/husk.cil. */
#ifndef POL_SELINUX_LABEL_H
#define POL_SELINUX_LABEL_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define POL_SELINUX_EXEC_PREFIX "system_u:system_r:husk_vm_t:"
#define POL_SELINUX_FILE_PREFIX "system_u:object_r:husk_image_t:"
/* The kernel and initramfs every sandbox reads: no categories. */
#define POL_SELINUX_RO_LABEL    "system_u:object_r:husk_ro_t:s0"

#define POL_SELINUX_LEVEL_MAX 256
#define POL_SELINUX_LABEL_MAX (POL_SELINUX_LEVEL_MAX + 40)

struct pol_selinux_labels {
	char exec[POL_SELINUX_LABEL_MAX]; /* the monitor's (and its virtiofsd's) */
	char file[POL_SELINUX_LABEL_MAX]; /* the sandbox's directory and rootfs */
};

/* The MLS level of a context "user:role:type:level" ("s0:c1,c2" of
 * "system_u:system_r:container_t:s0:c1,c2"). Returns 1 with the level in
 * out, 0 when the context has none (a policy without MLS), -1 when the text
 * is not a context or its level has characters no level has. */
int pol_selinux_level(const char *context, char *out, size_t len, hk_err **err);

/* The monitor's and the files' labels at these levels. */
int pol_selinux_labels(const char *exec_level, const char *file_level, struct pol_selinux_labels *l,
                       hk_err **err);

/* Whether this host runs SELinux (selinuxfs mounted, enforcing or not). */
bool pol_selinux_enabled(void);

/* setexeccon: the next execve of this thread runs as label. For a forked
 * child about to exec the monitor, so async-signal-safe: -1 and errno. */
int pol_selinux_set_exec(const char *label);

/* Sets security.selinux to label on path without following a symlink and,
 * with recursive, on everything below it on the same file system. */
int pol_selinux_relabel(const char *path, const char *label, bool recursive, hk_err **err);

#endif
