/* linux.seccomp as runc applies it, through libseccomp: every action, every
 * argument operator, the architectures and the filter flags. The filter is
 * built once to check the profile when the container is created (so a bad
 * profile fails `husk create`, not the exec), and again in the child that
 * loads it. */
#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "guest-agent/procsec.h"

static void seccomp_ctx_release(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}
#define cleanup_scmp __attribute__((cleanup(seccomp_ctx_release)))

/* The errno an SCMP_ACT_ERRNO or SCMP_ACT_TRACE returns: errnoRet when
 * given, EPERM otherwise (runc's default). */
static int action_of(const char *name, const struct oci_u64 *ret, uint32_t *out, const char *where,
                     hk_err **err)
{
	uint32_t r = ret && ret->set ? (uint32_t)ret->v : EPERM;

	if (name == NULL)
		return hk_err_set(err, EINVAL, "%s: no action", where);
	if (ret && ret->set && ret->v > 0xffff)
		return hk_err_set(err, EINVAL, "%s: errnoRet %llu out of range", where,
		                  (unsigned long long)ret->v);
	if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
		*out = SCMP_ACT_ALLOW;
	else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
		*out = SCMP_ACT_ERRNO(r);
	else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
		*out = SCMP_ACT_KILL_THREAD;
	else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
		*out = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
		*out = SCMP_ACT_TRAP;
	else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
		*out = SCMP_ACT_TRACE(r);
	else if (strcmp(name, "SCMP_ACT_LOG") == 0)
		*out = SCMP_ACT_LOG;
	else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
		/* The listener is a host process; its fd cannot cross the VM
		 * boundary (Kata refuses it for the same reason). */
		return hk_err_set(err, ENOTSUP,
		                  "%s: SCMP_ACT_NOTIFY needs a seccomp agent on the host, which a "
		                  "microVM cannot reach",
		                  where);
	else
		return hk_err_set(err, EINVAL, "%s: unknown action `%s`", where, name);
	return 0;
}

static int operator_of(const char *op, enum scmp_compare *out)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
	        {"SCMP_CMP_NE", SCMP_CMP_NE},
	        {"SCMP_CMP_LT", SCMP_CMP_LT},
	        {"SCMP_CMP_LE", SCMP_CMP_LE},
	        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
	        {"SCMP_CMP_GE", SCMP_CMP_GE},
	        {"SCMP_CMP_GT", SCMP_CMP_GT},
	        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
	};
	for (size_t i = 0; op && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i].name) == 0) {
			*out = ops[i].op;
			return 0;
		}
	return -1;
}

/* "SCMP_ARCH_X86_64" is libseccomp's "x86_64". */
static int arch_of(const char *name, uint32_t *out)
{
	char low[32];
	size_t i = 0;

	if (strncmp(name, "SCMP_ARCH_", 10) != 0)
		return -1;
	for (const char *p = name + 10; *p && i < sizeof(low) - 1; p++)
		low[i++] = (char)tolower((unsigned char)*p);
	low[i] = '\0';
	*out = seccomp_arch_resolve_name(low);
	return *out ? 0 : -1;
}

static int add_rule(scmp_filter_ctx ctx, const struct oci_syscall *sc, size_t si, uint32_t act,
                    int nr, hk_err **err)
{
	struct scmp_arg_cmp cmp[6];
	bool repeated = false;
	size_t n = sc->args.n;
	int rc;

	if (n > 6)
		return hk_err_set(err, EINVAL, "linux.seccomp.syscalls[%zu]: more than 6 args", si);
	for (size_t i = 0; i < n; i++) {
		const struct oci_seccomp_arg *a = &sc->args.v[i];
		enum scmp_compare op;

		if (!a->index.set || a->index.v > 5)
			return hk_err_set(err, EINVAL,
			                  "linux.seccomp.syscalls[%zu].args[%zu].index: 0 to 5", si,
			                  i);
		if (operator_of(a->op, &op) < 0)
			return hk_err_set(err, EINVAL,
			                  "linux.seccomp.syscalls[%zu].args[%zu]: unknown op `%s`",
			                  si, i, a->op ? a->op : "");
		cmp[i] = (struct scmp_arg_cmp){
		        .arg = (unsigned)a->index.v,
		        .op = op,
		        .datum_a = a->value.set ? a->value.v : 0,
		        .datum_b = a->value_two.set ? a->value_two.v : 0,
		};
		for (size_t j = 0; j < i; j++)
			if (cmp[j].arg == cmp[i].arg)
				repeated = true;
	}
	/* Conditions on distinct arguments are ANDed in one rule; libseccomp
	 * cannot AND two on the same argument, so runc ORs them instead: one
	 * rule per condition. */
	if (!repeated)
		rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)n, cmp);
	else {
		rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[i]);
	}
	if (rc < 0)
		return hk_err_set(err, -rc, "linux.seccomp.syscalls[%zu]: adding a rule", si);
	return 0;
}

