#include "runtime/pod.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/proto.h"
#include "lib/util.h"
#include "runtime/state.h"

/* Where the guest mounts the sandbox's share (guest-agent/ctr.h). */
#define GUEST_SHARE "/run/husk/share"

/* Engines that say which pod a container is in, and how. */
static const struct {
	const char *type_key, *sandbox_key;
} pod_annotations[] = {
        {"io.kubernetes.cri.container-type", "io.kubernetes.cri.sandbox-id"},
        {"io.kubernetes.cri-o.ContainerType", "io.kubernetes.cri-o.SandboxID"},
};

int rt_pod_sandbox_of(const char *root, const char *id, char *out, size_t len)
{
	char path[PATH_MAX];
	cleanup_free char *buf = NULL;
	cleanup_json hk_json *j = NULL;
	size_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s/husk.json", root, id) >= sizeof(path) ||
	    hk_read_file(path, 65536, &buf, &n, NULL) < 0 ||
	    hk_json_parse(buf, n, NULL, &j, NULL) < 0)
		return -1;
	const hk_json *s = hk_json_get(j, "sandbox");
	if (s == NULL || s->type != HJ_STRING || rt_id_check(s->s, NULL) < 0 || strlen(s->s) >= len)
		return -1;
	snprintf(out, len, "%s", s->s);
	return 0;
}

struct by_pid {
	pid_t pid;
	char id[1100];
};

static int match_pid(const struct oci_state *s, void *arg)
{
	struct by_pid *b = arg;
	if (s->pid.set && s->pid.v == b->pid && s->id && strlen(s->id) < sizeof(b->id)) {
		snprintf(b->id, sizeof(b->id), "%s", s->id);
		return 1;
	}
	return 0;
}

/* The husk container in root whose process is pid, into b->id ("" for
 * none). */
static void container_of_pid(const char *root, pid_t pid, struct by_pid *b)
{
	b->pid = pid;
	b->id[0] = '\0';
	if (pid > 0)
		(void)rt_state_each(root, match_pid, b, NULL);
}

/* PID of "/proc/PID/ns/…", or 0. */
static pid_t proc_ns_pid(const char *path)
{
	int pid = 0, end = 0;
	if (path && sscanf(path, "/proc/%d/ns/%*[a-z_]%n", &pid, &end) == 1 && end > 0 &&
	    path[end] == '\0')
		return (pid_t)pid;
	return 0;
}

/* The pod a container of root belongs to: its own id, or its sandbox's. */
static void pod_of(const char *root, const char *id, char *out, size_t len)
{
	if (rt_pod_sandbox_of(root, id, out, len) < 0)
		snprintf(out, len, "%s", id);
}

int rt_pod_find(const struct rt_ctx *g, const char *id, const struct oci_spec *spec, char *sandbox,
                size_t len, hk_err **err)
{
	const char *from = NULL;

	sandbox[0] = '\0';
	for (size_t i = 0; i < HK_ARRAY_SIZE(pod_annotations); i++) {
		const char *t = oci_map_get(&spec->annotations, pod_annotations[i].type_key);
		const char *s = oci_map_get(&spec->annotations, pod_annotations[i].sandbox_key);
		if (t == NULL || strcmp(t, "container") != 0 || s == NULL || strcmp(s, id) == 0)
			continue;
		if (rt_id_check(s, err) < 0)
			return hk_err_wrap(err, "annotation %s", pod_annotations[i].sandbox_key);
		pod_of(g->root, s, sandbox, len);
		from = pod_annotations[i].sandbox_key;
		break;
	}
	for (size_t i = 0; !from && spec->linux_ && i < spec->linux_->namespaces.n; i++) {
		const struct oci_namespace *ns = &spec->linux_->namespaces.v[i];
		struct by_pid b;
		container_of_pid(g->root, proc_ns_pid(ns->path), &b);
		if (b.id[0] == '\0')
			continue;
		pod_of(g->root, b.id, sandbox, len);
		from = "linux.namespaces";
	}
	if (from == NULL)
		return 0;
	struct rt_info info;
	if (rt_info(g, sandbox, &info, err) < 0)
		return hk_err_wrap(err, "%s: the pod's sandbox", from);
	bool up = strcmp(info.status, "created") == 0 || strcmp(info.status, "running") == 0 ||
	          strcmp(info.status, "paused") == 0;
	rt_info_free(&info);
	if (!up)
		return hk_err_set(err, 0, "%s: the pod's sandbox `%s` is not running", from,
		                  sandbox);
	return 1;
}

