/* Malformed virtqueues: with the guest's driver unbound, the self-test
 * drives a virtio-mmio device by hand and offers rings the monitor must
 * refuse (vmm/virtio/queue.c): rings outside RAM or misaligned, buffers
 * outside RAM or wrapping the address space, loops, next indices out of
 * range, nested and malformed indirect tables, an available index that
 * runs ahead, a head out of range, readable after writable. Each one must
 * end with the device asking for a reset (NEEDS_RESET) while the monitor
 * runs on. A buffer the device may only read must come back untouched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "guest-agent/hostile.h"

enum {
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
};

#define ST_ACK         1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40
#define F_INDIRECT     (1u << 28)
#define F_VERSION_1_HI 1u /* bit 32 */
#define D_NEXT         1
#define D_WRITE        2
#define D_INDIRECT     4
#define QSIZE          8
#define PAGE           4096
#define NPAGES         6
#define WAIT_SECONDS   30 /* a busy nested lab is slow; a refusal is not */

enum { P_DESC, P_AVAIL, P_USED, P_IND, P_BUF, P_BUF2 };

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* Pages whose physical addresses the rings point at, locked in place. */
struct rings {
	uint8_t *va;
	uint64_t pa[NPAGES];
};

static uint32_t rd(const struct hostile_dev *d, unsigned off)
{
	return (uint32_t)hostile_read(d->regs + off, 4);
}

static void wr(const struct hostile_dev *d, unsigned off, uint32_t v)
{
	hostile_write(d->regs + off, 4, v);
}

static void wr64(const struct hostile_dev *d, unsigned off, uint64_t v)
{
	wr(d, off, (uint32_t)v);
	wr(d, off + 4, (uint32_t)(v >> 32));
}

static int rings_get(struct rings *r, char *why, size_t len)
{
	r->va = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
	             MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (r->va == MAP_FAILED) {
		snprintf(why, len, "map ring pages: %s", strerror(errno));
		return -1;
	}
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "open /proc/self/pagemap: %s", strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < NPAGES; i++) {
		uint64_t e = 0;
		off_t at = (off_t)((uintptr_t)(r->va + i * PAGE) / PAGE * 8);
		if (pread(fd, &e, 8, at) != 8 || !(e >> 63) || !(e & ((1ULL << 55) - 1))) {
			snprintf(why, len, "no physical address for ring page %u", i);
			close(fd);
			return -1;
		}
		r->pa[i] = (e & ((1ULL << 55) - 1)) * PAGE;
	}
	close(fd);
	return 0;
}

static bool wait_status(const struct hostile_dev *d, uint32_t bit)
{
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += WAIT_SECONDS;
	for (;;) {
		if (rd(d, REG_STATUS) & bit)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return false;
		usleep(1000);
	}
}

/* Reset, features (VERSION_1 and INDIRECT_DESC only), then queue q with
 * the given ring addresses. Returns whether the device took the queue. */
static bool bring_up(const struct hostile_dev *d, unsigned q, uint64_t desc, uint64_t avail,
                     uint64_t used)
{
	wr(d, REG_STATUS, 0);
	wr(d, REG_STATUS, ST_ACK | ST_DRIVER);
	wr(d, REG_DEVICE_FEATURES_SEL, 0);
	wr(d, REG_DRIVER_FEATURES_SEL, 0);
	wr(d, REG_DRIVER_FEATURES, F_INDIRECT);
	wr(d, REG_DRIVER_FEATURES_SEL, 1);
	wr(d, REG_DRIVER_FEATURES, F_VERSION_1_HI);
	wr(d, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(rd(d, REG_STATUS) & ST_FEATURES_OK))
		return false;
	wr(d, REG_QUEUE_SEL, q);
	wr(d, REG_QUEUE_NUM, QSIZE);
	wr64(d, REG_QUEUE_DESC_LOW, desc);
	wr64(d, REG_QUEUE_DRIVER_LOW, avail);
	wr64(d, REG_QUEUE_DEVICE_LOW, used);
	wr(d, REG_QUEUE_READY, 1);
	bool ready = rd(d, REG_QUEUE_READY) == 1;
	wr(d, REG_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	return ready;
}

/* One malformed chain: fills the table (and the indirect one) for the
 * rings at r. */
struct scenario {
	const char *name;
	void (*fill)(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *avail);
};

static void out_of_ram(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){0xfffffff000ULL, 64, D_WRITE, 0};
}

