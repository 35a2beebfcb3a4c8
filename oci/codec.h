/* The description of a document: each C struct of oci/spec.h has a table of
 * fields (JSON key, kind, offset, bounds), and one generic codec walks a
 * table to parse, validate, write and free. Adding a field of the spec is one
 * line in oci/model.c. */
#ifndef OCI_CODEC_H
#define OCI_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "oci/spec.h"

enum oci_kind {
	OCI_STR,    /* char * */
	OCI_BOOL,   /* struct oci_bool */
	OCI_I64,    /* struct oci_i64, within [min, max] */
	OCI_U64,    /* struct oci_u64, at most umax */
	OCI_STRV,   /* oci_strv */
	OCI_U32V,   /* oci_u32v */
	OCI_MAP,    /* oci_map: object of strings */
	OCI_OBJ,    /* pointer to a struct of type sub, NULL when absent */
	OCI_OBJV,   /* vector of structs of type sub */
	OCI_OBJMAP, /* object of objects: vector of sub, each starting with char *name */
};

/* String checks beyond the type. */
enum {
	OCI_F_REQUIRED = 1 << 0,
	OCI_F_ABSPATH = 1 << 1,  /* must start with '/' */
	OCI_F_NONEMPTY = 1 << 2, /* strings and vectors */
};

struct oci_field {
	const char *key;
	enum oci_kind kind;
	size_t off;
	unsigned flags;
	const struct oci_type *sub;
	int64_t min, max;          /* OCI_I64 bounds */
	uint64_t umax;             /* OCI_U64 bound; OCI_STR/OCI_STRV max length (0 = none) */
	const char *const *values; /* OCI_STR, OCI_STRV: allowed values, NULL-terminated */
};

struct oci_type {
	const char *name;
	size_t size;
	const struct oci_field *fields;
	size_t nfields;
};

#endif
