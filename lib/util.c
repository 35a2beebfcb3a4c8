#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <linux/openat2.h>

#include "lib/cleanup.h"

int hk_write_all(int fd, const void *buf, size_t len, hk_err **err)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hk_err_set(err, errno, "write to fd %d", fd);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int hk_read_all(int fd, size_t max, char **out, size_t *len, hk_err **err)
{
	cleanup_free char *buf = NULL;
	size_t cap = 0, used = 0;

	for (;;) {
		if (used + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			if (ncap > max + 2)
				ncap = max + 2;
			char *nbuf = realloc(buf, ncap);
			if (nbuf == NULL)
				return hk_err_set(err, ENOMEM, "read fd %d", fd);
			buf = nbuf;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hk_err_set(err, errno, "read fd %d", fd);
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max)
			return hk_err_set(err, EFBIG, "input larger than %zu bytes", max);
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = hk_steal_ptr(buf);
	return 0;
}

int hk_read_file(const char *path, size_t max, char **out, size_t *len, hk_err **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return hk_err_set(err, errno, "open `%s`", path);
	if (hk_read_all(fd, max, out, len, err) < 0)
		return hk_err_wrap(err, "read `%s`", path);
	return 0;
}

int hk_write_file_atomic(const char *path, const void *buf, size_t len, int mode, hk_err **err)
{
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = -1;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return hk_err_set(err, ENOMEM, "write `%s`", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return hk_err_set(err, errno, "create `%s`", tmp);
	if (hk_write_all(fd, buf, len, err) < 0 || fsync(fd) < 0) {
		if (err && *err == NULL)
			hk_err_set(err, errno, "fsync `%s`", tmp);
		unlink(tmp);
		return hk_err_wrap(err, "write `%s`", path);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return hk_err_set(err, e, "rename `%s` to `%s`", tmp, path);
	}
	return 0;
}

int hk_path_clean(char *path)
{
	char *out = path, *p = path;

	if (*p != '/')
		return -1;
	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out == path)
				return -1; /* would climb above the root */
			while (out > path && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
	return 0;
}

int hk_path_join(const char *root, const char *rel, char **out, hk_err **err)
{
	cleanup_free char *clean = NULL;

	if (root == NULL || *root == '\0')
		return hk_err_set(err, EINVAL, "join `%s`: empty root", rel);
	/* Treat rel as if it were absolute inside root; cleaning it on its own
	 * makes any ".." that would leave root visible. */
	if (asprintf(&clean, "/%s", rel) < 0)
		return hk_err_set(err, ENOMEM, "join `%s`", rel);
	if (hk_path_clean(clean) < 0)
		return hk_err_set(err, EINVAL, "path `%s` escapes `%s`", rel, root);
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	const char *tail = strcmp(clean, "/") == 0 ? "" : clean;
	if (rl == 1 && root[0] == '/')
		rl = 0;
	if (asprintf(out, "%.*s%s", (int)rl, root, rl == 0 && *tail == '\0' ? "/" : tail) < 0)
		return hk_err_set(err, ENOMEM, "join `%s`", rel);
	return 0;
}

int hk_mount_target(const char *dst, bool dir, int file_mode, hk_err **err)
{
	if (dir) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return hk_err_set(err, errno, "mkdir `%s`", dst);
		return 0;
	}
	int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, file_mode);
	if (fd < 0)
		return hk_err_set(err, errno, "create `%s`", dst);
	close(fd);
	return 0;
}

