/* The container's file system view, built in its new mount namespace the
 * way runc's rootfs_linux.go builds it: the rootfs bind-mounted on itself,
 * config.json's mounts in order (bind sources come from the monitor's
 * share), /dev with the default devices, pivot_root, masked and read-only
 * paths, a read-only root; then hostname and sysctls. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guest-agent/ctr.h"
#include "lib/cleanup.h"
#include "lib/util.h"

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
        {"ro", false, MS_RDONLY},
        {"rw", true, MS_RDONLY},
        {"nosuid", false, MS_NOSUID},
        {"suid", true, MS_NOSUID},
        {"nodev", false, MS_NODEV},
        {"dev", true, MS_NODEV},
        {"noexec", false, MS_NOEXEC},
        {"exec", true, MS_NOEXEC},
        {"sync", false, MS_SYNCHRONOUS},
        {"async", true, MS_SYNCHRONOUS},
        {"dirsync", false, MS_DIRSYNC},
        {"remount", false, MS_REMOUNT},
        {"mand", false, MS_MANDLOCK},
        {"nomand", true, MS_MANDLOCK},
        {"atime", true, MS_NOATIME},
        {"noatime", false, MS_NOATIME},
        {"diratime", true, MS_NODIRATIME},
        {"nodiratime", false, MS_NODIRATIME},
        {"relatime", false, MS_RELATIME},
        {"norelatime", true, MS_RELATIME},
        {"strictatime", false, MS_STRICTATIME},
        {"nostrictatime", true, MS_STRICTATIME},
        {"bind", false, MS_BIND},
        {"rbind", false, MS_BIND | MS_REC},
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation[] = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

struct mopts {
	unsigned long flags, prop;
	char data[1024];
};

static void parse_options(const oci_strv *o, struct mopts *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < o->n; i++) {
		const char *s = o->v[i];
		size_t k;
		for (k = 0; k < HK_ARRAY_SIZE(mount_flags); k++)
			if (strcmp(s, mount_flags[k].name) == 0)
				break;
		if (k < HK_ARRAY_SIZE(mount_flags)) {
			if (mount_flags[k].clear)
				m->flags &= ~mount_flags[k].flag;
			else
				m->flags |= mount_flags[k].flag;
			continue;
		}
		for (k = 0; k < HK_ARRAY_SIZE(propagation); k++)
			if (strcmp(s, propagation[k].name) == 0)
				break;
		if (k < HK_ARRAY_SIZE(propagation)) {
			m->prop |= propagation[k].flag;
			continue;
		}
		/* Anything else is file-system data ("mode=755", "size=65536k"). */
		size_t len = strlen(m->data);
		snprintf(m->data + len, sizeof(m->data) - len, "%s%s", len ? "," : "", s);
	}
}

/* Creates dst (a directory, or an empty file when the source is one). */
static int make_target(const char *dst, bool file, hk_err **err)
{
	struct stat st;

	if (lstat(dst, &st) == 0)
		return 0;
	cleanup_free char *parent = strdup(dst);
	if (parent == NULL)
		return hk_err_set(err, ENOMEM, "mount target");
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (hk_mkdir_p(parent, 0755, err) < 0)
			return -1;
	}
	if (!file)
		return hk_mkdir_p(dst, 0755, err);
	int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return hk_err_set(err, errno, "create `%s`", dst);
	close(fd);
	return 0;
}

static bool is_bind(const struct oci_mount *m, const struct mopts *o)
{
	return (o->flags & MS_BIND) || (m->type && strcmp(m->type, "bind") == 0);
}

/* The destination under the rootfs, refusing a path that climbs out
 * lexically. Symlinks inside the rootfs are the container's own business:
 * it is the guest's file system, inside the VM wall. */
static int target(const char *root, const char *dst, char *out, size_t len, hk_err **err)
{
	cleanup_free char *p = NULL;
	if (hk_path_join(root, dst, &p, err) < 0)
		return -1;
	snprintf(out, len, "%s", p);
	return 0;
}

