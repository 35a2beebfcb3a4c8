/* sVirt at create and delete (DESIGN §7). A sandbox's MCS level is the
 * engine's when config.json gives one (process.selinuxLabel, else
 * linux.mountLabel: engines such as Podman choose unique levels for their
 * containers, and containers of one pod share theirs), else a pair of its
 * own from the state root's pool (policy/selinux_mcs.h). The labels go into
 * the state's annotations from its first write, which is how a delete after
 * any crash knows what to free, and how `husk state` shows them. They are
 * applied only where the host runs SELinux. */
#ifndef RT_SELINUX_H
#define RT_SELINUX_H

#include <stdbool.h>

#include "lib/error.h"
#include "oci/spec.h"
#include "policy/selinux_label.h"

#define RT_SELINUX_LABEL_KEY      "io.husk.selinux.label"
#define RT_SELINUX_FILE_LABEL_KEY "io.husk.selinux.file-label"
/* The pool in the state root: a name no container ID can take ('@'). */
#define RT_SELINUX_POOL           "@selinux-mcs"

struct rt_selinux {
	struct pol_selinux_labels l;
	bool enabled;
	/* linux.mountLabel was given: the engine labelled (or mounted with
	 * context=) the rootfs, which is then not relabelled. */
	bool engine_rootfs;
};

/* Chooses the labels of container id and records them in
 * spec->annotations (which every state write of create carries). Logs one
 * line when the host has no SELinux to apply them with. */
int rt_selinux_setup(const char *root, const char *id, struct oci_spec *spec, struct rt_selinux *s,
                     hk_err **err);

/* Labels the state directory, the rootfs (unless the engine did) and the
 * kernel files; nothing where SELinux is off. */
int rt_selinux_label_files(const struct rt_selinux *s, const char *dir, const char *bundle,
                           const struct oci_spec *spec, const char *kernel, const char *initrd,
                           hk_err **err);

/* In the forked child, just before it execs the monitor. -1 and errno. */
int rt_selinux_exec(const struct rt_selinux *s);

/* Frees the pair the state's annotations name (if id holds it); call while
 * the container's record still exists. */
void rt_selinux_release(const char *root, const char *id, const oci_map *annotations);

/* Frees the pairs whose container's record is gone (a create that crashed
 * before recording its labels); call once a record is removed. */
void rt_selinux_reclaim(const char *root);

/* Copies the labels from a state's annotations into spec's, so a state
 * rewritten from config.json (hooks) keeps them. */
int rt_selinux_keep(const oci_map *from, struct oci_spec *spec, hk_err **err);

#endif
