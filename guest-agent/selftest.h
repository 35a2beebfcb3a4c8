/* The self-tests, each filling why on failure. */
#ifndef HUSK_AGENT_SELFTEST_H
#define HUSK_AGENT_SELFTEST_H

#include <stddef.h>

int selftest_rng(char *why, size_t len);
int selftest_blk(char *why, size_t len);
int selftest_vsock(char *why, size_t len);
int selftest_fs(char *why, size_t len);
int selftest_hostile(char *why, size_t len);

#endif
