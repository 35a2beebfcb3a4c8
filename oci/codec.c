/* The generic codec: walks a type table (oci/codec.h) over a JSON tree to
 * fill a struct, over a struct to write JSON, and to free it. Validation
 * lives here too, so every document gets the same checks and the same
 * error shape: "<json path>: <reason>". */
#include "oci/codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/util.h"

/* The JSON path of the value at hand, grown and shrunk as the walk goes. */
struct path {
	char buf[256];
	size_t len;
};

static size_t path_key(struct path *p, const char *key)
{
	size_t old = p->len;
	int n = snprintf(p->buf + p->len, sizeof(p->buf) - p->len, "%s%.64s", p->len ? "." : "",
	                 key);
	if (n > 0)
		p->len = p->len + (size_t)n < sizeof(p->buf) ? p->len + (size_t)n
		                                             : sizeof(p->buf) - 1;
	return old;
}

static size_t path_index(struct path *p, size_t i)
{
	size_t old = p->len;
	int n = snprintf(p->buf + p->len, sizeof(p->buf) - p->len, "[%zu]", i);
	if (n > 0)
		p->len = p->len + (size_t)n < sizeof(p->buf) ? p->len + (size_t)n
		                                             : sizeof(p->buf) - 1;
	return old;
}

static void path_pop(struct path *p, size_t old)
{
	p->len = old;
	p->buf[old] = '\0';
}

__attribute__((format(printf, 3, 4))) static int bad(const struct path *p, hk_err **err,
                                                     const char *fmt, ...)
{
	cleanup_free char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	return hk_err_set(err, 0, "%s: %s", p->len ? p->buf : "(document)",
	                  why ? why : "invalid value");
}

static int want(const struct path *p, const hk_json *j, enum hk_json_type t, hk_err **err)
{
	if (j->type != t)
		return bad(p, err, "expected %s %s, got %s",
		           t == HJ_ARRAY || t == HJ_OBJECT ? "an" : "a", hk_json_type_name(t),
		           hk_json_type_name(j->type));
	return 0;
}

static int decode_struct(const struct oci_type *t, const hk_json *j, void *obj, struct path *p,
                         hk_err **err);

static int decode_str(const struct oci_field *f, const hk_json *j, char **out, struct path *p,
                      hk_err **err)
{
	if (want(p, j, HJ_STRING, err) < 0)
		return -1;
	if ((f->flags & OCI_F_NONEMPTY) && j->len == 0)
		return bad(p, err, "must not be empty");
	if (f->umax && j->len > f->umax)
		return bad(p, err, "longer than %" PRIu64 " bytes", f->umax);
	if ((f->flags & OCI_F_ABSPATH) && j->s[0] != '/')
		return bad(p, err, "must be an absolute path");
	if (f->values) {
		const char *const *v = f->values;
		while (*v && strcmp(*v, j->s) != 0)
			v++;
		if (*v == NULL)
			return bad(p, err, "unknown value \"%.64s\"", j->s);
	}
	*out = strdup(j->s);
	if (*out == NULL)
		return hk_err_set(err, ENOMEM, "%s", p->buf);
	return 0;
}

static bool is_integer_text(const char *s)
{
	return strpbrk(s, ".eE") == NULL;
}

static int decode_i64(const struct oci_field *f, const hk_json *j, int64_t *out, struct path *p,
                      hk_err **err)
{
	if (want(p, j, HJ_NUMBER, err) < 0)
		return -1;
	if (!is_integer_text(j->s))
		return bad(p, err, "expected an integer, got %.32s", j->s);
	if (hk_parse_i64(j->s, out) < 0 || *out < f->min || *out > f->max)
		return bad(p, err, "%.32s out of range [%" PRId64 ", %" PRId64 "]", j->s, f->min,
		           f->max);
	return 0;
}

static int decode_u64(uint64_t umax, const hk_json *j, uint64_t *out, struct path *p, hk_err **err)
{
	if (want(p, j, HJ_NUMBER, err) < 0)
		return -1;
	if (!is_integer_text(j->s))
		return bad(p, err, "expected an integer, got %.32s", j->s);
	if (j->s[0] == '-')
		return bad(p, err, "must not be negative");
	if (hk_parse_u64(j->s, out) < 0 || *out > umax)
		return bad(p, err, "%.32s out of range [0, %" PRIu64 "]", j->s, umax);
	return 0;
}

