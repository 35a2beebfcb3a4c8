#include "lib/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "lib/cleanup.h"

const struct hk_json_limits hk_json_default_limits = {
        .max_depth = 64,
        .max_string = 1 << 20,
        .max_nodes = 1 << 20,
};

struct builder {
	const struct hk_json_limits *lim;
	hk_json *root;
	hk_json **stack; /* open containers */
	size_t depth;
	char *pending_key;
	size_t nodes;
	hk_err *err;
};

const char *hk_json_type_name(enum hk_json_type t)
{
	static const char *const names[] = {"null",   "boolean", "number",
	                                    "string", "array",   "object"};
	return names[t];
}

void hk_json_free(hk_json *j)
{
	if (j == NULL)
		return;
	/* Iterative would be safer, but depth is bounded by max_depth. */
	for (size_t i = 0; i < j->n; i++) {
		if (j->keys)
			free(j->keys[i]);
		hk_json_free(j->vals[i]);
	}
	free(j->keys);
	free(j->vals);
	free(j->s);
	free(j);
}

/* RFC 8259 escaping; bytes >= 0x80 pass through (the input is UTF-8). */
void hk_json_fputs(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

const hk_json *hk_json_get(const hk_json *obj, const char *key)
{
	if (obj == NULL || obj->type != HJ_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->vals[i];
	return NULL;
}

/* The path of the value being parsed now, for error messages. */
static char *builder_path(const struct builder *b)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < b->depth; i++) {
		const hk_json *c = b->stack[i];
		if (c->type == HJ_ARRAY) {
			/* Inner arrays already hold the open child; the innermost
			 * one is about to receive element n. */
			fprintf(f, "[%zu]", i + 1 < b->depth ? c->n - 1 : c->n);
		} else {
			const char *k = i + 1 < b->depth ? c->keys[c->n - 1] : b->pending_key;
			if (k == NULL)
				break;
			fprintf(f, "%s%s", ftell(f) ? "." : "", k);
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int fail(struct builder *b, const char *why)
{
	cleanup_free char *path = builder_path(b);

	if (b->err == NULL)
		hk_err_set(&b->err, 0, "%s: %s", path && *path ? path : "(document)", why);
	return 0; /* tells yajl to stop */
}

static int add(struct builder *b, hk_json *v)
{
	if (v == NULL)
		return fail(b, "out of memory");
	if (++b->nodes > b->lim->max_nodes) {
		hk_json_free(v);
		return fail(b, "too many values");
	}
	if (b->depth == 0) {
		b->root = v;
		return 1;
	}
	hk_json *c = b->stack[b->depth - 1];
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 4;
		hk_json **nv = realloc(c->vals, ncap * sizeof(*nv));
		if (nv == NULL) {
			hk_json_free(v);
			return fail(b, "out of memory");
		}
		c->vals = nv;
		if (c->type == HJ_OBJECT) {
			char **nk = realloc(c->keys, ncap * sizeof(*nk));
			if (nk == NULL) {
				hk_json_free(v);
				return fail(b, "out of memory");
			}
			c->keys = nk;
		}
		c->cap = ncap;
	}
	if (c->type == HJ_OBJECT)
		c->keys[c->n] = hk_steal_ptr(b->pending_key);
	c->vals[c->n++] = v;
	return 1;
}

static hk_json *node(enum hk_json_type t)
{
	hk_json *j = calloc(1, sizeof(*j));
	if (j)
		j->type = t;
	return j;
}

static int on_null(void *ctx)
{
	return add(ctx, node(HJ_NULL));
}

static int on_bool(void *ctx, int v)
{
	hk_json *j = node(HJ_BOOL);
	if (j)
		j->b = v != 0;
	return add(ctx, j);
}

static int text_node(struct builder *b, enum hk_json_type t, const unsigned char *s, size_t len)
{
	if (len > b->lim->max_string)
		return fail(b, "string too long");
	if (memchr(s, '\0', len))
		return fail(b, "string contains a NUL character");
	hk_json *j = node(t);
	if (j == NULL || (j->s = strndup((const char *)s, len)) == NULL) {
		free(j);
		return fail(b, "out of memory");
	}
	j->len = len;
	return add(b, j);
}

static int on_number(void *ctx, const char *s, size_t len)
{
	return text_node(ctx, HJ_NUMBER, (const unsigned char *)s, len);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	return text_node(ctx, HJ_STRING, s, len);
}

static int open_container(struct builder *b, enum hk_json_type t)
{
	if (b->depth >= b->lim->max_depth)
		return fail(b, "nested too deeply");
	hk_json *j = node(t);
	if (!add(b, j))
		return 0;
	b->stack[b->depth++] = j;
	return 1;
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, HJ_OBJECT);
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, HJ_ARRAY);
}

static int on_end(void *ctx)
{
	struct builder *b = ctx;
	b->depth--;
	return 1;
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;
	hk_json *c = b->stack[b->depth - 1];

	if (len > b->lim->max_string)
		return fail(b, "key too long");
	if (memchr(s, '\0', len))
		return fail(b, "key contains a NUL character");
	free(b->pending_key);
	b->pending_key = strndup((const char *)s, len);
	if (b->pending_key == NULL)
		return fail(b, "out of memory");
	/* Duplicate keys make a document mean different things to different
	 * parsers; refuse them rather than pick one. */
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->keys[i], b->pending_key) == 0)
			return fail(b, "duplicate key");
	return 1;
}

static const yajl_callbacks callbacks = {
        .yajl_null = on_null,
        .yajl_boolean = on_bool,
        .yajl_number = on_number,
        .yajl_string = on_string,
        .yajl_start_map = on_start_map,
        .yajl_map_key = on_key,
        .yajl_end_map = on_end,
        .yajl_start_array = on_start_array,
        .yajl_end_array = on_end,
};

int hk_json_parse(const char *buf, size_t len, const struct hk_json_limits *lim, hk_json **out,
                  hk_err **err)
{
	struct builder b = {.lim = lim ? lim : &hk_json_default_limits};
	yajl_handle h;
	yajl_status st;

	b.stack = calloc(b.lim->max_depth + 1, sizeof(*b.stack));
	if (b.stack == NULL)
		return hk_err_set(err, ENOMEM, "parse JSON");
	h = yajl_alloc(&callbacks, NULL, &b);
	if (h == NULL) {
		free(b.stack);
		return hk_err_set(err, ENOMEM, "parse JSON");
	}
	st = yajl_parse(h, (const unsigned char *)buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st != yajl_status_ok && b.err == NULL) {
		unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)buf, len);
		char *m = (char *)msg;
		size_t ml = m ? strlen(m) : 0;
		while (ml > 0 && (m[ml - 1] == '\n' || m[ml - 1] == ' '))
			m[--ml] = '\0';
		cleanup_free char *path = builder_path(&b);
		hk_err_set(&b.err, 0, "%s: invalid JSON at byte %zu: %s",
		           path && *path ? path : "(document)", yajl_get_bytes_consumed(h),
		           m ? m : "parse error");
		yajl_free_error(h, msg);
	}
	yajl_free(h);
	free(b.stack);
	free(b.pending_key);
	if (b.err) {
		hk_json_free(b.root);
		*err = b.err;
		return -1;
	}
	*out = b.root;
	return 0;
}
