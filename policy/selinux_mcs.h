/* sVirt's MCS category pairs (DESIGN §7): every sandbox gets a level
 * s0:cA,cB with A < B drawn from c0..c1023, which no other running sandbox
 * holds, so the MCS constraints of policy/husk.cil keep one VM's monitor
 * away from another VM's files even though both run as husk_vm_t.
 *
 * A pool is a directory with one file per pair in use ("c12,c345"), which
 * holds its owner's name (the container ID), or its owners', one a line,
 * when an engine gave several sandboxes one level. Claiming a pair is creating its
 * file with O_EXCL: the file system decides between concurrent creates, no
 * daemon and no shared table to rewrite. An flock on the directory guards
 * the one step O_EXCL cannot: reclaiming a stale pair means reading its
 * owner and unlinking it, which must not interleave with a claim, so claims
 * hold the lock shared (they run in parallel) and reclaim, free and the
 * removal of an empty pool hold it exclusive. The owner's record is the
 * truth: a pair whose owner is no longer alive (its create crashed, or its
 * delete did not finish) is stale and reclaimed. */
#ifndef POL_SELINUX_MCS_H
#define POL_SELINUX_MCS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define POL_MCS_NCATS 1024 /* c0..c1023, the categories every MCS policy declares */

struct pol_mcs_pair {
	unsigned a, b; /* a < b < POL_MCS_NCATS */
};

struct pol_mcs_pool {
	const char *dir; /* made on the first claim, removed when its last pair goes */
	/* Whether owner still exists; a pair of an owner that does not is
	 * reclaimed. NULL: every owner is alive. */
	bool (*alive)(const char *owner, void *arg);
	void *arg;
	unsigned ncats; /* categories to draw from; 0 is all 1024 (tests narrow it) */
};

/* "s0:c12,c345" (POL_MCS_LEVEL_MAX bytes at most, with the NUL). */
#define POL_MCS_LEVEL_MAX 16
void pol_mcs_format(const struct pol_mcs_pair *p, char *out, size_t len);
/* Accepts exactly "s0:cA,cB" with A < B < 1024; -1 otherwise. */
int pol_mcs_parse(const char *level, struct pol_mcs_pair *p);

/* Claims a random free pair for owner (getrandom, retried on a collision;
 * when the pool looks full, stale pairs are reclaimed and every pair is
 * tried in turn). EBUSY when all are held. */
int pol_mcs_alloc(const struct pol_mcs_pool *pool, const char *owner, struct pol_mcs_pair *out,
                  hk_err **err);

/* Claims a given pair (an engine chose it). Returns 0 when it was free, 1
 * when it was held already: owner joins its holders (containers of one pod
 * share their level; the pair stays taken until the last of them frees
 * it). -1 on error. */
int pol_mcs_claim(const struct pol_mcs_pool *pool, const char *owner, const struct pol_mcs_pair *p,
                  hk_err **err);

/* Lets owner go of p, which is free once no owner holds it (a pair others
 * hold is left to them, so a forged record cannot free someone else's
 * pair); nothing to free is success. */
int pol_mcs_free(const struct pol_mcs_pool *pool, const char *owner, const struct pol_mcs_pair *p,
                 hk_err **err);

/* Lets go of every owner that is not alive, and of claims that crashed
 * before naming their owner; pairs left with no owner are free. *freed (may
 * be NULL) counts the owners let go. */
int pol_mcs_reclaim(const struct pol_mcs_pool *pool, unsigned *freed, hk_err **err);

#endif
