/* The virtio-mmio transport and the devices, driven like a guest driver
 * would, against synthetic guest memory: feature negotiation and its
 * refusals, queue set-up, kicks through the eventfds, interrupts, reset;
 * rng filling buffers; blk requests (read, write, flush, get-id, bounds,
 * read-only); vsock headers. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "tests/unit/guestmem.h"
#include "tests/unit/mmio_driver.h"
#include "tests/unit/tap.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/vsock.h"

static struct vmm_mem mem;

static void queue_setup(struct virtio_dev *d, unsigned q, uint16_t size)
{
	wr(d, 0x30, q);
	wr(d, 0x38, size);
	wr(d, 0x80, GM_DESC);
	wr(d, 0x84, 0);
	wr(d, 0x90, GM_AVAIL);
	wr(d, 0x94, 0);
	wr(d, 0xa0, GM_USED);
	wr(d, 0xa4, 0);
	wr(d, 0x44, 1);
}

static int activations;

static int count_activate(struct virtio_dev *d, hk_err **err)
{
	activations++;
	return 0;
}

static int test_transport(void)
{
	struct virtio_dev d;
	cleanup_err hk_err *err = NULL;
	int irq = eventfd(0, EFD_NONBLOCK);
	/* rng, counting its activations. */
	struct virtio_dev_ops ops = virtio_rng_ops;
	ops.activate = count_activate;

	CHECK(virtio_dev_init(&d, &ops, NULL, &mem, NULL, 0xd0000000, 5, irq, &err) == 0);
	CHECK(rd(&d, 0x000) == 0x74726976 && rd(&d, 0x004) == 2 && rd(&d, 0x008) == 4);
	wr(&d, 0x14, 1);
	CHECK(rd(&d, 0x10) & 1);           /* VERSION_1 is bit 32 */
	CHECK(rd(&d, 0xb0) == 0xffffffff); /* no shared memory regions */
	/* Without VERSION_1 FEATURES_OK does not stick. */
	driver_init(&d, 0);
	CHECK(!(rd(&d, 0x70) & 8));
	/* A feature we never offered is refused too. */
	driver_init(&d, (1ULL << 32) | (1ULL << 5));
	CHECK(!(rd(&d, 0x70) & 8));
	driver_init(&d, (1ULL << 32) | (1ULL << 29));
	CHECK(rd(&d, 0x70) & 8);
	CHECK(d.vq[0].event_idx);
	/* A ring outside memory is refused with NEEDS_RESET. */
	wr(&d, 0x30, 0);
	wr(&d, 0x80, 0xffff0000);
	wr(&d, 0x44, 1);
	CHECK(rd(&d, 0x44) == 0 && (rd(&d, 0x70) & 64));
	/* The driver's next status write neither clears NEEDS_RESET (only a
	 * reset does) nor starts the device on the refused queue. */
	wr(&d, 0x70, 1 | 2 | 8 | 4);
	CHECK((rd(&d, 0x70) & 64) && activations == 0);
	/* Nor does a driver set NEEDS_RESET itself. */
	driver_init(&d, 1ULL << 32);
	wr(&d, 0x70, 1 | 2 | 8 | 64);
	CHECK(!(rd(&d, 0x70) & 64));
	driver_init(&d, 1ULL << 32);
	queue_setup(&d, 0, 8);
	CHECK(rd(&d, 0x44) == 1);
	wr(&d, 0x80, 0x9000); /* frozen once ready */
	CHECK(d.vq[0].desc_gpa == GM_DESC);
	wr(&d, 0x30, 7); /* a queue the device does not have */
	CHECK(rd(&d, 0x34) == 0);
	wr(&d, 0x70, 1 | 2 | 8 | 4);
	CHECK(activations == 1);
	/* A kick reaches the loop's eventfd; out-of-range queues are ignored. */
	wr(&d, 0x50, 0);
	wr(&d, 0x50, 99);
	uint64_t n = 0;
	CHECK(read(d.kick_fd[0], &n, 8) == 8 && n == 1);
	/* Reset clears everything. */
	wr(&d, 0x70, 0);
	CHECK(rd(&d, 0x70) == 0 && !d.vq[0].ready);
	virtio_dev_fini(&d);
	close(irq);
	return 0;
}

static int test_rng(void)
{
	struct virtio_dev d;
	cleanup_err hk_err *err = NULL;
	int irq = eventfd(0, EFD_NONBLOCK);
	uint64_t n;

	memset(mem.host, 0, GM_SIZE);
	CHECK(virtio_dev_init(&d, &virtio_rng_ops, NULL, &mem, NULL, 0, 5, irq, &err) == 0);
	driver_init(&d, 1ULL << 32);
	queue_setup(&d, 0, 8);
	wr(&d, 0x70, 15);
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 256, 2, 0);
	gm_avail(&mem, &d.vq[0], 0);
	d.ops->notify(&d, 0);
	uint32_t elem[2];
	memcpy(elem, mem.host + GM_USED + 4, 8);
	CHECK(elem[0] == 0 && elem[1] == 256);
	int nonzero = 0;
	for (int i = 0; i < 256; i++)
		nonzero += mem.host[GM_DATA + i] != 0;
	CHECK(nonzero > 200);
	CHECK(read(irq, &n, 8) == 8);
	CHECK(rd(&d, 0x60) & 1);
	wr(&d, 0x64, 1);
	CHECK(rd(&d, 0x60) == 0);
	virtio_dev_fini(&d);
	close(irq);
	return 0;
}

/* One blk request: header at GM_DATA, data at GM_DATA+0x100, status at
 * GM_DATA+0x80. Returns the status byte. */
