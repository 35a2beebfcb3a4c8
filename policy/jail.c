/* The jailer's steps, each a small function with its own error, run in
 * the order of DESIGN §7 by pol_jail_enter. */
#include "policy/jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/util.h"

/* The jail's own root: a tmpfs so nothing of the host directory's
 * contents (or what a later monitor left there) is inside; a handful of
 * mount points, nothing more. */
#define JAIL_TMPFS_OPTS "mode=0755,size=64k,nr_inodes=64"

int pol_jail_add_bind(struct pol_jail *j, const char *path, const char *why, hk_err **err)
{
	if (j->nbinds == POL_JAIL_MAX_BINDS)
		return hk_err_set(err, E2BIG, "jail: more than %d paths", POL_JAIL_MAX_BINDS);
	if (path == NULL || path[0] != '/')
		return hk_err_set(err, EINVAL, "jail: `%s` is not an absolute path",
		                  path ? path : "");
	j->binds[j->nbinds++] = (struct pol_jail_bind){path, why};
	return 0;
}

int pol_jail_check(const struct pol_jail *j, hk_err **err)
{
	struct stat st;

	if (j->dir == NULL)
		return 0;
	if (j->dir[0] != '/')
		return hk_err_set(err, EINVAL, "--jail `%s`: want an absolute path", j->dir);
	if (stat(j->dir, &st) < 0)
		return hk_err_set(err, errno, "--jail `%s`", j->dir);
	if (!S_ISDIR(st.st_mode))
		return hk_err_set(err, ENOTDIR, "--jail `%s`", j->dir);
	cleanup_close int fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL)
		return hk_err_set(err, errno, "--jail `%s`", j->dir);
	fd = -1; /* the DIR has it */
	int entries = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			entries++;
	closedir(d);
	if (entries)
		return hk_err_set(err, ENOTEMPTY, "--jail `%s`: want an empty directory", j->dir);
	if (strcmp(j->dir, "/") == 0)
		return hk_err_set(err, EINVAL, "--jail /: want a directory of its own");
	return 0;
}

/* No core dump: it would hold guest memory. A bounded descriptor table. */
static int step_rlimits(hk_err **err)
{
	struct rlimit core = {0, 0}, nofile;

	if (setrlimit(RLIMIT_CORE, &core) < 0)
		return hk_err_set(err, errno, "RLIMIT_CORE");
	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return hk_err_set(err, errno, "RLIMIT_NOFILE");
	if (nofile.rlim_max > POL_JAIL_NOFILE)
		nofile.rlim_max = POL_JAIL_NOFILE;
	nofile.rlim_cur = nofile.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return hk_err_set(err, errno, "RLIMIT_NOFILE %llu",
		                  (unsigned long long)nofile.rlim_max);
	return 0;
}

/* A mount namespace of the monitor's own: what it mounts and detaches
 * from here is seen by no other process (virtiofsd keeps the one it
 * started in). */
static int step_mount_ns(hk_err **err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return hk_err_set(err, errno, "unshare the mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return hk_err_set(err, errno, "make mounts private");
	return 0;
}

/* path (absolute) under the jail root: created like src, bound read-only.
 * Sockets stay connectable on a read-only mount; nothing else is written. */
static int bind_one(const struct pol_jail *j, const struct pol_jail_bind *b, hk_err **err)
{
	const char *root = j->dir;
	char dst[PATH_MAX];
	struct stat st;

	if (stat(b->path, &st) < 0)
		return hk_err_set(err, errno, "`%s` (%s)", b->path, b->why);
	if (snprintf(dst, sizeof(dst), "%s%s", root, b->path) >= (int)sizeof(dst))
		return hk_err_set(err, ENAMETOOLONG, "`%s`", b->path);
	char *slash = strrchr(dst, '/');
	*slash = '\0';
	if (hk_mkdir_p(dst, 0755, err) < 0)
		return hk_err_wrap(err, "`%s`", b->path);
	*slash = '/';
	if (hk_mount_target(dst, S_ISDIR(st.st_mode), 0600, err) < 0)
		return -1;
	/* connect() wants write permission on a socket: the uid the monitor
	 * becomes gets it on the sockets it is given, and only those. */
	if (j->drop_ids && S_ISSOCK(st.st_mode) && chown(b->path, j->uid, j->gid) < 0)
		return hk_err_set(err, errno, "chown `%s` to %u:%u", b->path, (unsigned)j->uid,
		                  (unsigned)j->gid);
	unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(b->path, dst, NULL, MS_BIND, NULL) < 0)
		return hk_err_set(err, errno, "bind `%s` (%s)", b->path, b->why);
	if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | ro, NULL) < 0)
		return hk_err_set(err, errno, "read-only `%s`", b->path);
	return 0;
}

/* The jail's contents: a fresh tmpfs over the directory, the bound paths,
 * and /proc when asked. */
