/* The container lifecycle on the host, runc's verbs over husk's pieces:
 * create starts husk-vmm (the container's process, which boots the VM and
 * creates the container through the agent) and returns once it is ready;
 * the other verbs read the state directory and talk to the agent through
 * the sandbox's vsock socket. */
#ifndef RT_CONTAINER_H
#define RT_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/agent_client.h"
#include "lib/error.h"
#include "oci/spec.h"

struct rt_ctx {
	const char *root;
	const char *log;
	bool log_json, debug;
};

struct rt_create_opts {
	const char *id, *bundle, *pid_file, *console_socket;
	bool foreground; /* `run` without --detach: the monitor keeps our stdio */
};

/* Creates the container; *vmm is the monitor's pid (our child). */
int rt_create(const struct rt_ctx *g, const struct rt_create_opts *o, pid_t *vmm, hk_err **err);
int rt_start(const struct rt_ctx *g, const char *id, hk_err **err);

struct rt_info {
	char status[16]; /* creating created running paused stopped */
	pid_t pid;       /* husk-vmm, the container's process on the host */
	char bundle[4096];
	char created[40];
	struct oci_state *state;
};
int rt_info(const struct rt_ctx *g, const char *id, struct rt_info *info, hk_err **err);
void rt_info_free(struct rt_info *info);

int rt_kill(const struct rt_ctx *g, const char *id, int sig, bool all, hk_err **err);
int rt_delete(const struct rt_ctx *g, const char *id, bool force, hk_err **err);

/* The guest's OOM kill count at the container's exit (husk-vmm records it
 * in the state directory); -1 when there is none. */
int rt_final_ooms(const struct rt_ctx *g, const char *id, uint64_t *n);

/* Takes away the tc redirects a dead monitor left on the engine's
 * interfaces (netclean.c); nothing to do is success. */
int rt_net_cleanup(const char *dir, hk_err **err);

/* What `update` changes on the host: the sandbox cgroup's cpu bandwidth
 * (the rest of linux.resources goes to the guest through the agent). */
int rt_update_host(const struct rt_ctx *g, const char *id, const struct oci_resources *r,
                   hk_err **err);

/* `[{"vcpu":N,"tid":T,"cpu":C,"run_ns":R,"delay_ns":D},…]` for the monitor
 * pid's vCPU threads (empty when it is gone). */
struct hk_buf;
void rt_vcpus_json(pid_t pid, struct hk_buf *b);

/* A control connection to the container's agent. */
int rt_agent_open(const struct rt_ctx *g, const char *id, struct hk_agent *a, hk_err **err);
/* The vsock socket of a container's VM (its pod sandbox's, for a pod's
 * container), for stream connections. */
int rt_vsock_path(const struct rt_ctx *g, const char *id, char *out, size_t len);
/* The container a connection to that socket names (hk_agent_use,
 * hk_agent_stream): id for a pod's container, NULL for a VM's own. */
const char *rt_agent_container(const struct rt_ctx *g, const char *id);

/* "SIGKILL", "KILL", "9" → 9. */
int rt_parse_signal(const char *s, int *sig, hk_err **err);

#endif
