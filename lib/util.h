/* Small helpers every module needs: whole reads and writes, path joining that
 * cannot escape its root, fd hygiene, number parsing. */
#ifndef HK_UTIL_H
#define HK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* Writes all of buf, retrying short writes and EINTR. err may be NULL. */
int hk_write_all(int fd, const void *buf, size_t len, hk_err **err);

/* Reads until EOF into a NUL-terminated malloced buffer; fails with EFBIG
 * past max bytes so a hostile input cannot exhaust memory. */
int hk_read_all(int fd, size_t max, char **out, size_t *len, hk_err **err);
int hk_read_file(const char *path, size_t max, char **out, size_t *len, hk_err **err);

/* Writes a file atomically: a temporary beside it, fsync, rename. */
int hk_write_file_atomic(const char *path, const void *buf, size_t len, int mode, hk_err **err);

/* Joins rel (absolute or relative) under root, resolving "." and ".."
 * lexically, and refuses a result outside root. Symlinks are not followed:
 * code that opens the result inside a hostile tree must still resolve it
 * beneath root (openat2 RESOLVE_IN_ROOT). */
int hk_path_join(const char *root, const char *rel, char **out, hk_err **err);

/* Lexically normalises an absolute path in place ("//a/./b/../c" → "/a/c");
 * returns -1 when ".." would climb above "/". */
int hk_path_clean(char *path);

int hk_mkdir_p(const char *path, int mode, hk_err **err);

/* A bind mount's target of the source's kind: a directory (0755, an
 * existing one is fine) or an empty file created with file_mode. */
int hk_mount_target(const char *dst, bool dir, int file_mode, hk_err **err);

/* Makes path (a mount's destination in a container) inside the tree at
 * root when it is missing, its parents as directories and itself a
 * directory or an empty file, every step resolved beneath root (openat2
 * RESOLVE_IN_ROOT): the tree is the image's, and its symlinks must not lead
 * out. What exists already is left alone. */
int hk_mkpath_in_root(const char *root, const char *path, bool dir, hk_err **err);

int hk_fd_set_cloexec(int fd, bool on, hk_err **err);

/* Closes every fd >= first except those in keep: engines leak descriptors
 * into runtimes and a VM monitor must not hold them. */
void hk_close_fds_from(int first, const int *keep, size_t nkeep);

/* Moves the calling process into the cgroup directory dir (into its leaf
 * below it when leaf is not NULL). No allocation and no logging, so a child
 * may call it between fork and exec; -1 with errno on failure. */
int hk_cgroup_enter(const char *dir, const char *leaf);

/* Strict decimal parsing: the whole string, no sign surprises, no overflow. */
int hk_parse_u64(const char *s, uint64_t *out);
int hk_parse_i64(const char *s, int64_t *out);

/* Monotonic clock in microseconds. */
uint64_t hk_now_us(void);

/* Where a socket named name for directory dir lives: dir/name, or, when that
 * is too long for a sockaddr_un, HK_SOCK_DIR/HASH/name. */
#define HK_SOCK_DIR "/run/husk-sockets"
int hk_sock_path(const char *dir, const char *name, char *out, size_t len);

#endif
