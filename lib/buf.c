#include "lib/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static bool reserve(struct hk_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (s == NULL) {
		b->oom = true;
		return false;
	}
	b->s = s;
	b->cap = cap;
	return true;
}

void hk_buf_printf(struct hk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void hk_buf_jstr(struct hk_buf *b, const char *s)
{
	if (s == NULL) {
		hk_buf_printf(b, "null");
		return;
	}
	hk_buf_printf(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			hk_buf_printf(b, "\\\"");
			break;
		case '\\':
			hk_buf_printf(b, "\\\\");
			break;
		case '\n':
			hk_buf_printf(b, "\\n");
			break;
		case '\t':
			hk_buf_printf(b, "\\t");
			break;
		case '\r':
			hk_buf_printf(b, "\\r");
			break;
		default:
			if (*p < 0x20)
				hk_buf_printf(b, "\\u%04x", *p);
			else if (reserve(b, 1)) {
				b->s[b->len++] = (char)*p;
				b->s[b->len] = '\0';
			}
		}
	}
	hk_buf_printf(b, "\"");
}

int hk_buf_done(struct hk_buf *b, hk_err **err)
{
	if (b->oom || (b->s == NULL && !reserve(b, 0))) {
		hk_buf_free(b);
		return hk_err_set(err, ENOMEM, "building a message");
	}
	return 0;
}

void hk_buf_free(struct hk_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}
