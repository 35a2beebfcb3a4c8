/* Errors carried up the stack: a code (an errno value, or 0) and a message
 * that each caller may prefix with its own context. Only cmd/ prints them. */
#ifndef HK_ERROR_H
#define HK_ERROR_H

#include <stdarg.h>

typedef struct hk_err {
	int code;  /* errno value behind the failure, 0 when none */
	char *msg; /* "context: context: cause[: strerror]" */
} hk_err;

/* Sets *err (which must be NULL) and returns -1 so callers can
 * `return hk_err_set (err, errno, "open `%s`", p);`. A non-zero code appends
 * its strerror text. */
int hk_err_set(hk_err **err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int hk_err_setv(hk_err **err, int code, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

/* Prefixes the message of an existing error with context; returns -1. */
int hk_err_wrap(hk_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void hk_err_free(hk_err **err);

#endif
