/* A growable text buffer for building JSON messages: printf-style appends
 * and JSON string literals. Allocation failure is sticky and reported once
 * at the end (hk_buf_done), so builders need no error check per append. */
#ifndef HK_BUF_H
#define HK_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

struct hk_buf {
	char *s;
	size_t len, cap;
	bool oom;
};

void hk_buf_printf(struct hk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted, escaped JSON string (NULL becomes null). */
void hk_buf_jstr(struct hk_buf *b, const char *s);
/* Returns 0 with b->s NUL-terminated, or -1 (ENOMEM) and frees it. */
int hk_buf_done(struct hk_buf *b, hk_err **err);
void hk_buf_free(struct hk_buf *b);

#define cleanup_buf __attribute__((cleanup(hk_buf_free)))

#endif
