/* virtio-mmio version 2 (virtio 1.2 §4.2.2): the register file every husk
 * device shares. Offsets are named, accesses to registers must be aligned
 * 32-bit ones, and values the driver writes are checked before use: the
 * queue index, the queue size, the features it accepts, the ring
 * addresses (at QueueReady). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/virtio/virtio.h"

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_LEN_LOW = 0x0b0,
	REG_SHM_LEN_HIGH = 0x0b4,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

#define VIRTIO_MMIO_MAGIC  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x4b535548 /* "HUSK" */
#define INT_USED_RING      1
#define INT_CONFIG         2

static uint64_t offered(const struct virtio_dev *d)
{
	return d->ops->features | (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_EVENT_IDX) |
	       (1ULL << VIRTIO_F_INDIRECT_DESC);
}

static struct virtq *selected(struct virtio_dev *d)
{
	return d->queue_sel < d->ops->num_queues ? &d->vq[d->queue_sel] : NULL;
}

static void set_hi(uint64_t *v, uint32_t hi)
{
	*v = (*v & 0xffffffffULL) | (uint64_t)hi << 32;
}

static void set_lo(uint64_t *v, uint32_t lo)
{
	*v = (*v & ~0xffffffffULL) | lo;
}

static void reset_locked(struct virtio_dev *d)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vq_reset(&d->vq[i]);
	d->status = 0;
	d->driver_features = 0;
	d->dev_features_sel = d->drv_features_sel = 0;
	d->queue_sel = 0;
	d->interrupt_status = 0;
}

void virtio_dev_fail(struct virtio_dev *d, const char *why)
{
	hk_warn("virtio-%s: %s; the device needs a reset", d->ops->name, why);
	pthread_mutex_lock(&d->lock);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->vq[i].ready = false;
	pthread_mutex_unlock(&d->lock);
	virtio_signal_config(d);
}

static void raise_irq(struct virtio_dev *d, uint32_t bit)
{
	uint64_t one = 1;

	pthread_mutex_lock(&d->lock);
	d->interrupt_status |= bit;
	pthread_mutex_unlock(&d->lock);
	if (d->irq_fd >= 0)
		(void)!write(d->irq_fd, &one, sizeof(one));
}

void virtio_signal_used(struct virtio_dev *d, unsigned q)
{
	if (q < d->ops->num_queues && vq_need_irq(&d->vq[q]))
		raise_irq(d, INT_USED_RING);
}

void virtio_drain(struct virtio_dev *d, unsigned qi,
                  uint32_t (*serve)(struct virtio_dev *d, const struct vq_chain *c))
{
	/* One chain at a time, on the loop thread: a static buffer is enough
	 * and keeps 16 KiB of segments off the stack. */
	static __thread struct vq_chain c;
	struct virtq *q = &d->vq[qi];
	hk_err *err = NULL;
	bool pushed = false;
	int r;

	for (;;) {
		r = vq_pop(q, &c, &err);
		if (r == 0) {
			vq_set_avail_event(q);
			r = vq_pop(q, &c, &err);
		}
		if (r <= 0)
			break;
		vq_push(q, c.head, serve(d, &c));
		pushed = true;
	}
	if (r < 0) {
		virtio_dev_fail(d, err->msg);
		hk_err_free(&err);
	}
	if (pushed)
		virtio_signal_used(d, qi);
}

void virtio_signal_irq(struct virtio_dev *d)
{
	raise_irq(d, INT_USED_RING);
}

void virtio_signal_config(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->config_generation++;
	pthread_mutex_unlock(&d->lock);
	raise_irq(d, INT_CONFIG);
}

