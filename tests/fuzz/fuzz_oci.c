/* libFuzzer target for the OCI documents: any input must be either refused
 * with an error or accepted, and what is accepted must write back and parse
 * to the same bytes (the round-trip property the unit tests check on real
 * configs). Every document type is tried, since exec --process and update
 * --resources read untrusted files too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "oci/spec.h"

static void check(const struct oci_type *t, const char *buf, size_t len)
{
	cleanup_err hk_err *err = NULL;
	void *a = NULL, *b = NULL;
	cleanup_free char *w1 = NULL, *w2 = NULL;

	if (oci_parse(t, buf, len, &a, &err) < 0) {
		if (err == NULL || err->msg == NULL || err->msg[0] == '\0')
			abort(); /* a refusal must say why */
		return;
	}
	if (oci_write(t, a, false, &w1, NULL, &err) < 0 ||
	    oci_parse(t, w1, strlen(w1), &b, &err) < 0 ||
	    oci_write(t, b, false, &w2, NULL, &err) < 0 || strcmp(w1, w2) != 0)
		abort();
	oci_free(t, a);
	oci_free(t, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;

	check(&oci_spec_type, buf, size);
	check(&oci_process_type, buf, size);
	check(&oci_resources_type, buf, size);
	check(&oci_state_type, buf, size);
	return 0;
}
