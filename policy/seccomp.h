/* The monitor's seccomp allow-lists (DESIGN §7): one per thread kind, kept
 * as data (seccomp_vmm.c) with a reason for each syscall, compiled to BPF
 * once at start with libseccomp and installed by each thread for itself as
 * it starts (lib/thread.h). Anything not on a thread's list kills the whole
 * monitor (SCMP_ACT_KILL_PROCESS): a compromised device model gets no second
 * try, and the runtime sees a monitor dead of SIGSYS. */
#ifndef POL_SECCOMP_H
#define POL_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"
#include "lib/thread.h"

enum pol_cmp {
	POL_ANY,       /* any arguments */
	POL_EQ,        /* argument arg == value */
	POL_MASKED_EQ, /* (argument arg & mask) == value */
};

struct pol_rule {
	const char *name; /* as libseccomp resolves it */
	enum pol_cmp cmp;
	unsigned arg;
	uint64_t mask, value;
	const char *why; /* one line: what needs it */
};

struct pol_table {
	const char *name;
	const struct pol_rule *rules;
	size_t n;
};

/* The tables a thread kind's filter is made of (the shared one first), for
 * the compiler and for tests. */
const struct pol_table *const *pol_seccomp_tables(enum hk_thread_kind kind, size_t *n);

enum pol_seccomp_mode {
	POL_SECCOMP_OFF,  /* --no-seccomp: debugging only */
	POL_SECCOMP_KILL, /* the default: kill the process */
	POL_SECCOMP_LOG,  /* --seccomp-log: allow, but log what would have killed */
};

/* Compiles every kind's filter once; later installs use the result. */
int pol_seccomp_compile(enum pol_seccomp_mode mode, hk_err **err);
/* Puts the calling thread under its kind's filter (sets no_new_privs
 * first, as the kernel requires of an unprivileged caller). A no-op when
 * compiled with POL_SECCOMP_OFF. */
int pol_seccomp_install(enum hk_thread_kind kind, hk_err **err);
/* BPF instructions in a kind's compiled filter (0 when not compiled). */
size_t pol_seccomp_size(enum hk_thread_kind kind);
/* Whether this build can run under the filters at all (see seccomp.c). */
bool pol_seccomp_supported(void);

#endif
