/* Placeholder while runtime/hooks.c is written: runs no hooks. */
#include "runtime/hooks.h"
int rt_hooks_run(const oci_hookv *hooks, const char *stage, const char *state_json, hk_err **err)
{ (void)hooks; (void)stage; (void)state_json; (void)err; return 0; }
