#ifndef RT_HOOKS_H
#define RT_HOOKS_H
#include "lib/error.h"
#include "oci/spec.h"
int rt_hooks_run(const oci_hookv *hooks, const char *stage, const char *state_json, hk_err **err);
#endif
