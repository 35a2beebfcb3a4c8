/* Pods: containers that share namespaces run in one VM, the VM of the
 * pod's first container (its sandbox), as in Kata. A pod's other container
 * gets no VM: `husk create` shares its rootfs and bind sources into the
 * sandbox's virtio-fs share (made in the sandbox's virtiofsd's own mount
 * namespace, so they vanish with the sandbox), writes the config.json the
 * guest sees, and starts husk-vmm in pod mode, which creates the container
 * through the sandbox's agent and is its process on the host. */
#ifndef RT_POD_H
#define RT_POD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"
#include "oci/spec.h"
#include "runtime/container.h"

/* Where a pod container's share is, under the guest's share. */
#define RT_POD_DIR "pod"

/* The sandbox a new container `id` joins: 1 with sandbox set when it is a
 * pod's container (CRI's and CRI-O's container-type and sandbox-id
 * annotations; or a namespace path /proc/PID/ns/… of a husk container in
 * this root, as Podman's pods and `docker run --network container:X`
 * give), 0 when it gets a VM of its own, -1 with err (a sandbox that is
 * not a running husk container). */
int rt_pod_find(const struct rt_ctx *g, const char *id, const struct oci_spec *spec, char *sandbox,
                size_t len, hk_err **err);

/* The sandbox a pod container recorded at create (its husk.json), into
 * out; 0 when it has one, -1 when it is a container of its own. */
int rt_pod_sandbox_of(const char *root, const char *id, char *out, size_t len);

/* Shares the root and the bind mounts' sources of container `id` into the
 * share of the sandbox whose monitor is sandbox_pid, and rewrites spec to
 * name them as the guest sees them; its namespace paths become the pod's
 * containers in the guest (lib/proto.h HK_NS_CONTAINER). */
int rt_pod_share(const struct rt_ctx *g, const char *id, const char *bundle, const char *sandbox,
                 pid_t sandbox_pid, struct oci_spec *spec, hk_err **err);

/* Takes container `id`'s mounts out of the sandbox's share again (nothing
 * to do when the sandbox is gone). */
int rt_pod_unshare(pid_t sandbox_pid, const char *id, hk_err **err);

#endif