/* Vectors share one layout whatever their element (oci/spec.h). */
struct vec {
	void *v;
	size_t n;
	bool set;
};

static int vec_alloc(struct vec *vec, size_t n, size_t elem, const struct path *p, hk_err **err)
{
	vec->set = true;
	vec->n = 0;
	vec->v = calloc(n + 1, elem); /* +1: string vectors stay NULL-terminated */
	if (vec->v == NULL)
		return hk_err_set(err, ENOMEM, "%s", p->buf);
	return 0;
}

static int decode_field(const struct oci_field *f, const hk_json *j, char *obj, struct path *p,
                        hk_err **err)
{
	void *at = obj + f->off;
	struct vec *vec = at;

	switch (f->kind) {
	case OCI_STR:
		return decode_str(f, j, at, p, err);
	case OCI_BOOL: {
		struct oci_bool *b = at;
		if (want(p, j, HJ_BOOL, err) < 0)
			return -1;
		b->set = true;
		b->v = j->b;
		return 0;
	}
	case OCI_I64: {
		struct oci_i64 *v = at;
		if (decode_i64(f, j, &v->v, p, err) < 0)
			return -1;
		v->set = true;
		return 0;
	}
	case OCI_U64: {
		struct oci_u64 *v = at;
		if (decode_u64(f->umax, j, &v->v, p, err) < 0)
			return -1;
		v->set = true;
		return 0;
	}
	case OCI_STRV:
	case OCI_U32V:
	case OCI_OBJV: {
		size_t elem = f->kind == OCI_STRV   ? sizeof(char *)
		              : f->kind == OCI_U32V ? sizeof(uint32_t)
		                                    : f->sub->size;
		if (want(p, j, HJ_ARRAY, err) < 0)
			return -1;
		if ((f->flags & OCI_F_NONEMPTY) && j->n == 0)
			return bad(p, err, "must not be empty");
		if (vec_alloc(vec, j->n, elem, p, err) < 0)
			return -1;
		for (size_t i = 0; i < j->n; i++) {
			size_t old = path_index(p, i);
			void *e = (char *)vec->v + i * elem;
			int r;
			if (f->kind == OCI_STRV) {
				struct oci_field ef = *f;
				ef.flags &= ~(unsigned)OCI_F_NONEMPTY;
				r = decode_str(&ef, j->vals[i], (char **)e, p, err);
			} else if (f->kind == OCI_U32V) {
				uint64_t u;
				r = decode_u64(UINT32_MAX, j->vals[i], &u, p, err);
				*(uint32_t *)e = (uint32_t)u;
			} else {
				r = decode_struct(f->sub, j->vals[i], e, p, err);
			}
			vec->n = i + 1; /* what is filled is freed on error */
			if (r < 0)
				return -1;
			path_pop(p, old);
		}
		return 0;
	}
	case OCI_MAP:
	case OCI_OBJMAP: {
		size_t elem = f->kind == OCI_MAP ? sizeof(struct oci_kv) : f->sub->size;
		if (want(p, j, HJ_OBJECT, err) < 0)
			return -1;
		if (vec_alloc(vec, j->n, elem, p, err) < 0)
			return -1;
		for (size_t i = 0; i < j->n; i++) {
			size_t old = path_key(p, j->keys[i]);
			void *e = (char *)vec->v + i * elem;
			vec->n = i + 1;
			/* Both element kinds start with their key (oci/spec.h). */
			*(char **)e = strdup(j->keys[i]);
			if (*(char **)e == NULL)
				return hk_err_set(err, ENOMEM, "%s", p->buf);
			int r;
			if (f->kind == OCI_MAP) {
				struct oci_field vf = {.kind = OCI_STR};
				r = decode_str(&vf, j->vals[i], &((struct oci_kv *)e)->value, p,
				               err);
			} else {
				r = decode_struct(f->sub, j->vals[i], e, p, err);
			}
			if (r < 0)
				return -1;
			path_pop(p, old);
		}
		return 0;
	}
	case OCI_OBJ: {
		void **ptr = at;
		*ptr = calloc(1, f->sub->size);
		if (*ptr == NULL)
			return hk_err_set(err, ENOMEM, "%s", p->buf);
		return decode_struct(f->sub, j, *ptr, p, err);
	}
	}
	return bad(p, err, "unsupported field kind");
}

