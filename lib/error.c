#include "lib/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* When memory runs out while building a message, the error still has to
 * reach the user: fall back to a static one that is never freed. */
static hk_err oom_err = {ENOMEM, (char *)"out of memory while reporting an error"};

int hk_err_setv(hk_err **err, int code, const char *fmt, va_list ap)
{
	hk_err *e;
	char *msg = NULL, *full = NULL;

	if (err == NULL)
		return -1;
	hk_err_free(err);
	if (vasprintf(&msg, fmt, ap) < 0)
		goto oom;
	if (code != 0) {
		if (asprintf(&full, "%s: %s", msg, strerror(code)) < 0)
			goto oom;
		free(msg);
		msg = full;
	}
	e = malloc(sizeof(*e));
	if (e == NULL)
		goto oom;
	e->code = code;
	e->msg = msg;
	*err = e;
	return -1;
oom:
	free(msg);
	*err = &oom_err;
	return -1;
}

int hk_err_set(hk_err **err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hk_err_setv(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int hk_err_wrap(hk_err **err, const char *fmt, ...)
{
	va_list ap;
	char *ctx = NULL, *msg = NULL;

	if (err == NULL || *err == NULL || *err == &oom_err)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (ctx == NULL || asprintf(&msg, "%s: %s", ctx, (*err)->msg) < 0) {
		free(ctx);
		return -1; /* keep the original message rather than lose it */
	}
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return -1;
}

void hk_err_free(hk_err **err)
{
	if (err == NULL || *err == NULL)
		return;
	if (*err != &oom_err) {
		free((*err)->msg);
		free(*err);
	}
	*err = NULL;
}
