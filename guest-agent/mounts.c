#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "guest-agent/agent.h"

struct mnt {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
};

int agent_mount_basics(void)
{
	static const struct mnt mounts[] = {
	        {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	        {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	        {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
	        {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620"},
	        {"tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
	        {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
	        {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
	        {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		const struct mnt *m = &mounts[i];
		/* Mount points under /dev and /sys appear only once those are up. */
		if (mkdir(m->dst, 0755) < 0 && errno != EEXIST) {
			agent_say("husk-agent: mkdir %s: %s", m->dst, strerror(errno));
			rc = -1;
			continue;
		}
		if (mount(m->src, m->dst, m->type, m->flags, m->data) < 0 && errno != EBUSY) {
			agent_say("husk-agent: mount %s on %s: %s", m->type, m->dst,
			          strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

/* Copies the agent's binary to the new root: it is the only file the
 * initramfs has that the guest still needs. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

int agent_switch_root(void)
{
	static const char *const dirs[] = {"/dev", "/proc", "/sys", "/run", "/tmp", "/mnt"};
	char p[64];

	if (mkdir("/newroot", 0755) < 0 && errno != EEXIST)
		goto fail;
	if (mount("tmpfs", "/newroot", "tmpfs", 0, "mode=0755") < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "/newroot%s", dirs[i]);
		if (mkdir(p, strcmp(dirs[i], "/tmp") == 0 ? 01777 : 0755) < 0)
			goto fail;
	}
	if (copy_file("/init", "/newroot/init") < 0)
		goto fail;
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		goto fail;
	return 0;
fail:
	agent_say("husk-agent: switch to a tmpfs root: %s", strerror(errno));
	return -1;
}