static void mmio_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct virtio_dev *d = ctx;
	uint32_t v = 0;

	if (off >= REG_CONFIG) {
		uint64_t c = off - REG_CONFIG;
		memset(data, 0, len);
		if (d->ops->config_read && c < d->ops->config_size &&
		    len <= d->ops->config_size - c)
			d->ops->config_read(d, (uint32_t)c, data, len);
		return;
	}
	if (len != 4 || (off & 3)) {
		memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&d->lock);
	struct virtq *q = selected(d);
	switch (off) {
	case REG_MAGIC:
		v = VIRTIO_MMIO_MAGIC;
		break;
	case REG_VERSION:
		v = 2;
		break;
	case REG_DEVICE_ID:
		v = d->ops->device_id;
		break;
	case REG_VENDOR_ID:
		v = VIRTIO_MMIO_VENDOR;
		break;
	case REG_DEVICE_FEATURES:
		v = d->dev_features_sel == 0   ? (uint32_t)offered(d)
		    : d->dev_features_sel == 1 ? (uint32_t)(offered(d) >> 32)
		                               : 0;
		break;
	case REG_QUEUE_NUM_MAX:
		v = q ? VQ_MAX_SIZE : 0;
		break;
	case REG_QUEUE_READY:
		v = q ? q->ready : 0;
		break;
	case REG_INTERRUPT_STATUS:
		v = d->interrupt_status;
		break;
	case REG_STATUS:
		v = d->status;
		break;
	case REG_CONFIG_GENERATION:
		v = d->config_generation;
		break;
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
		/* No shared memory regions: a length of all ones says so (§4.2.2);
		 * zero would be a region of zero bytes, which drivers refuse. */
		v = 0xffffffff;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&d->lock);
	memcpy(data, &v, 4);
}

/* FEATURES_OK: the driver may accept only what we offered, and must take
 * VERSION_1 (no legacy). */
static void features_ok(struct virtio_dev *d)
{
	uint64_t f = d->driver_features;

	if ((f & ~offered(d)) || !(f & (1ULL << VIRTIO_F_VERSION_1))) {
		hk_warn("virtio-%s: driver features %#llx refused", d->ops->name,
		        (unsigned long long)f);
		return; /* the driver sees FEATURES_OK unset and gives up */
	}
	d->status |= VIRTIO_STATUS_FEATURES_OK;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->vq[i].event_idx = f & (1ULL << VIRTIO_F_EVENT_IDX);
}

/* Called with the lock held; activate runs without it so devices may take
 * their own locks and call back into the transport. */