static int decode_struct(const struct oci_type *t, const hk_json *j, void *obj, struct path *p,
                         hk_err **err)
{
	if (want(p, j, HJ_OBJECT, err) < 0)
		return -1;
	for (size_t i = 0; i < t->nfields; i++) {
		const struct oci_field *f = &t->fields[i];
		const hk_json *v = hk_json_get(j, f->key);
		size_t old = path_key(p, f->key);
		/* Go engines write null for empty optional values; it means absent. */
		if (v == NULL || v->type == HJ_NULL) {
			if (f->flags & OCI_F_REQUIRED)
				return bad(p, err, "required field is missing");
		} else if (decode_field(f, v, obj, p, err) < 0) {
			return -1;
		}
		path_pop(p, old);
	}
	return 0;
}

/* ---- freeing ---------------------------------------------------------------- */

static void release(const struct oci_type *t, void *obj);

static void release_field(const struct oci_field *f, char *obj)
{
	void *at = obj + f->off;
	struct vec *vec = at;

	switch (f->kind) {
	case OCI_STR:
		free(*(char **)at);
		break;
	case OCI_BOOL:
	case OCI_I64:
	case OCI_U64:
		break;
	case OCI_STRV:
		for (size_t i = 0; i < vec->n; i++)
			free(((char **)vec->v)[i]);
		free(vec->v);
		break;
	case OCI_U32V:
		free(vec->v);
		break;
	case OCI_MAP:
		for (size_t i = 0; i < vec->n; i++) {
			free(((struct oci_kv *)vec->v)[i].key);
			free(((struct oci_kv *)vec->v)[i].value);
		}
		free(vec->v);
		break;
	case OCI_OBJV:
	case OCI_OBJMAP:
		for (size_t i = 0; i < vec->n; i++) {
			void *e = (char *)vec->v + i * f->sub->size;
			if (f->kind == OCI_OBJMAP)
				free(*(char **)e);
			release(f->sub, e);
		}
		free(vec->v);
		break;
	case OCI_OBJ:
		if (*(void **)at) {
			release(f->sub, *(void **)at);
			free(*(void **)at);
		}
		break;
	}
}

static void release(const struct oci_type *t, void *obj)
{
	for (size_t i = 0; i < t->nfields; i++)
		release_field(&t->fields[i], obj);
}

void oci_free(const struct oci_type *t, void *obj)
{
	if (obj == NULL)
		return;
	release(t, obj);
	free(obj);
}

/* ---- parsing ---------------------------------------------------------------- */

int oci_parse(const struct oci_type *t, const char *buf, size_t len, void **out, hk_err **err)
{
	cleanup_json hk_json *j = NULL;
	struct path p = {.len = 0};
	void *obj;

	if (len > OCI_MAX_DOC)
		return hk_err_set(err, 0, "%s larger than %u bytes", t->name, OCI_MAX_DOC);
	if (hk_json_parse(buf, len, NULL, &j, err) < 0)
		return -1;
	obj = calloc(1, t->size);
	if (obj == NULL)
		return hk_err_set(err, ENOMEM, "parse %s", t->name);
	if (decode_struct(t, j, obj, &p, err) < 0) {
		oci_free(t, obj);
		return -1;
	}
	*out = obj;
	return 0;
}

int oci_load(const struct oci_type *t, const char *path, void **out, hk_err **err)
{
	cleanup_free char *buf = NULL;
	size_t len;

	if (hk_read_file(path, OCI_MAX_DOC, &buf, &len, err) < 0)
		return -1;
	if (oci_parse(t, buf, len, out, err) < 0)
		return hk_err_wrap(err, "%s", path);
	return 0;
}

const char *oci_map_get(const oci_map *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].key, key) == 0)
			return m->v[i].value;
	return NULL;
}