/* The sandbox's virtiofsd: the monitor's child of that name. */
static pid_t virtiofsd_of(pid_t vmm)
{
	DIR *d = opendir("/proc");
	pid_t found = 0;

	if (d == NULL)
		return 0;
	for (struct dirent *de; found == 0 && (de = readdir(d)) != NULL;) {
		char path[64], buf[512];
		int pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		char *rp = strrchr(buf, ')');
		int ppid = 0;
		if (strstr(buf, "(virtiofsd)") && rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 &&
		    ppid == vmm)
			found = pid;
	}
	closedir(d);
	return found;
}

/* Runs fn in a child that has entered the mount namespace of the
 * sandbox's virtiofsd, whose root is the share; the child's error comes
 * back through a pipe. fds are mounts cloned in our namespace before. */
struct share_op {
	const char *id;
	size_t n;
	const char *name[64];
	int fd[64];
	bool dir[64];
};

static int fail_child(int wr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_child(int wr, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int e = errno;
	va_start(ap, fmt);
	int k = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k > 0 && (size_t)k < sizeof(msg) - 64)
		snprintf(msg + k, sizeof(msg) - (size_t)k, ": %s", strerror(e));
	(void)!write(wr, msg, strlen(msg));
	_exit(1);
}

/* In the share: pod/ID/NAME for each mount, made afresh (O_EXCL and no
 * symlinks followed: the guest writes in this directory too). */
