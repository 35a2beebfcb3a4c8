#include "policy/selinux_mcs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/util.h"

/* Enough for dozens of the longest container IDs sharing one level. */
#define OWNERS_MAX   (64u << 10)
#define NAME_MAX_MCS 16 /* "c1022,c1023" */
/* Random draws before the pool counts as nearly full: with 523776 pairs a
 * collision is rare, 64 in a row means most pairs are taken. */
#define RANDOM_TRIES 64

void pol_mcs_format(const struct pol_mcs_pair *p, char *out, size_t len)
{
	snprintf(out, len, "s0:c%u,c%u", p->a, p->b);
}

/* "cN" with no leading zero, so each pair has one spelling and one file. */
static int parse_cat(const char **s, unsigned *out)
{
	const char *p = *s;
	unsigned v = 0;

	if (*p++ != 'c' || *p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v >= POL_MCS_NCATS)
			return -1;
	}
	*out = v;
	*s = p;
	return 0;
}

/* A pool file is named by the level's categories: "c12,c345". */
static int parse_name(const char *name, struct pol_mcs_pair *p)
{
	if (parse_cat(&name, &p->a) < 0 || *name++ != ',' || parse_cat(&name, &p->b) < 0 ||
	    *name != '\0' || p->a >= p->b)
		return -1;
	return 0;
}

static void pair_name(const struct pol_mcs_pair *p, char *out, size_t len)
{
	snprintf(out, len, "c%u,c%u", p->a, p->b);
}

int pol_mcs_parse(const char *level, struct pol_mcs_pair *p)
{
	if (strncmp(level, "s0:", 3) != 0)
		return -1;
	return parse_name(level + 3, p);
}

/* Opens the pool and flocks it (how: LOCK_SH or LOCK_EX), making it when
 * create is set. *out is -1 when there is no pool and create is not set.
 * A pool removed while we waited for the lock (it emptied) is a dead
 * directory: its replacement is opened instead. */
static int pool_lock(const char *dir, int how, bool create, int *out, hk_err **err)
{
	*out = -1;
	for (;;) {
		struct stat st;

		if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
			return hk_err_set(err, errno, "MCS pool `%s`", dir);
		cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			if (create)
				continue; /* emptied and removed between mkdir and open */
			return 0;
		}
		if (fd < 0)
			return hk_err_set(err, errno, "MCS pool `%s`", dir);
		if (flock(fd, how) < 0)
			return hk_err_set(err, errno, "lock MCS pool `%s`", dir);
		if (fstat(fd, &st) < 0)
			return hk_err_set(err, errno, "MCS pool `%s`", dir);
		if (st.st_nlink > 0) {
			*out = hk_steal_fd(&fd);
			return 0;
		}
	}
}

/* Under the exclusive lock nothing is being claimed, so an empty pool can
 * go: a state root holds nothing once its last sandbox is deleted. */
static void remove_if_empty(const char *dir)
{
	rmdir(dir); /* ENOTEMPTY while pairs are held; any other failure only
	             * leaves an empty pool the next claim reuses */
}

/* The owners a pair's file names, one a line: one, or more when an engine
 * gave several sandboxes the same level (a pod); "" when the claim crashed
 * before naming its owner. -1 with errno set when the file cannot be read
 * (ENOENT: the pair is not held). */
