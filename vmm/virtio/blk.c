#include "vmm/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_F_DISCARD  13

#define T_IN      0
#define T_OUT     1
#define T_FLUSH   4
#define T_GET_ID  8
#define T_DISCARD 11

#define S_OK     0
#define S_IOERR  1
#define S_UNSUPP 2

#define SECTOR              512ULL
#define SEG_MAX             126
#define MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB a request */

/* Config space layout (virtio 1.2 §5.2.4), the fields we fill. */
enum {
	CFG_CAPACITY = 0,
	CFG_SEG_MAX = 12,
	CFG_BLK_SIZE = 20,
	CFG_MAX_DISCARD_SECTORS = 36,
	CFG_MAX_DISCARD_SEG = 40,
	CFG_DISCARD_ALIGN = 44,
	CFG_SIZE = 60,
};

int virtio_blk_open(struct virtio_blk *b, const char *path, bool readonly, hk_err **err)
{
	struct stat st;

	memset(b, 0, sizeof(*b));
	b->readonly = readonly;
	b->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0)
		return hk_err_set(err, errno, "open block image `%s`", path);
	if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(b->fd);
		b->fd = -1;
		return hk_err_set(err, EINVAL, "block image `%s`: not a regular file", path);
	}
	b->sectors = (uint64_t)st.st_size / SECTOR;
	snprintf(b->serial, sizeof(b->serial), "husk-%llx", (unsigned long long)st.st_ino);
	return 0;
}

void virtio_blk_close(struct virtio_blk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* Does [sector, sector + bytes) lie within the disk? No overflow. */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t n = (bytes + SECTOR - 1) / SECTOR;
	return sector <= b->sectors && n <= b->sectors - sector;
}

/* Data segments of a request: everything but the 16-byte header (its own
 * first readable bytes) and the status byte (the last writable one). Guests
 * put the header in its own descriptor; anything else is refused. */
static int data_iov(const struct vq_chain *c, bool write, struct iovec *iov, int *n,
                    uint64_t *bytes)
{
	*n = 0;
	*bytes = 0;
	if (c->nr == 0 || c->seg[0].len != 16 || c->nw == 0 || c->seg[c->nr + c->nw - 1].len < 1)
		return -1;
	unsigned first = write ? 1 : c->nr, last = write ? c->nr : c->nr + c->nw;
	for (unsigned i = first; i < last; i++) {
		uint32_t len = c->seg[i].len;
		if (!write && i == c->nr + c->nw - 1)
			len -= 1; /* the status byte */
		if (len == 0)
			continue;
		if (*n == SEG_MAX + 2)
			return -1;
		iov[*n] = (struct iovec){c->seg[i].ptr, len};
		(*n)++;
		*bytes += len;
	}
	if (write && c->nw != 1)
		return -1; /* a write's only writable byte is the status */
	return 0;
}

static uint8_t do_rw(struct virtio_blk *b, const struct vq_chain *c, bool write, uint64_t sector,
                     uint32_t *done)
{
	struct iovec iov[SEG_MAX + 2];
	int n;
	uint64_t bytes;

	if (data_iov(c, write, iov, &n, &bytes) < 0 || bytes % SECTOR)
		return S_IOERR;
	if (!in_range(b, sector, bytes))
		return S_IOERR;
	if (write && b->readonly)
		return S_IOERR;
	off_t off = (off_t)(sector * SECTOR);
	while (bytes > 0) {
		ssize_t r = write ? pwritev(b->fd, iov, n, off) : preadv(b->fd, iov, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return S_IOERR;
		bytes -= (uint64_t)r;
		off += r;
		if (!write)
			*done += (uint32_t)r;
		/* Short transfer: drop what was done from the iovec and go on. */
		while (r > 0 && n > 0) {
			if ((size_t)r >= iov[0].iov_len) {
				r -= (ssize_t)iov[0].iov_len;
				memmove(iov, iov + 1, (size_t)--n * sizeof(iov[0]));
			} else {
				iov[0].iov_base = (char *)iov[0].iov_base + r;
				iov[0].iov_len -= (size_t)r;
				r = 0;
			}
		}
	}
	return S_OK;
}

static uint8_t do_discard(struct virtio_blk *b, const struct vq_chain *c)
{
	uint8_t seg[16];
	uint64_t off = 16;

	if (b->readonly)
		return S_IOERR;
	/* Each segment: sector (le64), num_sectors (le32), flags (le32). */
	for (unsigned i = 0; i < 16; i++, off += 16) {
		if (vq_chain_read(c, off, seg, sizeof(seg)) != sizeof(seg))
			return i ? S_OK : S_IOERR;
		uint64_t sector;
		uint32_t num;
		memcpy(&sector, seg, 8);
		memcpy(&num, seg + 8, 4);
		if (num > MAX_DISCARD_SECTORS || !in_range(b, sector, (uint64_t)num * SECTOR))
			return S_IOERR;
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		              (off_t)(sector * SECTOR), (off_t)(num * SECTOR)) < 0)
			return S_IOERR;
	}
	return S_OK;
}