static int blk_req(struct virtio_blk *b, uint32_t type, uint64_t sector, uint32_t len,
                   bool data_writable, uint32_t *done)
{
	struct virtq q;
	static struct vq_chain c;
	uint8_t hdr[16] = {0};

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	memcpy(mem.host + GM_DATA, hdr, 16);
	gm_queue(&q, &mem, 8);
	memset(mem.host + GM_AVAIL, 0, 64);
	gm_desc(&mem, GM_DESC, 0, GM_DATA, 16, 1, 1);
	if (len) {
		gm_desc(&mem, GM_DESC, 1, GM_DATA + 0x100, len, 1 | (data_writable ? 2 : 0), 2);
		gm_desc(&mem, GM_DESC, 2, GM_DATA + 0x80, 1, 2, 0);
	} else {
		gm_desc(&mem, GM_DESC, 1, GM_DATA + 0x80, 1, 2, 0);
	}
	gm_avail(&mem, &q, 0);
	if (vq_pop(&q, &c, NULL) != 1)
		return -1;
	*done = virtio_blk_request(b, &c);
	return mem.host[GM_DATA + 0x80];
}

static int test_blk(void)
{
	char path[] = "/tmp/husk-test-blk-XXXXXX";
	int fd = mkstemp(path);
	struct virtio_blk b;
	cleanup_err hk_err *err = NULL;
	uint32_t done;
	char buf[1024];

	CHECK(fd >= 0 && ftruncate(fd, 64 * 512) == 0);
	CHECK(pwrite(fd, "sector-one", 10, 512) == 10);
	close(fd);
	CHECK(virtio_blk_open(&b, path, false, &err) == 0 && b.sectors == 64);
	memset(mem.host, 0, GM_SIZE);
	CHECK(blk_req(&b, 0, 1, 512, true, &done) == 0 && done == 513);
	CHECK(memcmp(mem.host + GM_DATA + 0x100, "sector-one", 10) == 0);
	memcpy(mem.host + GM_DATA + 0x100, "written", 7);
	CHECK(blk_req(&b, 1, 2, 512, false, &done) == 0);
	CHECK(blk_req(&b, 4, 0, 0, false, &done) == 0); /* flush */
	CHECK(blk_req(&b, 8, 0, 20, true, &done) == 0);
	CHECK(strncmp((char *)mem.host + GM_DATA + 0x100, "husk-", 5) == 0);
	/* Out of range, overflowing, unaligned, unknown. */
	CHECK(blk_req(&b, 0, 64, 512, true, &done) == 1);
	CHECK(blk_req(&b, 0, UINT64_MAX, 512, true, &done) == 1);
	CHECK(blk_req(&b, 0, 0, 100, true, &done) == 1);
	CHECK(blk_req(&b, 99, 0, 0, false, &done) == 2);
	virtio_blk_close(&b);
	fd = open(path, O_RDONLY);
	CHECK(pread(fd, buf, 7, 1024) == 7 && memcmp(buf, "written", 7) == 0);
	close(fd);
	/* Read-only: writes and discards fail, reads work. */
	CHECK(virtio_blk_open(&b, path, true, &err) == 0);
	CHECK(blk_req(&b, 1, 2, 512, false, &done) == 1);
	CHECK(blk_req(&b, 0, 2, 512, true, &done) == 0);
	virtio_blk_close(&b);
	unlink(path);
	return 0;
}

static int test_vsock_headers(void)
{
	uint8_t b[VSOCK_HDR_SIZE];
	struct vsock_hdr h = {.src_cid = 3,
	                      .dst_cid = 2,
	                      .src_port = 1000,
	                      .dst_port = 5001,
	                      .len = 10,
	                      .type = 1,
	                      .op = VSOCK_OP_RW,
	                      .buf_alloc = 4096};
	struct vsock_hdr out;
	const char *why;

	vsock_hdr_encode(&h, b);
	CHECK(vsock_hdr_parse(b, 10, 3, &out, &why) == 0 && out.dst_port == 5001);
	CHECK(vsock_hdr_parse(b, 9, 3, &out, &why) < 0);  /* len beyond the payload */
	CHECK(vsock_hdr_parse(b, 10, 4, &out, &why) < 0); /* not from the guest's CID */
	h.dst_cid = 7;
	vsock_hdr_encode(&h, b);
	CHECK(vsock_hdr_parse(b, 10, 3, &out, &why) < 0);
	h.dst_cid = 2;
	h.type = 2; /* SEQPACKET */
	vsock_hdr_encode(&h, b);
	CHECK(vsock_hdr_parse(b, 10, 3, &out, &why) < 0);
	h.type = 1;
	h.op = 99;
	vsock_hdr_encode(&h, b);
	CHECK(vsock_hdr_parse(b, 10, 3, &out, &why) < 0);
	h.op = VSOCK_OP_REQUEST; /* control packets carry no payload */
	vsock_hdr_encode(&h, b);
	CHECK(vsock_hdr_parse(b, 10, 3, &out, &why) < 0);
	h.len = 1u << 20;
	h.op = VSOCK_OP_RW;
	vsock_hdr_encode(&h, b);
	CHECK(vsock_hdr_parse(b, 1u << 20, 3, &out, &why) < 0); /* over the largest packet */
	return 0;
}

int main(void)
{
	if (gm_init(&mem, GM_SIZE) < 0)
		return 1;
	RUN_TEST(test_transport);
	RUN_TEST(test_rng);
	RUN_TEST(test_blk);
	RUN_TEST(test_vsock_headers);
	gm_fini(&mem);
	TAP_DONE();
}