static int build(const struct oci_seccomp *s, scmp_filter_ctx *out, hk_err **err)
{
	cleanup_scmp scmp_filter_ctx ctx = NULL;
	uint32_t def;
	int rc;

	if (action_of(s->default_action, &s->default_errno_ret, &def, "linux.seccomp.defaultAction",
	              err) < 0)
		return -1;
	if (s->listener_path)
		return hk_err_set(err, ENOTSUP,
		                  "linux.seccomp.listenerPath: a seccomp agent on the "
		                  "host cannot be reached from a microVM");
	ctx = seccomp_init(def);
	if (ctx == NULL)
		return hk_err_set(err, ENOMEM, "seccomp_init");
	/* no_new_privs is the process's own setting, applied separately. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		return hk_err_set(err, -rc, "seccomp: clearing CTL_NNP");
	for (size_t i = 0; i < s->architectures.n; i++) {
		uint32_t arch;
		if (arch_of(s->architectures.v[i], &arch) < 0)
			return hk_err_set(err, EINVAL, "linux.seccomp.architectures: unknown `%s`",
			                  s->architectures.v[i]);
		rc = seccomp_arch_add(ctx, arch);
		if (rc < 0 && rc != -EEXIST)
			return hk_err_set(err, -rc, "linux.seccomp.architectures: adding `%s`",
			                  s->architectures.v[i]);
	}
	for (size_t i = 0; i < s->flags.n; i++) {
		const char *f = s->flags.v[i];
		if (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
			rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
		else if (strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
			rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
		else if (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
			rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
		else
			return hk_err_set(err, EINVAL, "linux.seccomp.flags: unknown `%s`", f);
		if (rc < 0)
			return hk_err_set(err, -rc, "linux.seccomp.flags: `%s`", f);
	}
	for (size_t i = 0; i < s->syscalls.n; i++) {
		const struct oci_syscall *sc = &s->syscalls.v[i];
		char where[64];
		uint32_t act;

		snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu].action", i);
		if (action_of(sc->action, &sc->errno_ret, &act, where, err) < 0)
			return -1;
		/* libseccomp refuses a rule whose action is the default: it
		 * would change nothing anyway. */
		if (act == def)
			continue;
		for (size_t j = 0; j < sc->names.n; j++) {
			int nr = seccomp_syscall_resolve_name(sc->names.v[j]);
			/* Profiles list syscalls of newer kernels and other
			 * arches; runc skips the names it does not know. */
			if (nr == __NR_SCMP_ERROR)
				continue;
			if (add_rule(ctx, sc, i, act, nr, err) < 0)
				return hk_err_wrap(err, "`%s`", sc->names.v[j]);
		}
	}
	*out = ctx;
	ctx = NULL;
	return 0;
}

int agent_seccomp_check(const struct oci_seccomp *s, hk_err **err)
{
	cleanup_scmp scmp_filter_ctx ctx = NULL;
	return build(s, &ctx, err);
}

int agent_seccomp_load(const struct oci_seccomp *s, hk_err **err)
{
	cleanup_scmp scmp_filter_ctx ctx = NULL;
	int rc;

	if (build(s, &ctx, err) < 0)
		return -1;
	if ((rc = seccomp_load(ctx)) < 0)
		return hk_err_set(err, -rc, "seccomp: loading the filter");
	return 0;
}