static void attach(const struct share_op *op, int wr)
{
	if (mkdir(RT_POD_DIR, 0755) < 0 && errno != EEXIST)
		fail_child(wr, "mkdir %s", RT_POD_DIR);
	int pfd = open(RT_POD_DIR, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || mkdirat(pfd, op->id, 0755) < 0)
		fail_child(wr, "the share's `%s/%s`", RT_POD_DIR, op->id);
	int cfd = openat(pfd, op->id, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		fail_child(wr, "the share's `%s/%s`", RT_POD_DIR, op->id);
	for (size_t i = 0; i < op->n; i++) {
		int t;
		if (op->dir[i])
			t = mkdirat(cfd, op->name[i], 0755);
		else if ((t = openat(cfd, op->name[i], O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		                     0644)) >= 0)
			close(t);
		int tfd = t < 0 ? -1 : openat(cfd, op->name[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (tfd < 0 || fstat(tfd, &st) < 0 ||
		    (op->dir[i] ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
			fail_child(wr, "the share's `%s/%s/%s`", RT_POD_DIR, op->id, op->name[i]);
		if (move_mount(op->fd[i], "", tfd, "",
		               MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			fail_child(wr, "mount `%s` in the share", op->name[i]);
		close(tfd);
	}
}

/* Takes pod/ID out of the share: every mount in it detached. The guest
 * writes in the share too: each step is by a descriptor opened without
 * following symlinks, and each unmount names one entry of the directory
 * we are in, so nothing the guest renames can point an unmount elsewhere. */
static void detach(const struct share_op *op, int wr)
{
	int pfd = open(RT_POD_DIR, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int cfd = pfd < 0 ? -1 : openat(pfd, op->id, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0) {
		if (errno == ENOENT)
			_exit(0);
		fail_child(wr, "the share's `%s/%s`", RT_POD_DIR, op->id);
	}
	if (fchdir(cfd) < 0)
		fail_child(wr, "the share's `%s/%s`", RT_POD_DIR, op->id);
	DIR *d = fdopendir(cfd);
	if (d == NULL)
		fail_child(wr, "the share's `%s/%s`", RT_POD_DIR, op->id);
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strchr(de->d_name, '/'))
			continue;
		if (umount2(de->d_name, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
			fail_child(wr, "unmount `%s`", de->d_name);
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
	if (unlinkat(pfd, op->id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		fail_child(wr, "remove `%s/%s`", RT_POD_DIR, op->id);
}

static int in_share(pid_t sandbox_pid, const struct share_op *op, bool attaching, hk_err **err)
{
	pid_t fsd = virtiofsd_of(sandbox_pid);
	char path[64], msg[512];
	int p[2];

	if (fsd <= 0) {
		if (!attaching)
			return 0; /* the sandbox and its share are gone */
		return hk_err_set(err, ESRCH, "the pod's sandbox (pid %d) has no virtiofsd",
		                  (int)sandbox_pid);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)fsd);
	cleanup_close int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return hk_err_set(err, errno, "the sandbox's share (`%s`)", path);
	/* virtiofsd's root is the share (it pivoted there); the namespace's
	 * own root need not be (a host whose / is the initramfs cannot pivot
	 * it), so that is where the child goes. */
	snprintf(path, sizeof(path), "/proc/%d/root", (int)fsd);
	cleanup_close int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hk_err_set(err, errno, "the sandbox's share (`%s`)", path);
	if (pipe2(p, O_CLOEXEC) < 0)
		return hk_err_set(err, errno, "pipe");
	pid_t c = fork();
	if (c < 0) {
		close(p[0]);
		close(p[1]);
		return hk_err_set(err, errno, "fork");
	}
	if (c == 0) {
		close(p[0]);
		if (setns(ns, CLONE_NEWNS) < 0 || fchdir(root) < 0 || chroot(".") < 0)
			fail_child(p[1], "enter the sandbox's share");
		if (attaching)
			attach(op, p[1]);
		else
			detach(op, p[1]);
		_exit(0);
	}
	close(p[1]);
	ssize_t n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	int st = 0;
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	if (n > 0) {
		msg[n] = '\0';
		return hk_err_set(err, 0, "%s", msg);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return hk_err_set(err, 0, "the sandbox's share: the helper failed");
	return 0;
}

static int rewrite_namespaces(const struct rt_ctx *g, const char *sandbox, struct oci_spec *spec,
                              hk_err **err)
{
	for (size_t i = 0; spec->linux_ && i < spec->linux_->namespaces.n; i++) {
		struct oci_namespace *ns = &spec->linux_->namespaces.v[i];
		char pod[1100];
		struct by_pid b;
		if (ns->path == NULL || ns->path[0] == '\0' || strcmp(ns->type, "network") == 0)
			continue;
		container_of_pid(g->root, proc_ns_pid(ns->path), &b);
		if (b.id[0])
			pod_of(g->root, b.id, pod, sizeof(pod));
		if (b.id[0] == '\0' || strcmp(pod, sandbox) != 0)
			return hk_err_set(err, ENOTSUP,
			                  "linux.namespaces[%zu]: the %s namespace `%s` is not one "
			                  "of pod `%s`'s containers' (a pod's containers share "
			                  "its VM, not the host's namespaces)",
			                  i, ns->type, ns->path, sandbox);
		free(ns->path);
		if (asprintf(&ns->path, "%s%s", HK_NS_CONTAINER, b.id) < 0) {
			ns->path = NULL;
			return hk_err_set(err, ENOMEM, "linux.namespaces[%zu]", i);
		}
	}
	return 0;
}

static char *resolve(const char *bundle, const char *path)
{
	char *p = NULL;
	if (path[0] == '/')
		return strdup(path);
	return asprintf(&p, "%s/%s", bundle, path) < 0 ? NULL : p;
}

int rt_pod_share(const struct rt_ctx *g, const char *id, const char *bundle, const char *sandbox,
                 pid_t sandbox_pid, struct oci_spec *spec, hk_err **err)
{
	struct share_op op = {.id = id};
	char names[64][24];
	char *guest[64] = {0};
	int rc = -1;

	if (spec->root == NULL || spec->root->path == NULL)
		return hk_err_set(err, EINVAL, "root.path: missing");
	if (rewrite_namespaces(g, sandbox, spec, err) < 0)
		return -1;
	for (size_t i = 0; i < HK_ARRAY_SIZE(op.fd); i++)
		op.fd[i] = -1;
	/* entry -1 is the root; the others the bind mounts, as husk-vmm
	 * gathers a VM's own (cmd/husk-vmm/container.c). */
	for (ssize_t i = -1; i < (ssize_t)spec->mounts.n; i++) {
		struct oci_mount *m = i < 0 ? NULL : &spec->mounts.v[i];
		bool rec = true, ro;
		cleanup_free char *src = NULL;
		if (m && (!oci_mount_is_bind(m) || m->source == NULL))
			continue;
		if (op.n == HK_ARRAY_SIZE(op.fd)) {
			hk_err_set(err, E2BIG,
			           "mounts: at most %zu bind mounts in a pod's container",
			           HK_ARRAY_SIZE(op.fd) - 1);
			goto out;
		}
		src = resolve(bundle, m ? m->source : spec->root->path);
		if (src == NULL) {
			hk_err_set(err, ENOMEM, "mounts");
			goto out;
		}
		struct stat st;
		if (stat(src, &st) < 0) {
			hk_err_set(err, errno, "%s `%s`", m ? "mounts" : "root.path", src);
			goto out;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			hk_warn("mounts[%zd]: `%s` is not a file or directory; not shared", i, src);
			continue;
		}
		if (m) {
			rec = oci_mount_has_option(m, "rbind");
			ro = oci_mount_has_option(m, "ro");
			snprintf(names[op.n], sizeof(names[0]), "m%zd", i);
		} else {
			ro = spec->root->readonly.set && spec->root->readonly.v;
			snprintf(names[op.n], sizeof(names[0]), "rootfs");
			if (ro && oci_make_targets(spec, src, bundle, err) < 0)
				goto out;
		}
		int fd = open_tree(AT_FDCWD, src,
		                   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
		if (fd < 0) {
			hk_err_set(err, errno, "clone the mount of `%s`", src);
			goto out;
		}
		op.fd[op.n] = fd;
		/* Private: a clone of a shared mount would be its peer, and an
		 * unmount in the share would reach the host's. Read-only for the
		 * guest means read-only in virtiofsd's view. */
		struct mount_attr ma = {.attr_set = ro ? MOUNT_ATTR_RDONLY : 0,
		                        .propagation = MS_PRIVATE};
		if (mount_setattr(fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &ma,
		                  sizeof(ma)) < 0) {
			hk_err_set(err, errno, "%s `%s`", ro ? "read-only" : "a private clone of",
			           src);
			goto out;
		}
		op.name[op.n] = names[op.n];
		op.dir[op.n] = S_ISDIR(st.st_mode);
		if (asprintf(&guest[op.n], GUEST_SHARE "/" RT_POD_DIR "/%s/%s", id, names[op.n]) <
		    0) {
			guest[op.n] = NULL;
			hk_err_set(err, ENOMEM, "mounts");
			goto out;
		}
		op.n++;
		char **slot = m ? &m->source : &spec->root->path;
		free(*slot);
		*slot = strdup(guest[op.n - 1]);
		if (*slot == NULL) {
			hk_err_set(err, ENOMEM, "mounts");
			goto out;
		}
	}
	if (in_share(sandbox_pid, &op, true, err) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < HK_ARRAY_SIZE(op.fd); i++)
		if (op.fd[i] >= 0)
			close(op.fd[i]);
	for (size_t i = 0; i < HK_ARRAY_SIZE(guest); i++)
		free(guest[i]);
	return rc;
}

int rt_pod_unshare(pid_t sandbox_pid, const char *id, hk_err **err)
{
	struct share_op op = {.id = id};
	return in_share(sandbox_pid, &op, false, err);
}
