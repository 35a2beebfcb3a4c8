/* A JSON document tree built from yajl's event parser, with the limits a
 * parser of untrusted input needs: nesting depth, string length, node count,
 * no duplicate keys, no NUL bytes in strings, UTF-8 checked by yajl. Numbers
 * stay as their text so 64-bit values survive exactly; the consumer converts
 * with the width it expects. Errors name the JSON path (`process.args[2]`). */
#ifndef HK_JSON_H
#define HK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/error.h"

enum hk_json_type { HJ_NULL, HJ_BOOL, HJ_NUMBER, HJ_STRING, HJ_ARRAY, HJ_OBJECT };

typedef struct hk_json hk_json;
struct hk_json {
	enum hk_json_type type;
	bool b;
	char *s; /* string value, or the number's text */
	size_t len;
	size_t n, cap;
	char **keys;    /* objects: n keys, in document order */
	hk_json **vals; /* objects and arrays: n values */
};

struct hk_json_limits {
	size_t max_depth;
	size_t max_string;
	size_t max_nodes;
};

/* Limits generous for any honest OCI document or agent message. */
extern const struct hk_json_limits hk_json_default_limits;

int hk_json_parse(const char *buf, size_t len, const struct hk_json_limits *lim, hk_json **out,
                  hk_err **err);
void hk_json_free(hk_json *j);
static inline void hk_json_freep(hk_json **j)
{
	hk_json_free(*j);
}
#define cleanup_json __attribute__((cleanup(hk_json_freep)))

/* Member of an object, or NULL. */
const hk_json *hk_json_get(const hk_json *obj, const char *key);
const char *hk_json_type_name(enum hk_json_type t);

/* Writes s as a JSON string literal (quotes, escapes) to f. */
void hk_json_fputs(FILE *f, const char *s);

#endif
