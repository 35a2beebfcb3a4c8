/* virtio-mmio version 2 (virtio 1.2 §4.2.2) and the device interface. The
 * transport is written once; a device is a const ops table plus its state.
 * Queue notifications arrive on the event loop thread (through an
 * ioeventfd when KVM has one, or from the vCPU's MMIO exit otherwise);
 * interrupts leave through an eventfd that KVM routes to the device's GSI
 * (irqfd), so devices never call into KVM themselves. */
#ifndef VMM_VIRTIO_H
#define VMM_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "vmm/bus.h"
#include "vmm/loop.h"
#include "vmm/mem.h"
#include "vmm/virtio/queue.h"

#define VIRTIO_MMIO_SIZE  0x200 /* registers + config space, per device */
#define VIRTIO_MMIO_BASE  0xd0000000ULL
#define VIRTIO_MAX_QUEUES 8

/* Feature bits of the transport (§6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	unsigned num_queues;
	/* Device-specific feature bits; the transport adds VERSION_1,
	 * EVENT_IDX and INDIRECT_DESC. */
	uint64_t features;
	/* Config space (§4.2.2 offset 0x100+); off/len already bounds-checked
	 * against config_size. */
	uint32_t config_size;
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const void *data, uint32_t len);
	/* DRIVER_OK was set: queues are validated and ready. Non-zero refuses
	 * (the transport then sets NEEDS_RESET). */
	int (*activate)(struct virtio_dev *d, hk_err **err);
	/* Driver kicked queue q; runs on the event loop thread. */
	void (*notify)(struct virtio_dev *d, unsigned q);
	/* Driver reset the device (status 0): drop all in-flight state. */
	void (*reset)(struct virtio_dev *d);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv; /* the device's own state */

	/* Wiring, set by the monitor before the guest runs. */
	struct vmm_mem *mem;
	struct vmm_loop *loop;
	uint64_t mmio_base;
	unsigned irq; /* GSI */
	int irq_fd;   /* eventfd: write 1 to raise the interrupt line edge */
	/* One eventfd per queue, made by virtio_dev_init and watched on the
	 * loop (it calls ops->notify). A QueueNotify write that reaches the
	 * transport as an MMIO exit writes it; the monitor may also register it
	 * with KVM_IOEVENTFD so KVM signals it without an exit. A vhost-user
	 * device takes them over in activate() (vmm_loop_del, hand to backend). */
	int kick_fd[VIRTIO_MAX_QUEUES];

	/* Transport state, guarded by lock (vCPU threads and the loop both
	 * touch it). */
	pthread_mutex_t lock;
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtq vq[VIRTIO_MAX_QUEUES];
};

/* Sets up the transport for a device; mem, loop, base, irq and irq_fd come
 * from the monitor (irq_fd is not owned: the monitor closes it). */
int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
                    struct vmm_mem *mem, struct vmm_loop *loop, uint64_t base, unsigned irq,
                    int irq_fd, hk_err **err);
void virtio_dev_fini(struct virtio_dev *d);

/* The MMIO register file; register it on the bus at d->mmio_base. */
extern const struct vmm_io_ops virtio_mmio_ops;

/* Devices call this after pushing used buffers: sets the used-ring bit in
 * InterruptStatus and signals irq_fd if the driver wants an interrupt. */
void virtio_signal_used(struct virtio_dev *d, unsigned q);
/* Serves every chain available on queue qi: serve() handles one and returns
 * the bytes it wrote into it; the chain then goes back to the driver, which
 * is signalled once at the end. A guest that breaks the ring rules fails the
 * device. The event-idx dance (publish avail_event, look again) is here so
 * no device forgets it. */
void virtio_drain(struct virtio_dev *d, unsigned qi,
                  uint32_t (*serve)(struct virtio_dev *d, const struct vq_chain *c));

/* A back end outside the monitor (vhost-user) used a ring and decided the
 * driver wants to know: set the used-ring bit and raise the line. */
void virtio_signal_irq(struct virtio_dev *d);
/* Config space changed (§4.2.2 ConfigGeneration + config interrupt). */
void virtio_signal_config(struct virtio_dev *d);
/* The device hit a guest error it cannot recover from: NEEDS_RESET. */
void virtio_dev_fail(struct virtio_dev *d, const char *why);

/* The kernel command line fragment that declares the device:
 * "virtio_mmio.device=512@0xd0000000:5". */
int virtio_cmdline(const struct virtio_dev *d, char *buf, size_t len);

#endif