int rootfs_mount_pts(const struct oci_spec *spec, const char *dir, hk_err **err)
{
	const struct oci_mount *m = NULL;
	struct mopts o;

	for (size_t i = 0; i < spec->mounts.n; i++)
		if (spec->mounts.v[i].type && strcmp(spec->mounts.v[i].type, "devpts") == 0)
			m = &spec->mounts.v[i];
	if (m == NULL)
		return 0;
	parse_options(&m->options, &o);
	if (hk_mkdir_p(dir, 0755, err) < 0)
		return -1;
	if (mount("devpts", dir, "devpts", o.flags & ~MS_REMOUNT, o.data[0] ? o.data : NULL) < 0)
		return hk_err_set(err, errno, "the container's devpts");
	return 0;
}

static int do_mount(const char *root, const struct oci_mount *m, size_t idx, const char *pts,
                    hk_err **err)
{
	char ptmx[PATH_MAX];
	struct mopts o;
	char dst[PATH_MAX];
	const char *type = m->type;
	const char *src = m->source;

	parse_options(&m->options, &o);
	if (target(root, m->destination, dst, sizeof(dst), err) < 0)
		return hk_err_wrap(err, "mounts[%zu]", idx);
	if (is_bind(m, &o)) {
		struct stat st;
		if (src == NULL || stat(src, &st) < 0)
			return hk_err_set(err, errno ? errno : ENOENT,
			                  "mounts[%zu]: bind source `%s`", idx, src ? src : "");
		if (make_target(dst, !S_ISDIR(st.st_mode), err) < 0)
			return hk_err_wrap(err, "mounts[%zu]", idx);
		unsigned long rec = o.flags & MS_REC;
		if (mount(src, dst, NULL, MS_BIND | rec, NULL) < 0)
			return hk_err_set(err, errno, "mounts[%zu]: bind `%s` on `%s`", idx,
			                  m->destination, m->destination);
		/* Flags other than bind only take effect on a remount. */
		unsigned long extra = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
		if (extra && mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | extra, NULL) < 0)
			return hk_err_set(err, errno, "mounts[%zu]: remount `%s`", idx,
			                  m->destination);
	} else if (type && strcmp(type, "devpts") == 0 &&
	           (size_t)snprintf(ptmx, sizeof(ptmx), "%s/ptmx", pts) < sizeof(ptmx) &&
	           access(ptmx, F_OK) == 0) {
		/* The instance the agent made for this container (its terminals
		 * come from it, so they are /dev/pts names in here). */
		if (make_target(dst, false, err) < 0)
			return hk_err_wrap(err, "mounts[%zu]", idx);
		if (mount(pts, dst, NULL, MS_BIND, NULL) < 0)
			return hk_err_set(err, errno, "mounts[%zu]: bind the container's devpts",
			                  idx);
	} else {
		if (type && strcmp(type, "cgroup") == 0) {
			/* The guest has only the unified hierarchy: what runc does on
			 * a cgroup v2 host. */
			type = "cgroup2";
			src = "cgroup2";
			snprintf(o.data, sizeof(o.data), "%s", "");
		}
		struct stat st;
		if (type && strcmp(type, "tmpfs") == 0 && stat(dst, &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			/* A tmpfs on a directory of the image keeps that
			 * directory's mode, as runc does (a mode= option still
			 * wins: it comes later): /tmp made 0755 in the image is a
			 * 0755 tmpfs, not the kernel's 1777. */
			char d[sizeof(o.data)];
			int n = snprintf(d, sizeof(d), "mode=%04o%s%s", st.st_mode & 07777,
			                 o.data[0] ? "," : "", o.data);
			if (n < 0 || (size_t)n >= sizeof(d))
				return hk_err_set(err, E2BIG, "mounts[%zu]: options too long", idx);
			memcpy(o.data, d, (size_t)n + 1);
		}
		if (make_target(dst, false, err) < 0)
			return hk_err_wrap(err, "mounts[%zu]", idx);
		if (mount(src ? src : type, dst, type, o.flags & ~MS_REMOUNT,
		          o.data[0] ? o.data : NULL) < 0) {
			/* mqueue or sysfs may be refused in some namespace set-ups;
			 * runc fails too, so do we, with the reason. */
			return hk_err_set(err, errno, "mounts[%zu]: mount %s on `%s`", idx,
			                  type ? type : "?", m->destination);
		}
	}
	if (o.prop && mount(NULL, dst, NULL, o.prop, NULL) < 0)
		return hk_err_set(err, errno, "mounts[%zu]: propagation of `%s`", idx,
		                  m->destination);
	return 0;
}