static int step_populate(const struct pol_jail *j, hk_err **err)
{
	char proc[PATH_MAX];

	if (mount("husk-jail", j->dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, JAIL_TMPFS_OPTS) <
	    0)
		return hk_err_set(err, errno, "mount a tmpfs on `%s`", j->dir);
	for (unsigned i = 0; i < j->nbinds; i++)
		if (bind_one(j, &j->binds[i], err) < 0)
			return -1;
	if (j->proc) {
		snprintf(proc, sizeof(proc), "%s/proc", j->dir);
		if (mkdir(proc, 0555) < 0 ||
		    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			return hk_err_set(err, errno, "mount /proc in the jail");
	}
	return 0;
}

/* pivot_root(".", ".") stacks the old root under the new one; detaching
 * it leaves the jail as all there is. The root is then made read-only. */
static int step_pivot(const struct pol_jail *j, hk_err **err)
{
	if (chdir(j->dir) < 0)
		return hk_err_set(err, errno, "chdir `%s`", j->dir);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return hk_err_set(err, errno, "pivot_root into `%s`", j->dir);
	if (umount2(".", MNT_DETACH) < 0)
		return hk_err_set(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return hk_err_set(err, errno, "chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          JAIL_TMPFS_OPTS) < 0)
		return hk_err_set(err, errno, "make the jail's root read-only");
	return 0;
}

/* Keeps the permitted set across the uid change so the next step can still
 * empty the bounding set (which takes CAP_SETPCAP). */
static int step_ids(const struct pol_jail *j, hk_err **err)
{
	if (setgroups(0, NULL) < 0)
		return hk_err_set(err, errno, "drop supplementary groups");
	if (setresgid(j->gid, j->gid, j->gid) < 0)
		return hk_err_set(err, errno, "gid %u", (unsigned)j->gid);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hk_err_set(err, errno, "keep capabilities across setuid");
	if (setresuid(j->uid, j->uid, j->uid) < 0)
		return hk_err_set(err, errno, "uid %u", (unsigned)j->uid);
	return 0;
}

static void cap_freep(cap_t *c)
{
	if (*c)
		cap_free(*c);
}

/* Every capability set emptied: bounding, ambient, inheritable, permitted,
 * effective. With keep_nice, CAP_SYS_NICE stays (bounding, permitted,
 * effective): the vCPU threads set their own priority after this. */
static int step_caps(const struct pol_jail *j, hk_err **err)
{
	__attribute__((cleanup(cap_freep))) cap_t c = cap_get_proc();
	const cap_value_t setpcap = CAP_SETPCAP, nice = CAP_SYS_NICE;
	cap_flag_value_t had_nice = CAP_CLEAR;

	if (c == NULL)
		return hk_err_set(err, errno, "read capabilities");
	/* Kept only if held: a priority the monitor may not take is refused
	 * later, by the vCPU thread, with its own reason. */
	bool keep_nice = j->keep_nice &&
	                 cap_get_flag(c, CAP_SYS_NICE, CAP_PERMITTED, &had_nice) == 0 &&
	                 had_nice == CAP_SET;
	/* CAP_SETPCAP effective (kept permitted across a uid change) to drop
	 * from the bounding set; a monitor started without it (an ordinary
	 * user in the kvm group) has no bounding set worth the name to drop. */
	cap_flag_value_t had_setpcap = CAP_CLEAR;
	if (cap_get_flag(c, CAP_SETPCAP, CAP_PERMITTED, &had_setpcap) == 0 &&
	    had_setpcap == CAP_SET) {
		if (cap_set_flag(c, CAP_EFFECTIVE, 1, &setpcap, CAP_SET) < 0 || cap_set_proc(c) < 0)
			return hk_err_set(err, errno, "raise CAP_SETPCAP");
		for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++) {
			if (keep_nice && v == CAP_SYS_NICE)
				continue;
			if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL)
				return hk_err_set(err, errno,
				                  "drop capability %d from the bounding set",
				                  (int)v);
		}
	}
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return hk_err_set(err, errno, "clear the ambient set");
	if (cap_clear(c) < 0)
		return hk_err_set(err, errno, "clear capabilities");
	if (keep_nice && (cap_set_flag(c, CAP_PERMITTED, 1, &nice, CAP_SET) < 0 ||
	                  cap_set_flag(c, CAP_EFFECTIVE, 1, &nice, CAP_SET) < 0))
		return hk_err_set(err, errno, "keep CAP_SYS_NICE");
	if (cap_set_proc(c) < 0)
		return hk_err_set(err, errno, "drop capabilities");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hk_err_set(err, errno, "PR_SET_KEEPCAPS");
	return 0;
}

static int step_nnp(hk_err **err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hk_err_set(err, errno, "no_new_privs");
	return 0;
}

int pol_jail_enter(const struct pol_jail *j, hk_err **err)
{
	if (step_rlimits(err) < 0)
		return hk_err_wrap(err, "jail: rlimits");
	if (j->dir) {
		if (step_mount_ns(err) < 0 || step_populate(j, err) < 0 || step_pivot(j, err) < 0)
			return hk_err_wrap(err, "jail: new root");
	}
	if (j->drop_ids && step_ids(j, err) < 0)
		return hk_err_wrap(err, "jail: ids");
	if (step_caps(j, err) < 0)
		return hk_err_wrap(err, "jail: capabilities");
	if (step_nnp(err) < 0)
		return hk_err_wrap(err, "jail");
	return 0;
}
