/* The front end of the vhost-user protocol (QEMU's docs/interop/
 * vhost-user.rst): a Unix socket to a back end that serves virtqueues from
 * our guest memory. Only what virtio-fs needs. Every reply is checked
 * (request code, reply flag, version, size), and every wait has a deadline
 * so a stuck back end cannot hang the monitor. */
#ifndef VMM_VHOST_USER_H
#define VMM_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"
#include "vmm/mem.h"

enum {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_SET_VRING_ENABLE = 18,
};

#define VHU_F_PROTOCOL_FEATURES  30
#define VHU_PROTOCOL_F_REPLY_ACK 3
#define VHU_HDR_SIZE             12
#define VHU_MAX_PAYLOAD          256

struct vhost_user {
	int fd;
	uint64_t features;          /* what the back end offers */
	uint64_t protocol_features; /* what we agreed on */
	int timeout_ms;
};

/* Connects to path (retrying until deadline_ms passes: the back end may
 * still be starting; a back end pid > 0 that has exited ends the wait at
 * once) and does SET_OWNER, GET_FEATURES and the protocol features
 * handshake. */
int vhu_connect(struct vhost_user *u, const char *path, pid_t backend, int deadline_ms,
                hk_err **err);
void vhu_close(struct vhost_user *u);

int vhu_set_features(struct vhost_user *u, uint64_t features, hk_err **err);
int vhu_set_mem_table(struct vhost_user *u, const struct vmm_mem *mem, hk_err **err);
int vhu_setup_vring(struct vhost_user *u, unsigned index, unsigned num, uint64_t desc,
                    uint64_t avail, uint64_t used, int kick_fd, int call_fd, hk_err **err);
int vhu_get_vring_base(struct vhost_user *u, unsigned index, uint32_t *base, hk_err **err);

/* Checks a reply message (header + payload of len bytes) against the
 * request it answers and the payload size expected; exposed for the fuzzer. */
int vhu_check_reply(const uint8_t *msg, size_t len, uint32_t request, uint32_t want_size,
                    hk_err **err);

#endif
