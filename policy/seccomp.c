/* Compiling the allow-lists of seccomp_vmm.c apart from installing them
 * (as crun does): libseccomp turns each kind's tables into BPF once, at
 * start, while the monitor may still allocate and open what it likes; a
 * thread then installs its program with one prctl, which needs nothing of
 * libseccomp and nothing the filter forbids. */
#include "policy/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/util.h"

static struct {
	enum pol_seccomp_mode mode;
	struct sock_filter *insns[HK_THREAD_KINDS];
	size_t n[HK_THREAD_KINDS];
} compiled;

static void scmp_release(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}
#define cleanup_scmp __attribute__((cleanup(scmp_release)))

/* AddressSanitizer maps its shadow, reads /proc/self/maps, installs
 * alternate signal stacks and spawns a symbolizer at will: it cannot live
 * under a list written for the monitor's own code, so ASan builds (which
 * exist to find memory errors, not to be deployed) run without filters. */
bool pol_seccomp_supported(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return false;
#else
	return true;
#endif
#else
	return true;
#endif
}

static int add_rule(scmp_filter_ctx ctx, const struct pol_rule *r, const char *table, hk_err **err)
{
	int nr = seccomp_syscall_resolve_name(r->name);
	int e;

	if (nr == __NR_SCMP_ERROR)
		return hk_err_set(err, EINVAL, "seccomp: %s: unknown syscall `%s`", table, r->name);
	switch (r->cmp) {
	case POL_ANY:
		e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		break;
	case POL_EQ:
		e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		                     (struct scmp_arg_cmp){r->arg, SCMP_CMP_EQ, r->value, 0});
		break;
	case POL_MASKED_EQ:
		e = seccomp_rule_add(
		        ctx, SCMP_ACT_ALLOW, nr, 1,
		        (struct scmp_arg_cmp){r->arg, SCMP_CMP_MASKED_EQ, r->mask, r->value});
		break;
	default:
		return hk_err_set(err, EINVAL, "seccomp: %s: `%s`: bad comparison", table, r->name);
	}
	if (e < 0)
		return hk_err_set(err, -e, "seccomp: %s: add `%s`", table, r->name);
	return 0;
}

/* libseccomp 2.5 exports BPF only to a descriptor: a memfd, read back. */
static int export(scmp_filter_ctx ctx, struct sock_filter **insns, size_t *n, hk_err **err)
{
	cleanup_close int fd = memfd_create("husk-seccomp", MFD_CLOEXEC);
	cleanup_free char *buf = NULL;
	size_t len;
	int e;

	if (fd < 0)
		return hk_err_set(err, errno, "seccomp: memfd");
	if ((e = seccomp_export_bpf(ctx, fd)) < 0)
		return hk_err_set(err, -e, "seccomp: export the filter");
	if (lseek(fd, 0, SEEK_SET) < 0)
		return hk_err_set(err, errno, "seccomp: read the filter back");
	if (hk_read_all(fd, 1 << 20, &buf, &len, err) < 0)
		return hk_err_wrap(err, "seccomp: read the filter back");
	if (len == 0 || len % sizeof(struct sock_filter) != 0 ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return hk_err_set(err, EINVAL, "seccomp: a filter of %zu bytes", len);
	*insns = hk_steal_ptr(buf);
	*n = len / sizeof(struct sock_filter);
	return 0;
}

static int compile_kind(enum hk_thread_kind kind, uint32_t deny, hk_err **err)
{
	cleanup_scmp scmp_filter_ctx ctx = seccomp_init(deny);
	size_t nt;
	const struct pol_table *const *t = pol_seccomp_tables(kind, &nt);

	if (ctx == NULL)
		return hk_err_set(err, ENOMEM, "seccomp: init");
	/* Installed by hand with prctl, after the jailer set no_new_privs. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0)
		return hk_err_set(err, EINVAL, "seccomp: attributes");
	for (size_t i = 0; i < nt; i++)
		for (size_t j = 0; j < t[i]->n; j++)
			if (add_rule(ctx, &t[i]->rules[j], t[i]->name, err) < 0)
				return hk_err_wrap(err, "%s thread", hk_thread_kind_name(kind));
	return export(ctx, &compiled.insns[kind], &compiled.n[kind], err);
}

int pol_seccomp_compile(enum pol_seccomp_mode mode, hk_err **err)
{
	compiled.mode = mode;
	if (mode == POL_SECCOMP_OFF)
		return 0;
	uint32_t deny = mode == POL_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	for (int k = 0; k < HK_THREAD_KINDS; k++) {
		free(compiled.insns[k]);
		compiled.insns[k] = NULL;
		if (compile_kind((enum hk_thread_kind)k, deny, err) < 0)
			return -1;
	}
	return 0;
}

int pol_seccomp_install(enum hk_thread_kind kind, hk_err **err)
{
	if (compiled.mode == POL_SECCOMP_OFF)
		return 0;
	if ((unsigned)kind >= HK_THREAD_KINDS || compiled.insns[kind] == NULL)
		return hk_err_set(err, EINVAL, "seccomp: no filter for the %s thread",
		                  hk_thread_kind_name(kind));
	struct sock_fprog prog = {.len = (unsigned short)compiled.n[kind],
	                          .filter = compiled.insns[kind]};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hk_err_set(err, errno, "seccomp: no_new_privs");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return hk_err_set(err, errno, "seccomp: install the %s thread's filter",
		                  hk_thread_kind_name(kind));
	return 0;
}

size_t pol_seccomp_size(enum hk_thread_kind kind)
{
	return (unsigned)kind < HK_THREAD_KINDS ? compiled.n[kind] : 0;
}
