#include <errno.h>
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
