/* virtio-fs (device id 26) as a vhost-user front end: the monitor starts
 * its own virtiofsd for the share, hands it guest memory and the two rings
 * (hiprio, requests) at DRIVER_OK, and relays its interrupts. A read-only
 * share is enforced on the host: virtiofsd runs in a mount namespace where
 * the directory is bind-mounted read-only. */
#ifndef VMM_VIRTIO_FS_H
#define VMM_VIRTIO_FS_H

#include <stdbool.h>
#include <sys/types.h>

#include "vmm/vhost_user.h"
#include "vmm/virtio/virtio.h"

/* Which virtiofsd to run and where: the cgroups it joins before it runs,
 * one a hierarchy (a container's sandbox gives it a cgroup of its own beside
 * the monitor's, runtime/cgroup.h); none leaves it in the monitor's. */
#define VIRTIO_FS_MAX_CGROUPS 3
struct virtio_fs_daemon {
	const char *path; /* NULL: the first of the known places */
	const char *cgroup[VIRTIO_FS_MAX_CGROUPS];
	unsigned ncgroups;
};

struct virtio_fs {
	struct virtio_dev *dev; /* set by the monitor after virtio_dev_init */
	struct vmm_loop *loop;
	char tag[37];
	const char *daemon;
	char sock[108];
	pid_t pid;
	struct vhost_user vu;
	int call_fd[2];
	bool kicks_taken, active;
};

extern const struct virtio_dev_ops virtio_fs_ops;

/* The virtiofsd to run: path if given, else the first of the known places. */
const char *virtio_fs_find_daemon(const char *path);

/* Starts virtiofsd on dir (its socket in sock_dir), without waiting for
 * it: it gets ready while the monitor loads the kernel. On failure the
 * caller still closes f. */
int virtio_fs_start(struct virtio_fs *f, const char *tag, const char *dir, bool readonly,
                    const struct virtio_fs_daemon *d, const char *sock_dir, struct vmm_loop *loop,
                    hk_err **err);
/* Connects to the virtiofsd that start ran (waiting for its socket) and
 * checks its features; before the guest runs. */
int virtio_fs_connect(struct virtio_fs *f, hk_err **err);
/* Stops the rings, then virtiofsd (SIGTERM, SIGKILL after a deadline). */
void virtio_fs_close(struct virtio_fs *f);

#endif