static const struct {
	const char *path;
	unsigned maj, min;
} default_devices[] = {
        {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static int make_devices(const char *root, const struct oci_spec *s, int tty_slave, hk_err **err)
{
	char p[PATH_MAX + 64];

	for (size_t i = 0; i < HK_ARRAY_SIZE(default_devices); i++) {
		snprintf(p, sizeof(p), "%s/dev/%s", root, default_devices[i].path);
		unlink(p);
		if (mknod(p, S_IFCHR | 0666,
		          makedev(default_devices[i].maj, default_devices[i].min)) < 0)
			return hk_err_set(err, errno, "mknod /dev/%s", default_devices[i].path);
		chmod(p, 0666);
	}
	for (size_t i = 0; s->linux_ && i < s->linux_->devices.n; i++) {
		const struct oci_device *d = &s->linux_->devices.v[i];
		mode_t type = d->type[0] == 'b' ? S_IFBLK : d->type[0] == 'p' ? S_IFIFO : S_IFCHR;
		mode_t mode = d->file_mode.set ? (mode_t)d->file_mode.v : 0666;
		if (target(root, d->path, p, sizeof(p), err) < 0 || make_target(p, true, err) < 0)
			return hk_err_wrap(err, "linux.devices[%zu]", i);
		unlink(p);
		if (mknod(p, type | (mode & 07777), makedev(d->major.v, d->minor.v)) < 0)
			return hk_err_set(err, errno, "linux.devices[%zu]: mknod `%s`", i, d->path);
		if (chown(p, d->uid.set ? (uid_t)d->uid.v : 0, d->gid.set ? (gid_t)d->gid.v : 0) <
		    0)
			return hk_err_set(err, errno, "linux.devices[%zu]: chown", i);
	}
	static const char *const links[][2] = {
	        {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
	        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	        {"pts/ptmx", "ptmx"},
	};
	for (size_t i = 0; i < HK_ARRAY_SIZE(links); i++) {
		snprintf(p, sizeof(p), "%s/dev/%s", root, links[i][1]);
		unlink(p);
		if (symlink(links[i][0], p) < 0 && errno != EEXIST)
			return hk_err_set(err, errno, "/dev/%s", links[i][1]);
	}
	if (tty_slave >= 0) {
		/* The slave's fd belongs to the agent's mount namespace, and a
		 * bind mount refuses a source outside our own (EINVAL): bind
		 * its path instead, which our copy of the namespace also has
		 * until the pivot. */
		char fdp[64], slave[PATH_MAX];
		snprintf(p, sizeof(p), "%s/dev/console", root);
		snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", tty_slave);
		ssize_t n = readlink(fdp, slave, sizeof(slave) - 1);
		if (n < 0)
			return hk_err_set(err, errno, "/dev/console: the terminal's name");
		slave[n] = '\0';
		if (make_target(p, true, err) < 0)
			return -1;
		if (mount(slave, p, NULL, MS_BIND, NULL) < 0)
			return hk_err_set(err, errno, "/dev/console: bind `%s`", slave);
	}
	return 0;
}

static int pivot(const char *root, hk_err **err)
{
	cleanup_close int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	cleanup_close int newroot = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (oldroot < 0 || newroot < 0)
		return hk_err_set(err, errno, "pivot_root: open");
	/* runc's way: pivot onto itself, then detach the old root, which is
	 * stacked underneath. */
	if (fchdir(newroot) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return hk_err_set(err, errno, "pivot_root");
	if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return hk_err_set(err, errno, "pivot_root: detach the old root");
	return 0;
}

static int mask_paths(const struct oci_linux *l, hk_err **err)
{
	for (size_t i = 0; l && i < l->masked_paths.n; i++) {
		const char *p = l->masked_paths.v[i];
		struct stat st;
		if (stat(p, &st) < 0)
			continue; /* runc ignores paths that do not exist */
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL)
		                            : mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (r < 0)
			return hk_err_set(err, errno, "linux.maskedPaths[%zu] `%s`", i, p);
	}
	for (size_t i = 0; l && i < l->readonly_paths.n; i++) {
		const char *p = l->readonly_paths.v[i];
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return hk_err_set(err, errno, "linux.readonlyPaths[%zu] `%s`", i, p);
		}
		if (mount(NULL, p, NULL,
		          MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		          NULL) < 0 &&
		    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
			return hk_err_set(err, errno, "linux.readonlyPaths[%zu] `%s`", i, p);
	}
	return 0;
}

static int write_proc(const char *path, const char *val, hk_err **err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_err_set(err, errno, "open `%s`", path);
	int r = hk_write_all(fd, val, strlen(val), err);
	close(fd);
	return r;
}

static int set_sysctls(const struct oci_linux *l, hk_err **err)
{
	char path[PATH_MAX];

	for (size_t i = 0; l && i < l->sysctl.n; i++) {
		const char *k = l->sysctl.v[i].key;
		if (strstr(k, ".."))
			return hk_err_set(err, EINVAL, "linux.sysctl `%s`", k);
		snprintf(path, sizeof(path), "/proc/sys/%s", k);
		for (char *c = path + strlen("/proc/sys/"); *c; c++)
			if (*c == '.')
				*c = '/';
		if (write_proc(path, l->sysctl.v[i].value, err) < 0)
			return hk_err_wrap(err, "linux.sysctl `%s`", k);
	}
	return 0;
}

int rootfs_setup(const struct oci_spec *s, int tty_slave, const char *pts, hk_err **err)
{
	const struct oci_linux *l = s->linux_;
	unsigned long prop = MS_SLAVE | MS_REC;
	char root[PATH_MAX];
	bool have_dev = false;

	if (s->root == NULL || s->root->path == NULL)
		return hk_err_set(err, EINVAL, "root.path: missing");
	snprintf(root, sizeof(root), "%s", s->root->path);
	if (l && l->rootfs_propagation) {
		for (size_t k = 0; k < HK_ARRAY_SIZE(propagation); k++)
			if (strcmp(propagation[k].name, l->rootfs_propagation) == 0)
				prop = propagation[k].flag;
	}
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return hk_err_set(err, errno, "make / %s",
		                  l && l->rootfs_propagation ? l->rootfs_propagation : "rslave");
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hk_err_set(err, errno, "bind the rootfs `%s`", root);
	for (size_t i = 0; i < s->mounts.n; i++) {
		if (strcmp(s->mounts.v[i].destination, "/dev") == 0)
			have_dev = true;
		if (do_mount(root, &s->mounts.v[i], i, pts, err) < 0)
			return -1;
	}
	if (!have_dev) {
		char dev[PATH_MAX + 8];
		snprintf(dev, sizeof(dev), "%s/dev", root);
		if (make_target(dev, false, err) < 0 ||
		    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME,
		          "mode=755,size=65536k") < 0)
			return hk_err_set(err, errno, "/dev");
	}
	if (make_devices(root, s, tty_slave, err) < 0)
		return -1;
	if (pivot(root, err) < 0)
		return -1;
	if (s->hostname && s->hostname[0] && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return hk_err_set(err, errno, "hostname `%s`", s->hostname);
	if (s->domainname && s->domainname[0] &&
	    setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return hk_err_set(err, errno, "domainname `%s`", s->domainname);
	if (set_sysctls(l, err) < 0 || mask_paths(l, err) < 0)
		return -1;
	if (s->root->readonly.set && s->root->readonly.v &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return hk_err_set(err, errno, "root.readonly");
	return 0;
}