static bool write_status(struct virtio_dev *d, uint32_t v)
{
	if (v == 0) {
		reset_locked(d);
		return false;
	}
	/* FEATURES_OK and NEEDS_RESET are the device's to set: a driver that
	 * writes NEEDS_RESET back as 0 has not reset the device (only a write
	 * of 0 does), and one that sets it has not been refused anything. */
	const uint32_t device_bits = VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_NEEDS_RESET;
	uint32_t newbits = v & ~d->status;
	d->status = (d->status & device_bits) | (v & ~device_bits);
	if (newbits & VIRTIO_STATUS_FEATURES_OK)
		features_ok(d);
	/* A device that asked for a reset (a queue refused, a ring broken)
	 * does not start on what it refused. */
	if ((newbits & VIRTIO_STATUS_DRIVER_OK) && (d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    !(d->status & VIRTIO_STATUS_NEEDS_RESET))
		return true;
	return false;
}

static void queue_ready(struct virtio_dev *d, struct virtq *q, uint32_t v)
{
	hk_err *err = NULL;

	if (v == 0) {
		q->ready = false;
		return;
	}
	if (q->size == 0)
		q->size = VQ_MAX_SIZE;
	if (vq_validate(q, &err) < 0) {
		hk_warn("virtio-%s: queue %u refused: %s", d->ops->name, d->queue_sel, err->msg);
		hk_err_free(&err);
		d->status |= VIRTIO_STATUS_NEEDS_RESET;
		return;
	}
	q->ready = true;
}

static void mmio_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_dev *d = ctx;
	uint32_t v;
	bool activate = false, was_reset = false;

	if (off >= REG_CONFIG) {
		uint64_t c = off - REG_CONFIG;
		if (d->ops->config_write && c < d->ops->config_size &&
		    len <= d->ops->config_size - c)
			d->ops->config_write(d, (uint32_t)c, data, len);
		return;
	}
	if (len != 4 || (off & 3))
		return;
	memcpy(&v, data, 4);
	if (off == REG_QUEUE_NOTIFY) {
		/* No lock: the kick only wakes the loop, which takes it from there. */
		uint64_t one = 1;
		if (v < d->ops->num_queues && d->kick_fd[v] >= 0)
			(void)!write(d->kick_fd[v], &one, sizeof(one));
		return;
	}
	pthread_mutex_lock(&d->lock);
	struct virtq *q = selected(d);
	/* Queue registers are frozen once the queue is live. */
	bool q_writable = q && !q->ready;
	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		d->dev_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		if (d->status & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (d->drv_features_sel == 0)
			set_lo(&d->driver_features, v);
		else if (d->drv_features_sel == 1)
			set_hi(&d->driver_features, v);
		break;
	case REG_DRIVER_FEATURES_SEL:
		d->drv_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		if (q_writable)
			q->size = v <= VQ_MAX_SIZE && v && !(v & (v - 1)) ? (uint16_t)v : 0;
		break;
	case REG_QUEUE_READY:
		if (q)
			queue_ready(d, q, v);
		break;
	case REG_INTERRUPT_ACK:
		d->interrupt_status &= ~v;
		break;
	case REG_STATUS:
		was_reset = v == 0;
		activate = write_status(d, v);
		break;
	case REG_QUEUE_DESC_LOW:
		if (q_writable)
			set_lo(&q->desc_gpa, v);
		break;
	case REG_QUEUE_DESC_HIGH:
		if (q_writable)
			set_hi(&q->desc_gpa, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
		if (q_writable)
			set_lo(&q->avail_gpa, v);
		break;
	case REG_QUEUE_DRIVER_HIGH:
		if (q_writable)
			set_hi(&q->avail_gpa, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
		if (q_writable)
			set_lo(&q->used_gpa, v);
		break;
	case REG_QUEUE_DEVICE_HIGH:
		if (q_writable)
			set_hi(&q->used_gpa, v);
		break;
	default:
		break;
	}
	/* Still under the lock: the loop thread serves queues under it too,
	 * so a guest resetting a device mid-request cannot pull the rings out
	 * from under the device (the lock is recursive for the device's own
	 * calls back into the transport). */
	if (was_reset && d->ops->reset)
		d->ops->reset(d);
	if (activate && d->ops->activate) {
		hk_err *err = NULL;
		if (d->ops->activate(d, &err) < 0) {
			hk_warn("virtio-%s: activate: %s", d->ops->name, err ? err->msg : "failed");
			hk_err_free(&err);
			d->status |= VIRTIO_STATUS_NEEDS_RESET;
		}
	}
	pthread_mutex_unlock(&d->lock);
}

const struct vmm_io_ops virtio_mmio_ops = {.read = mmio_read, .write = mmio_write};

static void on_kick(void *arg, uint32_t events)
{
	struct virtio_dev *d = arg;
	uint64_t n;

	/* One callback per device: find which queue's eventfd fired by
	 * reading them all (cheap: a device has at most a few). */
	for (unsigned q = 0; q < d->ops->num_queues; q++) {
		if (d->kick_fd[q] < 0 || read(d->kick_fd[q], &n, sizeof(n)) != sizeof(n) ||
		    !d->ops->notify)
			continue;
		pthread_mutex_lock(&d->lock);
		/* Kicks before DRIVER_OK, or after the device failed, are noise. */
		if ((d->status & VIRTIO_STATUS_DRIVER_OK) &&
		    !(d->status & VIRTIO_STATUS_NEEDS_RESET))
			d->ops->notify(d, q);
		pthread_mutex_unlock(&d->lock);
	}
}

int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
                    struct vmm_mem *mem, struct vmm_loop *loop, uint64_t base, unsigned irq,
                    int irq_fd, hk_err **err)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->priv = priv;
	d->mem = mem;
	d->loop = loop;
	d->mmio_base = base;
	d->irq = irq;
	d->irq_fd = irq_fd;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&d->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		d->vq[i].mem = mem;
		d->kick_fd[i] = -1;
	}
	if (ops->num_queues > VIRTIO_MAX_QUEUES)
		return hk_err_set(err, EINVAL, "virtio-%s: %u queues", ops->name, ops->num_queues);
	for (unsigned i = 0; i < ops->num_queues; i++) {
		d->kick_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->kick_fd[i] < 0) {
			int e = errno;
			virtio_dev_fini(d);
			return hk_err_set(err, e, "virtio-%s: eventfd", ops->name);
		}
		if (loop && vmm_loop_add(loop, d->kick_fd[i], EPOLLIN, on_kick, d, err) < 0) {
			virtio_dev_fini(d);
			return hk_err_wrap(err, "virtio-%s", ops->name);
		}
	}
	return 0;
}

void virtio_dev_fini(struct virtio_dev *d)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (d->kick_fd[i] < 0)
			continue;
		if (d->loop)
			vmm_loop_del(d->loop, d->kick_fd[i]);
		close(d->kick_fd[i]);
		d->kick_fd[i] = -1;
	}
}

int virtio_cmdline(const struct virtio_dev *d, char *buf, size_t len)
{
	int n = snprintf(buf, len, "virtio_mmio.device=%#x@%#llx:%u", VIRTIO_MMIO_SIZE,
	                 (unsigned long long)d->mmio_base, d->irq);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
