#ifndef HUSK_AGENT_PROCSEC_H
#define HUSK_AGENT_PROCSEC_H
#include "lib/error.h"
#include "oci/spec.h"
int agent_seccomp_load(const struct oci_seccomp *s, hk_err **err);
int agent_seccomp_check(const struct oci_seccomp *s, hk_err **err);
int agent_caps_apply(const struct oci_capabilities *c, hk_err **err);
int agent_caps_prepare_setuid(const struct oci_capabilities *c, hk_err **err);
#endif