int hk_mkdir_p(const char *path, int mode, hk_err **err)
{
	cleanup_free char *p = strdup(path);

	if (p == NULL)
		return hk_err_set(err, ENOMEM, "mkdir `%s`", path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
				return hk_err_set(err, errno, "mkdir `%s`", p);
			*s = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int hk_fd_set_cloexec(int fd, bool on, hk_err **err)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return hk_err_set(err, errno, "fcntl fd %d", fd);
	fl = on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC;
	if (fcntl(fd, F_SETFD, fl) < 0)
		return hk_err_set(err, errno, "fcntl fd %d", fd);
	return 0;
}

static bool kept(int fd, const int *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

int hk_cgroup_enter(const char *dir, const char *leaf)
{
	char path[PATH_MAX];
	int n = leaf ? snprintf(path, sizeof(path), "%s/%s/cgroup.procs", dir, leaf)
	             : snprintf(path, sizeof(path), "%s/cgroup.procs", dir);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* "0" is the writer itself. */
	int r = write(fd, "0", 1) == 1 ? 0 : -1;
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

void hk_close_fds_from(int first, const int *keep, size_t nkeep)
{
	DIR *d = opendir("/proc/self/fd");

	if (d == NULL) {
		/* No /proc: fall back to the kernel's range close, keeping nothing
		 * past first but what the caller named (rare: tests only). */
		for (int fd = first; fd < 1024; fd++)
			if (!kept(fd, keep, nkeep))
				close(fd);
		return;
	}
	int dfd = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t v;
		if (hk_parse_u64(de->d_name, &v) < 0 || v > INT_MAX)
			continue;
		int fd = (int)v;
		if (fd >= first && fd != dfd && !kept(fd, keep, nkeep))
			close(fd);
	}
	closedir(d);
}

int hk_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int hk_parse_i64(const char *s, int64_t *out)
{
	uint64_t v;
	bool neg = s && *s == '-';

	if (hk_parse_u64(neg ? s + 1 : s, &v) < 0)
		return -1;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

uint64_t hk_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A Unix socket's path holds at most 107 bytes, and engines pick state
 * directories far deeper than that (Docker's runtime root and a 64-character
 * id). A socket that would not fit goes to a short directory named by a hash
 * of the long one, which the binding side makes and delete removes. Room is
 * left for the "_PORT" suffixes of the vsock back end. */
int hk_sock_path(const char *dir, const char *name, char *out, size_t len)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	int n;

	if (strlen(dir) + 1 + strlen(name) + 12 < 108)
		n = snprintf(out, len, "%s/%s", dir, name);
	else {
		for (const char *p = dir; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ULL;
		n = snprintf(out, len, "%s/%016llx/%s", HK_SOCK_DIR, (unsigned long long)h, name);
	}
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
	                       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
}

int hk_mkpath_in_root(const char *root, const char *path, bool dir, hk_err **err)
{
	char buf[PATH_MAX];
	cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return hk_err_set(err, errno, "`%s`", root);
	while (*path == '/')
		path++;
	if (strlen(path) >= sizeof(buf))
		return hk_err_set(err, ENAMETOOLONG, "`%s`", path);
	strcpy(buf, path);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	/* Each prefix in turn: there already, or made in its parent. */
	for (size_t end = 0; end < n;) {
		size_t start = end;
		while (end < n && buf[end] != '/')
			end++;
		char save = buf[end];
		buf[end] = '\0';
		const char *name = buf + start;
		bool last = end == n;
		int fd = open_in_root(rootfd, buf, O_PATH);
		if (fd >= 0) {
			close(fd);
		} else if (errno != ENOENT) {
			return hk_err_set(err, errno, "`%s` in `%s`", buf, root);
		} else if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			if (start > 0)
				buf[start - 1] = '\0';
			cleanup_close int parent =
			        open_in_root(rootfd, start > 0 ? buf : "", O_PATH | O_DIRECTORY);
			if (start > 0)
				buf[start - 1] = '/';
			if (parent < 0)
				return hk_err_set(err, errno, "the parent of `%s` in `%s`", buf,
				                  root);
			int r;
			if (last && !dir) {
				r = openat(parent, name,
				           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				           0644);
				if (r >= 0)
					r = close(r);
			} else
				r = mkdirat(parent, name, 0755);
			if (r < 0 && errno != EEXIST)
				return hk_err_set(err, errno, "create `%s` in `%s`", buf, root);
		}
		buf[end] = save;
		while (end < n && buf[end] == '/')
			end++;
	}
	return 0;
}