static void wraps(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){0xfffffffffffff000ULL, 0x2000, D_WRITE, 0};
}

static void huge_len(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){r->pa[P_BUF], 0xffffffffu, D_WRITE, 0};
}

static void loop(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){r->pa[P_BUF], 16, D_WRITE | D_NEXT, 1};
	t[1] = (struct desc){r->pa[P_BUF2], 16, D_WRITE | D_NEXT, 0};
}

static void next_out_of_range(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){r->pa[P_BUF], 16, D_WRITE | D_NEXT, 200};
}

static void nested_indirect(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){r->pa[P_IND], 2 * 16, D_INDIRECT, 0};
	ind[0] = (struct desc){r->pa[P_IND], 2 * 16, D_INDIRECT, 0};
}

static void indirect_bad_len(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){r->pa[P_IND], 17, D_INDIRECT, 0};
	ind[0] = (struct desc){r->pa[P_BUF], 16, D_WRITE, 0};
}

static void indirect_loop(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){r->pa[P_IND], 2 * 16, D_INDIRECT, 0};
	ind[0] = (struct desc){r->pa[P_BUF], 16, D_WRITE | D_NEXT, 1};
	ind[1] = (struct desc){r->pa[P_BUF2], 16, D_WRITE | D_NEXT, 0};
}

static void indirect_huge(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	/* More entries than any chain may hold, and past the end of RAM. */
	t[0] = (struct desc){r->pa[P_IND], 0xfffffff0u, D_INDIRECT, 0};
}

static void avail_jumps(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){r->pa[P_BUF], 16, D_WRITE, 0};
	a[1] = 1000; /* the index: 1000 chains in a ring of 8 */
}

static void head_out_of_range(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	a[2] = 9999;
}

static void read_after_write(const struct rings *r, struct desc *t, struct desc *ind, uint16_t *a)
{
	t[0] = (struct desc){r->pa[P_BUF], 16, D_WRITE | D_NEXT, 1};
	t[1] = (struct desc){r->pa[P_BUF2], 16, D_NEXT, 2};
	t[2] = (struct desc){r->pa[P_BUF2] + 16, 16, D_WRITE, 0};
}

static const struct scenario scenarios[] = {
        {"buffer outside RAM", out_of_ram},
        {"buffer wrapping the address space", wraps},
        {"4 GiB buffer", huge_len},
        {"loop in the chain", loop},
        {"next out of range", next_out_of_range},
        {"nested indirect table", nested_indirect},
        {"indirect table of 17 bytes", indirect_bad_len},
        {"loop in an indirect table", indirect_loop},
        {"indirect table of 4 GiB", indirect_huge},
        {"available index 1000 ahead", avail_jumps},
        {"head descriptor out of range", head_out_of_range},
        {"readable after writable", read_after_write},
};

/* The queue whose kicks the monitor itself serves: rng and blk take
 * requests on 0, vsock and net transmit on 1. Others (virtio-fs, served by
 * virtiofsd) are not the monitor's rings. */
static int served_queue(uint32_t device_id)
{
	switch (device_id) {
	case 4:
	case 2:
		return 0;
	case 19:
	case 1:
		return 1;
	default:
		return -1;
	}
}

