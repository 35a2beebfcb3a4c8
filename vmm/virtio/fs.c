#include "vmm/virtio/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/util.h"

#define NUM_QUEUES     2  /* hiprio + one request queue */
#define CFG_SIZE       40 /* tag[36] + num_request_queues */
/* ms for virtiofsd to listen: ten sandboxes starting at once on a busy
 * (or emulated) host took more than 5 s; a virtiofsd that dies ends the
 * wait at once. */
#define START_DEADLINE 30000
#define STOP_DEADLINE  2000 /* ms between SIGTERM and SIGKILL */

const char *virtio_fs_find_daemon(const char *path)
{
	static const char *const known[] = {"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd",
	                                    "/usr/bin/virtiofsd"};
	if (path)
		return path;
	for (size_t i = 0; i < HK_ARRAY_SIZE(known); i++)
		if (access(known[i], X_OK) == 0)
			return known[i];
	return NULL;
}

/* In the child, before exec: join the daemon's own cgroups. */
static void join_cgroups(const struct virtio_fs_daemon *d)
{
	for (unsigned i = 0; i < d->ncgroups; i++) {
		if (hk_cgroup_enter(d->cgroup[i], NULL) < 0) {
			fprintf(stderr, "husk-vmm: virtiofsd's cgroup `%s`: %s\n", d->cgroup[i],
			        strerror(errno));
			_exit(126);
		}
	}
}

/* In the child, before exec: die with the monitor, leave for the daemon's
 * cgroups, and make a read-only share read-only in virtiofsd's own view of
 * the file system. */
static void child(const struct virtio_fs_daemon *d, const char *daemon, const char *dir,
                  bool readonly, const char *sock, bool quiet_ok)
{
	char src[4200], spath[200];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	join_cgroups(d);
	if (readonly) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
			fprintf(stderr, "husk-vmm: read-only share `%s`: %s\n", dir,
			        strerror(errno));
			_exit(126);
		}
	}
	/* virtiofsd reports a closed socket as an error on the way out: keep its
	 * chatter out of the console unless we are debugging. */
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		/* In a container's monitor, stdio is the container's: never hold
		 * or write to it. */
		dup2(null, STDIN_FILENO);
		dup2(quiet_ok ? STDERR_FILENO : null, STDOUT_FILENO);
		if (!quiet_ok)
			dup2(null, STDERR_FILENO);
	}
	hk_close_fds_from(3, NULL, 0);
	snprintf(src, sizeof(src), "source=%s", dir);
	snprintf(spath, sizeof(spath), "--socket-path=%s", sock);
	execl(daemon, daemon, spath, "-o", src, "-o", "cache=auto", "-o", "sandbox=namespace", "-o",
	      "log_level=err", (char *)NULL);
	fprintf(stderr, "husk-vmm: exec `%s`: %s\n", daemon, strerror(errno));
	_exit(127);
}

static void on_call(void *arg, uint32_t events)
{
	struct virtio_fs *f = arg;
	uint64_t n;
	bool fired = false;

	for (unsigned q = 0; q < NUM_QUEUES; q++)
		if (read(f->call_fd[q], &n, sizeof(n)) == sizeof(n))
			fired = true;
	if (fired && f->dev)
		virtio_signal_irq(f->dev);
}

int virtio_fs_start(struct virtio_fs *f, const char *tag, const char *dir, bool readonly,
                    const struct virtio_fs_daemon *d, const char *sock_dir, struct vmm_loop *loop,
                    hk_err **err)
{
	const char *daemon = virtio_fs_find_daemon(d->path);

	memset(f, 0, sizeof(*f));
	f->pid = -1;
	f->vu.fd = -1;
	f->call_fd[0] = f->call_fd[1] = -1;
	f->loop = loop;
	if (strlen(tag) == 0 || strlen(tag) > 36)
		return hk_err_set(err, EINVAL, "virtio-fs tag `%s`: 1 to 36 bytes", tag);
	strcpy(f->tag, tag);
	if (daemon == NULL)
		return hk_err_set(err, ENOENT,
		                  "virtio-fs: no virtiofsd found (install "
		                  "qemu-system-common, or give --virtiofsd)");
	f->daemon = daemon;
	if (access(dir, R_OK | X_OK) < 0)
		return hk_err_set(err, errno, "virtio-fs share `%s`", dir);
	if (snprintf(f->sock, sizeof(f->sock), "%s/fs-%s.sock", sock_dir, tag) >=
	    (int)sizeof(f->sock))
		return hk_err_set(err, ENAMETOOLONG, "virtio-fs socket in `%s`", sock_dir);
	unlink(f->sock);
	for (unsigned q = 0; q < NUM_QUEUES; q++) {
		f->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (f->call_fd[q] < 0)
			return hk_err_set(err, errno, "virtio-fs: eventfd");
		if (vmm_loop_add(loop, f->call_fd[q], EPOLLIN, on_call, f, err) < 0) {
			close(f->call_fd[q]);
			f->call_fd[q] = -1;
			return -1;
		}
	}
	f->pid = fork();
	if (f->pid < 0)
		return hk_err_set(err, errno, "virtio-fs: fork");
	if (f->pid == 0)
		child(d, daemon, dir, readonly, f->sock, hk_log_enabled(HK_LOG_DEBUG));
	hk_debug("virtio-fs `%s`: %s on `%s`%s, pid %d", tag, daemon, dir,
	         readonly ? " (read-only)" : "", (int)f->pid);
	return 0;
}

