/* A tiny TAP producer for the unit tests: `ok N - name` lines, a plan at the
 * end, exit status 1 if anything failed. Tests that cannot run here return
 * 77 through SKIP with a reason. */
#ifndef HK_TAP_H
#define HK_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                             \
			printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                \
			       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                            \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define RUN_TEST(fn)                                                                               \
	do {                                                                                       \
		int r_ = fn();                                                                     \
		tap_n++;                                                                           \
		if (r_ == 77)                                                                      \
			printf("ok %d - %s # SKIP\n", tap_n, #fn);                                 \
		else if (r_ == 0)                                                                  \
			printf("ok %d - %s\n", tap_n, #fn);                                        \
		else {                                                                             \
			printf("not ok %d - %s\n", tap_n, #fn);                                    \
			tap_failed++;                                                              \
		}                                                                                  \
	} while (0)

#define TAP_DONE()                                                                                 \
	do {                                                                                       \
		printf("1..%d\n", tap_n);                                                          \
		return tap_failed ? 1 : 0;                                                         \
	} while (0)

/* The checkout, for fixtures: set by `make unit`, else the current directory. */
static inline const char *tap_src(void)
{
	const char *s = getenv("HUSK_SRC");
	return s ? s : ".";
}

#endif
