/* virtio-vsock (device id 19) in the monitor, Firecracker's hybrid design:
 * no /dev/vhost-vsock, the host side is Unix sockets.
 *   host → guest: connect to the sandbox socket `uds`, write
 *                 "CONNECT <port>\n", read "OK <hostport>\n", then bytes.
 *   guest → host: a connection to host port P reaches the Unix socket
 *                 "<uds>_<P>", where some host process listens.
 * Credit-based flow control both ways; a connection nobody takes gets RST.
 * Everything runs on the monitor's event loop. */
#ifndef VMM_VIRTIO_VSOCK_H
#define VMM_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio/virtio.h"

#define VSOCK_HOST_CID 2
#define VSOCK_HDR_SIZE 44

enum {
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VSOCK_TYPE_STREAM   1
#define VSOCK_SHUTDOWN_RCV  1
#define VSOCK_SHUTDOWN_SEND 2

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

/* Decodes and checks one header the guest sent: stream type, a known op,
 * from the guest's CID to the host's, a length that matches the payload
 * present (at most max_payload). Returns 0 or -1 with why set. */
int vsock_hdr_parse(const uint8_t *buf, uint64_t payload, uint64_t guest_cid, struct vsock_hdr *h,
                    const char **why);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t *buf);

struct vsock_conn;

struct virtio_vsock {
	struct virtio_dev *dev; /* set by the monitor after virtio_dev_init */
	struct vmm_loop *loop;
	uint64_t guest_cid;
	char uds[108];
	int listen_fd;
	pthread_mutex_t lock;
	struct vsock_conn *conns;
	unsigned nconns;
	uint32_t next_port;
	/* Control packets (RESPONSE, RST, CREDIT_UPDATE…) waiting for rx room. */
	struct vsock_hdr *pending;
	unsigned npending, cap_pending;
};

extern const struct virtio_dev_ops virtio_vsock_ops;

/* Listens on uds (replacing a stale socket). */
int virtio_vsock_open(struct virtio_vsock *v, uint64_t guest_cid, const char *uds,
                      struct vmm_loop *loop, hk_err **err);
void virtio_vsock_close(struct virtio_vsock *v);

#endif