uint32_t virtio_blk_request(struct virtio_blk *b, const struct vq_chain *c)
{
	uint8_t hdr[16], status;
	uint32_t done = 0;

	if (c->nw == 0)
		return 0; /* nowhere to put a status: drop it */
	if (vq_chain_read(c, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
		status = S_IOERR;
	} else {
		uint32_t type;
		uint64_t sector;
		memcpy(&type, hdr, 4);
		memcpy(&sector, hdr + 8, 8);
		switch (type) {
		case T_IN:
			status = do_rw(b, c, false, sector, &done);
			break;
		case T_OUT:
			status = do_rw(b, c, true, sector, &done);
			break;
		case T_FLUSH:
			status = b->readonly || fdatasync(b->fd) == 0 ? S_OK : S_IOERR;
			break;
		case T_GET_ID: {
			char id[20] = {0};
			memcpy(id, b->serial, strnlen(b->serial, sizeof(id)));
			done = (uint32_t)vq_chain_write(
			        c, 0, id, c->wlen > sizeof(id) ? sizeof(id) : c->wlen - 1);
			status = S_OK;
			break;
		}
		case T_DISCARD:
			status = do_discard(b, c);
			break;
		default:
			status = S_UNSUPP;
			break;
		}
	}
	/* The status byte is the very last writable byte of the chain. */
	const struct vq_buf *last = &c->seg[c->nr + c->nw - 1];
	if (last->len == 0)
		return done;
	last->ptr[last->len - 1] = status;
	return done + 1;
}

static uint32_t blk_serve(struct virtio_dev *d, const struct vq_chain *c)
{
	return virtio_blk_request(d->priv, c);
}

static void blk_notify(struct virtio_dev *d, unsigned qi)
{
	if (qi == 0)
		virtio_drain(d, 0, blk_serve);
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_blk *b = d->priv;
	uint8_t cfg[CFG_SIZE] = {0};
	uint32_t v;

	memcpy(cfg + CFG_CAPACITY, &b->sectors, 8);
	v = SEG_MAX;
	memcpy(cfg + CFG_SEG_MAX, &v, 4);
	v = 512;
	memcpy(cfg + CFG_BLK_SIZE, &v, 4);
	v = MAX_DISCARD_SECTORS;
	memcpy(cfg + CFG_MAX_DISCARD_SECTORS, &v, 4);
	v = 16;
	memcpy(cfg + CFG_MAX_DISCARD_SEG, &v, 4);
	v = 8; /* 4 KiB: holes are punched in pages */
	memcpy(cfg + CFG_DISCARD_ALIGN, &v, 4);
	memcpy(data, cfg + off, len);
}

#define BLK_FEATURES                                                                               \
	((1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |                        \
	 (1ULL << VIRTIO_BLK_F_FLUSH))

const struct virtio_dev_ops virtio_blk_ops = {
        .name = "blk",
        .device_id = 2,
        .num_queues = 1,
        .features = BLK_FEATURES | (1ULL << VIRTIO_BLK_F_DISCARD),
        .config_size = CFG_SIZE,
        .config_read = blk_config_read,
        .notify = blk_notify,
};

const struct virtio_dev_ops virtio_blk_ro_ops = {
        .name = "blk",
        .device_id = 2,
        .num_queues = 1,
        .features = BLK_FEATURES | (1ULL << VIRTIO_BLK_F_RO),
        .config_size = CFG_SIZE,
        .config_read = blk_config_read,
        .notify = blk_notify,
};
