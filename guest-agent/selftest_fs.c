/* The virtio-fs self-test: the host shares a directory as tag "share"
 * holding hello.txt, and the same directory read-only as tag "roshare".
 * The guest reads, writes, renames, links and unlinks on the first, and
 * must be refused a write on the second; the host checks the results. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "guest-agent/selftest.h"

#define RW "/mnt/share"
#define RO "/mnt/roshare"

static int put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int r = n == (ssize_t)strlen(text) && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	return r;
}

int selftest_fs(char *why, size_t len)
{
	char buf[128] = "";
	int fd;

	mkdir(RW, 0755);
	mkdir(RO, 0755);
	if (mount("share", RW, "virtiofs", 0, NULL) < 0 ||
	    mount("roshare", RO, "virtiofs", 0, NULL) < 0) {
		snprintf(why, len, "mount virtiofs: %s", strerror(errno));
		return -1;
	}
	fd = open(RW "/hello.txt", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0 ||
	    strcmp(buf, "hello from the host\n") != 0) {
		snprintf(why, len, "read hello.txt: got \"%s\"", buf);
		return -1;
	}
	close(fd);
	if (put(RW "/from-guest.txt", "written by the guest\n") < 0 ||
	    rename(RW "/from-guest.txt", RW "/renamed.txt") < 0 ||
	    symlink("renamed.txt", RW "/link") < 0 || put(RW "/gone.txt", "x") < 0 ||
	    unlink(RW "/gone.txt") < 0) {
		snprintf(why, len, "write/rename/symlink/unlink: %s", strerror(errno));
		return -1;
	}
	ssize_t n = readlink(RW "/link", buf, sizeof(buf) - 1);
	if (n != (ssize_t)strlen("renamed.txt")) {
		snprintf(why, len, "readlink: %zd", n);
		return -1;
	}
	agent_say("husk-selftest fs read write rename symlink unlink ok");
	fd = open(RO "/denied.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0 || (errno != EROFS && errno != EACCES && errno != EPERM)) {
		snprintf(why, len, "a write on the read-only share: %s",
		         fd >= 0 ? "succeeded" : strerror(errno));
		return -1;
	}
	agent_say("husk-selftest fs read-only share refused a write (%s)", strerror(errno));
	umount(RW);
	umount(RO);
	return 0;
}