bool oci_mount_has_option(const struct oci_mount *m, const char *o)
{
	for (size_t i = 0; i < m->options.n; i++)
		if (strcmp(m->options.v[i], o) == 0)
			return true;
	return false;
}

bool oci_mount_is_bind(const struct oci_mount *m)
{
	return (m->type && strcmp(m->type, "bind") == 0) || oci_mount_has_option(m, "bind") ||
	       oci_mount_has_option(m, "rbind");
}

/* ---- writing ---------------------------------------------------------------- */

static void gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void gen_num(yajl_gen g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gen_num(yajl_gen g, const char *fmt, ...)
{
	char buf[32];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	yajl_gen_number(g, buf, (size_t)n);
}

static void encode_struct(const struct oci_type *t, const void *obj, yajl_gen g);

static bool field_present(const struct oci_field *f, const char *obj)
{
	const void *at = obj + f->off;

	switch (f->kind) {
	case OCI_STR:
	case OCI_OBJ:
		return *(void *const *)at != NULL;
	case OCI_BOOL:
		return ((const struct oci_bool *)at)->set;
	case OCI_I64:
		return ((const struct oci_i64 *)at)->set;
	case OCI_U64:
		return ((const struct oci_u64 *)at)->set;
	default:
		return ((const struct vec *)at)->set;
	}
}

static void encode_field(const struct oci_field *f, const char *obj, yajl_gen g)
{
	const void *at = obj + f->off;
	const struct vec *vec = at;

	switch (f->kind) {
	case OCI_STR:
		gen_str(g, *(char *const *)at);
		break;
	case OCI_BOOL:
		yajl_gen_bool(g, ((const struct oci_bool *)at)->v);
		break;
	case OCI_I64:
		gen_num(g, "%" PRId64, ((const struct oci_i64 *)at)->v);
		break;
	case OCI_U64:
		gen_num(g, "%" PRIu64, ((const struct oci_u64 *)at)->v);
		break;
	case OCI_STRV:
	case OCI_U32V:
	case OCI_OBJV:
		yajl_gen_array_open(g);
		for (size_t i = 0; i < vec->n; i++) {
			if (f->kind == OCI_STRV)
				gen_str(g, ((char **)vec->v)[i]);
			else if (f->kind == OCI_U32V)
				gen_num(g, "%" PRIu32, ((uint32_t *)vec->v)[i]);
			else
				encode_struct(f->sub, (char *)vec->v + i * f->sub->size, g);
		}
		yajl_gen_array_close(g);
		break;
	case OCI_MAP:
	case OCI_OBJMAP:
		yajl_gen_map_open(g);
		for (size_t i = 0; i < vec->n; i++) {
			const void *e =
			        (char *)vec->v +
			        i * (f->kind == OCI_MAP ? sizeof(struct oci_kv) : f->sub->size);
			gen_str(g, *(char *const *)e);
			if (f->kind == OCI_MAP)
				gen_str(g, ((const struct oci_kv *)e)->value);
			else
				encode_struct(f->sub, e, g);
		}
		yajl_gen_map_close(g);
		break;
	case OCI_OBJ:
		encode_struct(f->sub, *(void *const *)at, g);
		break;
	}
}

static void encode_struct(const struct oci_type *t, const void *obj, yajl_gen g)
{
	yajl_gen_map_open(g);
	for (size_t i = 0; i < t->nfields; i++) {
		const struct oci_field *f = &t->fields[i];
		if (!field_present(f, obj))
			continue;
		gen_str(g, f->key);
		encode_field(f, obj, g);
	}
	yajl_gen_map_close(g);
}

int oci_write(const struct oci_type *t, const void *obj, bool pretty, char **out, size_t *len,
              hk_err **err)
{
	const unsigned char *buf;
	size_t n;
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		return hk_err_set(err, ENOMEM, "write %s", t->name);
	if (pretty) {
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_indent_string, "\t");
	}
	encode_struct(t, obj, g);
	yajl_gen_get_buf(g, &buf, &n);
	*out = strndup((const char *)buf, n);
	yajl_gen_free(g);
	if (*out == NULL)
		return hk_err_set(err, ENOMEM, "write %s", t->name);
	if (len)
		*len = n;
	return 0;
}
