/* Documents husk writes about itself: the default config.json (`husk spec`)
 * and the runtime-spec features document (`husk features`). */
#ifndef OCI_EXTRA_H
#define OCI_EXTRA_H

#include <stddef.h>

#include "oci/spec.h"

extern const char oci_default_spec_json[];
int oci_default_spec(char **out, size_t *len, hk_err **err);

/* The OCI versions husk accepts and writes. */
#define OCI_VERSION_MIN "1.0.0"
#define OCI_VERSION_MAX "1.2.0"

int oci_features(const char *husk_version, char **out, size_t *len, hk_err **err);

/* Enumerations of the spec, shared by the model and the features document. */
extern const char *const oci_namespace_types[],
        *const oci_seccomp_actions[],
                *const oci_seccomp_ops[],
                        *const oci_seccomp_archs[],
                                *const oci_seccomp_flags[],
                                        *const oci_hook_kinds[],
                                                *const oci_mount_options[],
                                                        *const oci_capability_names[];

#endif
