/* Device self-tests: the guest checks husk-vmm's devices from inside.
 *   rng  /dev/hwrng gives bytes that are not all the same
 *   blk  /dev/vda holds the pattern byte[i] = i % 251 (the test writes it on
 *        the host), a write to it lands (checked on the host afterwards),
 *        and /dev/vdb, read-only, refuses writes */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/fs.h>

#include "guest-agent/agent.h"
#include "guest-agent/selftest.h"

int selftest_rng(char *why, size_t len)
{
	unsigned char buf[64];
	int fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		snprintf(why, len, "open /dev/hwrng: %s", strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != (ssize_t)sizeof(buf)) {
		snprintf(why, len, "read /dev/hwrng: %zd bytes", n);
		return -1;
	}
	for (size_t i = 1; i < sizeof(buf); i++)
		if (buf[i] != buf[0]) {
			agent_say("husk-selftest rng bytes=%zd", n);
			return 0;
		}
	snprintf(why, len, "64 identical bytes from /dev/hwrng");
	return -1;
}

#define BLK_CHECK_BYTES  (1u << 20)
#define BLK_WRITE_OFFSET (2u << 20)
#define BLK_WRITE_TEXT   "written by the guest"

int selftest_blk(char *why, size_t len)
{
	unsigned char *buf = malloc(BLK_CHECK_BYTES);
	unsigned long long size = 0;
	int fd = open("/dev/vda", O_RDWR | O_CLOEXEC);

	if (buf == NULL || fd < 0) {
		snprintf(why, len, "open /dev/vda: %s", strerror(errno));
		free(buf);
		return -1;
	}
	ioctl(fd, BLKGETSIZE64, &size);
	ssize_t n = pread(fd, buf, BLK_CHECK_BYTES, 0);
	if (n != (ssize_t)BLK_CHECK_BYTES) {
		snprintf(why, len, "read /dev/vda: %zd bytes", n);
		goto fail;
	}
	for (size_t i = 0; i < BLK_CHECK_BYTES; i++)
		if (buf[i] != i % 251) {
			snprintf(why, len, "/dev/vda byte %zu is %u, want %zu", i, buf[i], i % 251);
			goto fail;
		}
	if (pwrite(fd, BLK_WRITE_TEXT, strlen(BLK_WRITE_TEXT), BLK_WRITE_OFFSET) !=
	            (ssize_t)strlen(BLK_WRITE_TEXT) ||
	    fdatasync(fd) < 0) {
		snprintf(why, len, "write /dev/vda: %s", strerror(errno));
		goto fail;
	}
	close(fd);
	free(buf);
	agent_say("husk-selftest blk vda bytes=%llu pattern=ok", size);

	/* The kernel may let a read-only disk open for writing; the disk must
	 * say it is read-only and refuse the write itself. */
	int ro = 0;
	fd = open("/dev/vdb", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/vdb", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKROGET, &ro) < 0 || !ro) {
		snprintf(why, len, "/dev/vdb is not read-only (%s)",
		         fd < 0 ? strerror(errno) : "BLKROGET");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (pwrite(fd, "x", 1, 0) == 1) {
		close(fd);
		snprintf(why, len, "a write to read-only /dev/vdb succeeded");
		return -1;
	}
	close(fd);
	agent_say("husk-selftest blk vdb read-only=yes");
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}