int virtio_fs_connect(struct virtio_fs *f, hk_err **err)
{
	if (vhu_connect(&f->vu, f->sock, f->pid, START_DEADLINE, err) < 0)
		return hk_err_wrap(err, "virtio-fs `%s` (%s)", f->tag, f->daemon);
	uint64_t need = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_EVENT_IDX) |
	                (1ULL << VIRTIO_F_INDIRECT_DESC);
	if ((f->vu.features & need) != need)
		return hk_err_set(err, ENOTSUP, "virtio-fs: %s lacks ring features (%#llx)",
		                  f->daemon, (unsigned long long)f->vu.features);
	hk_debug("virtio-fs `%s`: connected", f->tag);
	return 0;
}

static void stop_rings(struct virtio_fs *f)
{
	cleanup_err hk_err *err = NULL;
	uint32_t base;

	if (!f->active || f->vu.fd < 0)
		return;
	for (unsigned q = 0; q < NUM_QUEUES; q++)
		if (vhu_get_vring_base(&f->vu, q, &base, &err) < 0) {
			hk_debug("virtio-fs: %s", err->msg);
			hk_err_free(&err);
		}
	f->active = false;
}

/* Waits for the child to exit, up to ms; true when reaped. */
static bool reap(pid_t pid, int ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pfd >= 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		poll(&p, 1, ms);
		close(pfd);
	}
	return waitpid(pid, NULL, WNOHANG) == pid;
}

void virtio_fs_close(struct virtio_fs *f)
{
	stop_rings(f);
	vhu_close(&f->vu);
	for (unsigned q = 0; q < NUM_QUEUES; q++) {
		if (f->call_fd[q] < 0)
			continue;
		vmm_loop_del(f->loop, f->call_fd[q]);
		close(f->call_fd[q]);
		f->call_fd[q] = -1;
	}
	if (f->pid > 0) {
		/* virtiofsd leaves when its socket closes; insist if it does not. */
		if (!reap(f->pid, STOP_DEADLINE)) {
			kill(f->pid, SIGTERM);
			if (!reap(f->pid, STOP_DEADLINE)) {
				kill(f->pid, SIGKILL);
				waitpid(f->pid, NULL, 0);
			}
		}
		f->pid = -1;
	}
	if (f->sock[0])
		unlink(f->sock);
}

static int fs_activate(struct virtio_dev *d, hk_err **err)
{
	struct virtio_fs *f = d->priv;

	/* From now on the back end takes the kicks straight from KVM. */
	if (!f->kicks_taken) {
		for (unsigned q = 0; q < NUM_QUEUES; q++)
			vmm_loop_del(f->loop, d->kick_fd[q]);
		f->kicks_taken = true;
	}
	if (vhu_set_features(&f->vu, d->driver_features, err) < 0 ||
	    vhu_set_mem_table(&f->vu, d->mem, err) < 0)
		return -1;
	for (unsigned q = 0; q < NUM_QUEUES; q++) {
		struct virtq *vq = &d->vq[q];
		if (!vq->ready)
			continue;
		uint8_t *desc = vmm_mem_ptr(d->mem, vq->desc_gpa, 16ULL * vq->size);
		uint8_t *avail = vmm_mem_ptr(d->mem, vq->avail_gpa, 6 + 2ULL * vq->size);
		uint8_t *used = vmm_mem_ptr(d->mem, vq->used_gpa, 6 + 8ULL * vq->size);
		if (vhu_setup_vring(&f->vu, q, vq->size, (uint64_t)(uintptr_t)desc,
		                    (uint64_t)(uintptr_t)avail, (uint64_t)(uintptr_t)used,
		                    d->kick_fd[q], f->call_fd[q], err) < 0)
			return -1;
	}
	f->active = true;
	return 0;
}

static void fs_reset(struct virtio_dev *d)
{
	stop_rings(d->priv);
}

static void fs_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_fs *f = d->priv;
	uint8_t cfg[CFG_SIZE] = {0};
	uint32_t nreq = 1;

	memcpy(cfg, f->tag, strlen(f->tag));
	memcpy(cfg + 36, &nreq, 4);
	memcpy(data, cfg + off, len);
}

const struct virtio_dev_ops virtio_fs_ops = {
        .name = "fs",
        .device_id = 26,
        .num_queues = NUM_QUEUES,
        .config_size = CFG_SIZE,
        .config_read = fs_config_read,
        .activate = fs_activate,
        .reset = fs_reset,
};