static void publish(const struct rings *r, uint16_t *avail)
{
	/* One chain at head 0, unless the scenario already wrote the ring. */
	if (avail[2] == 0xffff)
		avail[2] = 0;
	if (avail[1] == 0)
		avail[1] = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Bad ring addresses, refused at QueueReady. */
static int bad_rings(const struct hostile_dev *d, unsigned q, const struct rings *r,
                     unsigned *rejected, char *why, size_t len)
{
	static const struct {
		const char *name;
		uint64_t off_desc;
	} cases[] = {{"descriptor table outside RAM", 0xfffffff000ULL},
	             {"misaligned descriptor table", 8}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t desc = i == 0 ? cases[i].off_desc : r->pa[P_DESC] + cases[i].off_desc;
		if (bring_up(d, q, desc, r->pa[P_AVAIL], r->pa[P_USED]) ||
		    !(rd(d, REG_STATUS) & ST_NEEDS_RESET)) {
			snprintf(why, len, "%s: %s taken", d->name, cases[i].name);
			return -1;
		}
		++*rejected;
	}
	return 0;
}

/* A buffer the device may only read, offered to rng as its only buffer:
 * the device must hand it back with nothing written. */
static int read_only_buffer(const struct hostile_dev *d, const struct rings *r, char *why,
                            size_t len)
{
	struct desc *t = (struct desc *)(r->va + P_DESC * PAGE);
	uint16_t *avail = (uint16_t *)(r->va + P_AVAIL * PAGE);
	volatile uint16_t *used = (volatile uint16_t *)(r->va + P_USED * PAGE);
	uint8_t *buf = r->va + P_BUF * PAGE;

	memset(r->va, 0, NPAGES * PAGE);
	memset(buf, 0xaa, 64);
	if (!bring_up(d, 0, r->pa[P_DESC], r->pa[P_AVAIL], r->pa[P_USED])) {
		snprintf(why, len, "%s: a sound queue refused", d->name);
		return -1;
	}
	t[0] = (struct desc){r->pa[P_BUF], 64, 0, 0};
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_SEQ_CST);
	wr(d, REG_QUEUE_NOTIFY, 0);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (__atomic_load_n(&used[1], __ATOMIC_SEQ_CST) != 1) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > WAIT_SECONDS) {
			snprintf(why, len, "%s: a read-only buffer never came back", d->name);
			return -1;
		}
		usleep(1000);
	}
	uint32_t written;
	memcpy(&written, (const uint8_t *)used + 8, 4);
	for (unsigned i = 0; i < 64; i++)
		if (buf[i] != 0xaa || written != 0) {
			snprintf(why, len, "%s: wrote %u bytes into a read-only buffer", d->name,
			         written);
			return -1;
		}
	wr(d, REG_STATUS, 0);
	return 0;
}

static int one_device(const struct hostile_dev *d, const struct rings *r, unsigned *rejected,
                      char *why, size_t len)
{
	int q = served_queue(d->device_id);
	struct desc *t = (struct desc *)(r->va + P_DESC * PAGE);
	struct desc *ind = (struct desc *)(r->va + P_IND * PAGE);
	uint16_t *avail = (uint16_t *)(r->va + P_AVAIL * PAGE);

	if (q < 0)
		return 0;
	if (bad_rings(d, (unsigned)q, r, rejected, why, len) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		memset(r->va, 0, NPAGES * PAGE);
		avail[2] = 0xffff;
		if (!bring_up(d, (unsigned)q, r->pa[P_DESC], r->pa[P_AVAIL], r->pa[P_USED])) {
			snprintf(why, len, "%s: a sound queue refused", d->name);
			return -1;
		}
		scenarios[i].fill(r, t, ind, avail);
		publish(r, avail);
		wr(d, REG_QUEUE_NOTIFY, (uint32_t)q);
		if (!wait_status(d, ST_NEEDS_RESET)) {
			snprintf(why, len, "%s: %s not refused", d->name, scenarios[i].name);
			return -1;
		}
		++*rejected;
	}
	wr(d, REG_STATUS, 0);
	if (d->device_id == 4 && read_only_buffer(d, r, why, len) < 0)
		return -1;
	agent_say("husk-selftest hostile virtq %s (device %u) refused every malformed ring",
	          d->name, d->device_id);
	return 0;
}

int hostile_virtqueues(struct hostile_dev *devs, unsigned n, unsigned *rejected, char *why,
                       size_t len)
{
	struct rings r;

	if (rings_get(&r, why, len) < 0)
		return -1;
	int rc = 0;
	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = one_device(&devs[i], &r, rejected, why, len);
	munmap(r.va, NPAGES * PAGE);
	return rc;
}
