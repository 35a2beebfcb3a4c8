/* Placeholder while guest-agent/seccomp.c and caps.c are written: NOT
 * enforcing. Removed when they land. */
#include "guest-agent/procsec.h"
#include <sys/prctl.h>
int agent_seccomp_load(const struct oci_seccomp *s, hk_err **err) { (void)s; (void)err; return 0; }
int agent_seccomp_check(const struct oci_seccomp *s, hk_err **err) { (void)s; (void)err; return 0; }
int agent_caps_apply(const struct oci_capabilities *c, hk_err **err) { (void)c; (void)err; return 0; }
int agent_caps_prepare_setuid(hk_err **err) { (void)err; return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0); }
