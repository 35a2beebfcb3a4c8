/* The host's side of the agent protocol: connecting to the guest through
 * the monitor's hybrid vsock socket (vmm/virtio/vsock.h) and calling
 * methods. Shared by husk-vmm (the container's own process) and the husk
 * CLI (exec, kill, state…), which talk to the agent directly. */
#ifndef HK_AGENT_CLIENT_H
#define HK_AGENT_CLIENT_H

#include <stdint.h>

#include "lib/error.h"
#include "lib/proto.h"

/* Connects to guest port `port` through the sandbox socket uds, retrying
 * while nobody listens in the guest yet, until timeout_ms has passed. */
int hk_vsock_connect(const char *uds, uint32_t port, int timeout_ms, hk_err **err);

struct hk_agent {
	int fd;
	uint64_t next_id;
};

int hk_agent_open(struct hk_agent *a, const char *uds, int timeout_ms, hk_err **err);
void hk_agent_close(struct hk_agent *a);

/* Sends {"id":N,"method":M,"params":P} (params: JSON object text, or NULL)
 * and waits for its reply. An error reply becomes err with the agent's
 * message; on success *reply holds the result (free with hk_msg_free). */
int hk_agent_call(struct hk_agent *a, const char *method, const char *params, int timeout_ms,
                  struct hk_msg *reply, hk_err **err);

/* Binds the connection to a pod's container (use_container): its calls
 * act on that container rather than the VM's first. NULL: nothing to do. */
int hk_agent_use(struct hk_agent *a, const char *container, int timeout_ms, hk_err **err);

/* Opens a stream connection for process `process` of kind `kind`
 * (HK_STREAM_*) of container (NULL: the VM's first). Returns the fd, which
 * then carries raw bytes. */
int hk_agent_stream(const char *uds, const char *container, const char *process, const char *kind,
                    int timeout_ms, hk_err **err);

#endif