static int read_owners(int dfd, const char *name, char **out)
{
	cleanup_close int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len;

	if (fd < 0)
		return -1;
	if (hk_read_all(fd, OWNERS_MAX, out, &len, NULL) < 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* The next line of owners (cut in place), NULL at the end. */
static char *next_owner(char **cursor)
{
	char *line = *cursor;

	if (line == NULL || *line == '\0')
		return NULL;
	char *nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*cursor = nl + 1;
	} else
		*cursor = line + strlen(line);
	return line;
}

static bool has_owner(const char *owners, const char *owner)
{
	size_t n = strlen(owner);

	for (const char *p = owners; (p = strstr(p, owner)) != NULL; p += n)
		if ((p == owners || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* Keeps the owners keep() says of a pair's file, rewritten whole (under
 * the exclusive lock nobody reads it meanwhile) or removed when none is
 * left. *dropped counts the owners let go. */
static int filter_owners(int dfd, const char *dir, const char *name,
                         bool (*keep)(const char *owner, const void *arg), const void *arg,
                         unsigned *dropped, hk_err **err)
{
	cleanup_free char *owners = NULL;
	cleanup_buf struct hk_buf kept = {0};
	char path[PATH_MAX];
	unsigned n = 0;

	*dropped = 0;
	if (read_owners(dfd, name, &owners) < 0)
		return errno == ENOENT ? 0 : hk_err_set(err, errno, "MCS pool `%s`: %s", dir, name);
	char *cursor = owners;
	if (*owners == '\0')
		n = 1; /* a claim that died before naming itself */
	for (char *o; (o = next_owner(&cursor)) != NULL;) {
		if (*o != '\0' && keep(o, arg))
			hk_buf_printf(&kept, "%s\n", o);
		else
			n++;
	}
	if (n == 0)
		return 0;
	if (hk_buf_done(&kept, err) < 0)
		return -1;
	if (kept.len == 0) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return hk_err_set(err, errno, "free MCS pair %s", name);
	} else if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	           hk_write_file_atomic(path, kept.s, kept.len, 0600, err) < 0)
		return hk_err_wrap(err, "MCS pool `%s`", dir);
	*dropped = n;
	return 0;
}

/* Appends "owner\n" in one writev: with O_APPEND a single call on a local
 * file goes in whole, while two writes from siblings sharing the pair could
 * interleave ("sib1sib2\n\n"). */
static int append_owner(int fd, const char *owner)
{
	size_t n = strlen(owner);
	struct iovec iov[2] = {{(void *)owner, n}, {(void *)"\n", 1}};
	ssize_t w;

	do
		w = writev(fd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	if ((size_t)w != n + 1) {
		errno = ENOSPC; /* a regular file is written short only when full */
		return -1;
	}
	return 0;
}

/* 0 when owner now holds p, 1 when its file exists already, -1 on error.
 * O_APPEND: an engine's claim of the same pair may append its owner between
 * our create and our write, and must not be written over. */
static int claim_at(int dfd, const struct pol_mcs_pair *p, const char *owner, hk_err **err)
{
	char name[NAME_MAX_MCS];

	pair_name(p, name, sizeof(name));
	cleanup_close int fd = openat(
	        dfd, name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == EEXIST ? 1 : hk_err_set(err, errno, "claim MCS pair %s", name);
	if (append_owner(fd, owner) < 0) {
		int e = errno;
		unlinkat(dfd, name, 0);
		return hk_err_set(err, e, "claim MCS pair %s", name);
	}
	return 0;
}

static int random_pair(unsigned ncats, struct pol_mcs_pair *p, hk_err **err)
{
	uint32_t r;

	do {
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			if (errno == EINTR)
				continue;
			return hk_err_set(err, errno, "getrandom");
		}
		/* 1024 divides 65536: no modulo bias for the real pool. */
		p->a = (r & 0xffff) % ncats;
		p->b = (r >> 16) % ncats;
	} while (p->a == p->b);
	if (p->a > p->b) {
		unsigned t = p->a;
		p->a = p->b;
		p->b = t;
	}
	return 0;
}

/* Every pair in turn, from a random first category: finds the last free
 * pair of a nearly full pool, which random draws might miss. */
static int claim_any(int dfd, unsigned ncats, const char *owner, struct pol_mcs_pair *out,
                     hk_err **err)
{
	struct pol_mcs_pair start;

	if (random_pair(ncats, &start, err) < 0)
		return -1;
	for (unsigned i = 0; i < ncats; i++) {
		out->a = (start.a + i) % ncats;
		for (out->b = out->a + 1; out->b < ncats; out->b++) {
			int r = claim_at(dfd, out, owner, err);
			if (r <= 0)
				return r;
		}
	}
	return 1;
}

int pol_mcs_alloc(const struct pol_mcs_pool *pool, const char *owner, struct pol_mcs_pair *out,
                  hk_err **err)
{
	unsigned ncats = pool->ncats ? pool->ncats : POL_MCS_NCATS;
	cleanup_close int dfd = -1;

	if (ncats < 2 || ncats > POL_MCS_NCATS)
		return hk_err_set(err, EINVAL, "MCS pool of %u categories", ncats);
	if (pool_lock(pool->dir, LOCK_SH, true, &dfd, err) < 0)
		return -1;
	for (int i = 0; i < RANDOM_TRIES; i++) {
		if (random_pair(ncats, out, err) < 0)
			return -1;
		int r = claim_at(dfd, out, owner, err);
		if (r <= 0)
			return r;
	}
	/* Nearly full: take back what crashed sandboxes left (that needs the
	 * lock exclusive, so ours goes first), then try every pair. */
	close(hk_steal_fd(&dfd));
	if (pol_mcs_reclaim(pool, NULL, err) < 0 ||
	    pool_lock(pool->dir, LOCK_SH, true, &dfd, err) < 0)
		return -1;
	int r = claim_any(dfd, ncats, owner, out, err);
	if (r <= 0)
		return r;
	return hk_err_set(err, EBUSY, "all %u MCS category pairs are in use",
	                  ncats * (ncats - 1) / 2);
}

int pol_mcs_claim(const struct pol_mcs_pool *pool, const char *owner, const struct pol_mcs_pair *p,
                  hk_err **err)
{
	cleanup_close int dfd = -1, fd = -1;
	cleanup_free char *owners = NULL;
	char name[NAME_MAX_MCS];

	if (p->a >= p->b || p->b >= POL_MCS_NCATS)
		return hk_err_set(err, EINVAL, "MCS pair c%u,c%u", p->a, p->b);
	if (pool_lock(pool->dir, LOCK_SH, true, &dfd, err) < 0)
		return -1;
	int r = claim_at(dfd, p, owner, err);
	if (r != 1)
		return r;
	/* Held already: owner joins the holders (a line appended with
	 * O_APPEND goes in whole beside a sibling's), so the pair stays taken
	 * until the last of them is deleted. */
	pair_name(p, name, sizeof(name));
	if (read_owners(dfd, name, &owners) == 0 && has_owner(owners, owner))
		return 1;
	fd = openat(dfd, name, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || append_owner(fd, owner) < 0)
		return hk_err_set(err, errno, "share MCS pair %s", name);
	return 1;
}

static bool not_this(const char *owner, const void *arg)
{
	return strcmp(owner, arg) != 0;
}

int pol_mcs_free(const struct pol_mcs_pool *pool, const char *owner, const struct pol_mcs_pair *p,
                 hk_err **err)
{
	cleanup_close int dfd = -1;
	char name[NAME_MAX_MCS];
	unsigned n;

	if (pool_lock(pool->dir, LOCK_EX, false, &dfd, err) < 0)
		return -1;
	if (dfd < 0)
		return 0;
	pair_name(p, name, sizeof(name));
	if (filter_owners(dfd, pool->dir, name, not_this, owner, &n, err) < 0)
		return -1;
	remove_if_empty(pool->dir);
	return 0;
}

static bool still_alive(const char *owner, const void *arg)
{
	const struct pol_mcs_pool *pool = arg;
	return pool->alive == NULL || pool->alive(owner, pool->arg);
}

/* What a rewrite that crashed left: "c1,c2.tmp.PID" (hk_write_file_atomic). */
static bool leftover(const char *name)
{
	char pair[NAME_MAX_MCS];
	struct pol_mcs_pair p;
	const char *t = strstr(name, ".tmp.");

	if (t == NULL || (size_t)(t - name) >= sizeof(pair))
		return false;
	snprintf(pair, sizeof(pair), "%.*s", (int)(t - name), name);
	return parse_name(pair, &p) == 0;
}

int pol_mcs_reclaim(const struct pol_mcs_pool *pool, unsigned *freed, hk_err **err)
{
	cleanup_close int dfd = -1;
	struct pol_mcs_pair p;
	unsigned n = 0;

	if (freed)
		*freed = 0;
	if (pool_lock(pool->dir, LOCK_EX, false, &dfd, err) < 0)
		return -1;
	if (dfd < 0)
		return 0;
	int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (d == NULL) {
		int e = errno;
		if (dup_fd >= 0)
			close(dup_fd);
		return hk_err_set(err, e, "MCS pool `%s`", pool->dir);
	}
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		unsigned k = 0;
		/* Under the exclusive lock nothing is half done: what is
		 * there was left by a process that died. */
		if (leftover(de->d_name)) {
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (parse_name(de->d_name, &p) < 0)
			continue; /* not a pair: not ours to remove */
		if (filter_owners(dfd, pool->dir, de->d_name, still_alive, pool, &k, err) < 0) {
			closedir(d);
			return -1;
		}
		n += k;
	}
	closedir(d);
	remove_if_empty(pool->dir);
	if (freed)
		*freed = n;
	return 0;
}
