/* The runtime's state directory: one directory per container under the
 * --root (default /run/husk), holding its state.json. IDs are checked
 * before they become paths. */
#ifndef RT_STATE_H
#define RT_STATE_H

#include <stdbool.h>

#include "lib/error.h"
#include "oci/spec.h"

/* runc's rule: letters, digits, "_+-." and not "." or "..", at most 1024. */
int rt_id_check(const char *id, hk_err **err);

/* Loads ROOT/ID/state.json; a missing container is ENOENT with the message
 * "container `ID` does not exist". */
int rt_state_load(const char *root, const char *id, struct oci_state **out, hk_err **err);

/* Calls fn for every container's state, in ID order; a state that cannot
 * be read is skipped with a warning (a container being created or deleted). */
int rt_state_each(const char *root, int (*fn)(const struct oci_state *s, void *arg), void *arg,
                  hk_err **err);

bool rt_exists(const char *root, const char *id);

#endif
