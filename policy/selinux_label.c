#include "policy/selinux_label.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"

#define XATTR_NAME_SELINUX "security.selinux"
#define SELINUX_ENFORCE    "/sys/fs/selinux/enforce"
#define ATTR_EXEC          "/proc/thread-self/attr/exec"

/* What an MLS level is made of ("s0-s0:c0.c1023", "s0:c1,c2"): anything
 * else would be a way to smuggle text into a context. */
static bool level_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(":,.-_", *s)))
			return false;
	return true;
}

int pol_selinux_level(const char *context, char *out, size_t len, hk_err **err)
{
	const char *p = context;

	/* user, role and type: three non-empty fields before the level. */
	for (int f = 0; f < 3; f++) {
		const char *colon = strchr(p, ':');
		if (colon == p)
			return hk_err_set(err, EINVAL, "SELinux label `%.64s`: empty field",
			                  context);
		if (colon == NULL) {
			if (f == 2 && *p) {
				out[0] = '\0';
				return 0; /* user:role:type, no MLS */
			}
			return hk_err_set(err, EINVAL,
			                  "SELinux label `%.64s`: want user:role:type:level",
			                  context);
		}
		p = colon + 1;
	}
	if (!level_ok(p))
		return hk_err_set(err, EINVAL, "SELinux label `%.64s`: bad level", context);
	if (strlen(p) >= len || strlen(p) >= POL_SELINUX_LEVEL_MAX)
		return hk_err_set(err, ENAMETOOLONG, "SELinux label `%.64s`: level too long",
		                  context);
	strcpy(out, p);
	return 1;
}

int pol_selinux_labels(const char *exec_level, const char *file_level, struct pol_selinux_labels *l,
                       hk_err **err)
{
	const char *lv[] = {exec_level, file_level};

	for (size_t i = 0; i < HK_ARRAY_SIZE(lv); i++)
		if (!level_ok(lv[i]) || strlen(lv[i]) >= POL_SELINUX_LEVEL_MAX)
			return hk_err_set(err, EINVAL, "MCS level `%.64s`", lv[i]);
	snprintf(l->exec, sizeof(l->exec), "%s%s", POL_SELINUX_EXEC_PREFIX, exec_level);
	snprintf(l->file, sizeof(l->file), "%s%s", POL_SELINUX_FILE_PREFIX, file_level);
	return 0;
}

bool pol_selinux_enabled(void)
{
	return access(SELINUX_ENFORCE, F_OK) == 0;
}

int pol_selinux_set_exec(const char *label)
{
	int fd = open(ATTR_EXEC, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = strlen(label);
	ssize_t w = write(fd, label, n);
	int e = errno;
	close(fd);
	if (w != (ssize_t)n) {
		errno = w < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

/* nftw has no argument for its callback; husk relabels from one thread at
 * a time, and thread-local state keeps even that honest. */
static _Thread_local const char *relabel_to;
static _Thread_local int relabel_errno;
static _Thread_local char relabel_failed[256];

static int set_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	/* The kernel takes the context with its NUL, as setfilecon sends it. */
	if (lsetxattr(path, XATTR_NAME_SELINUX, relabel_to, strlen(relabel_to) + 1, 0) == 0)
		return 0;
	relabel_errno = errno;
	snprintf(relabel_failed, sizeof(relabel_failed), "%s", path);
	return 1;
}

int pol_selinux_relabel(const char *path, const char *label, bool recursive, hk_err **err)
{
	relabel_to = label;
	relabel_errno = 0;
	if (!recursive) {
		if (lsetxattr(path, XATTR_NAME_SELINUX, label, strlen(label) + 1, 0) < 0)
			return hk_err_set(err, errno, "label `%s` %s", path, label);
		return 0;
	}
	/* FTW_PHYS: a symlink in a rootfs is labelled, never followed out of
	 * it; FTW_MOUNT: what is mounted below is not ours to relabel. */
	int r = nftw(path, set_one, 32, FTW_PHYS | FTW_MOUNT);
	if (r < 0)
		return hk_err_set(err, errno, "label `%s`", path);
	if (r > 0)
		return hk_err_set(err, relabel_errno, "label `%s` %s", relabel_failed, label);
	return 0;
}
