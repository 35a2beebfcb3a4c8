/* virtio-net (device id 1) in the monitor, with a tap back end (DESIGN §6).
 * One queue pair: rx (0) takes frames the tap hands us, tx (1) writes the
 * guest's frames to it. The tap speaks the same 12-byte virtio_net_hdr_v1
 * the guest does (IFF_VNET_HDR), so checksum and segmentation offloads pass
 * through untouched; what the guest accepted is told to the tap at
 * activate (TUNSETOFFLOAD). Everything runs on the monitor's event loop
 * under the transport's lock: the loop thread is the only one that moves
 * frames, vCPU threads only activate and reset. */
#ifndef VMM_VIRTIO_NET_H
#define VMM_VIRTIO_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio/virtio.h"

#define VIRTIO_NET_HDR_SIZE  12    /* struct virtio_net_hdr_v1: VERSION_1 always has num_buffers */
#define VIRTIO_NET_MAX_FRAME 65550 /* largest frame after the header, as the tap may hand it */

/* Where frames went; plain counters for metrics (read under the transport's
 * lock). Bytes are frame bytes, headers not counted; drops are frames lost
 * (by the tap's rules, the guest's or for want of room). */
struct virtio_net_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_dropped;
};

struct virtio_net {
	struct virtio_dev *dev; /* set by the monitor after virtio_dev_init */
	struct vmm_loop *loop;
	int tap_fd;
	uint8_t mac[6];
	uint16_t mtu;

	/* What the driver accepted, set at activate. */
	uint64_t features;
	unsigned offloads; /* TUN_F_* the tap was last told (a new tap has none) */

	/* Flow control on the tap fd: EPOLLIN while the guest has rx buffers,
	 * EPOLLOUT while a tx frame waits for the tap to take it. */
	uint32_t events;
	bool rx_on;
	bool tx_blocked;
	bool tap_gone; /* the tap failed for good: stop watching it */

	/* A frame read from the tap that did not fit the guest's buffers yet
	 * (a large one under MRG_RXBUF); pending bytes, 0 when none. */
	uint8_t *bounce;
	uint32_t pending;

	struct virtio_net_stats stats;
	/* At most one log line a second about drops, with how many it covers. */
	int64_t log_sec;
	uint64_t unlogged;
};

extern const struct virtio_dev_ops virtio_net_ops;

/* Opens /dev/net/tun as a tap (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, a 12-byte
 * vnet header, non-blocking, close-on-exec). name may be a pattern such as
 * "husk%d" or NULL for the kernel's choice; ifname gets the name it has. */
int vmm_tap_open(const char *name, int *fd, char ifname[IFNAMSIZ], hk_err **err);

/* Takes tap_fd (owned from here, also on failure) and watches it on loop,
 * idle until the driver sets DRIVER_OK. */
int virtio_net_open(struct virtio_net *n, int tap_fd, const uint8_t mac[6], uint16_t mtu,
                    struct vmm_loop *loop, hk_err **err);
void virtio_net_close(struct virtio_net *n);

#endif
