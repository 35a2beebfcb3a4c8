/* policy/: the seccomp tables are sane (every name resolves, every entry
 * has a reason, no entry twice, nothing on a list that would undo the
 * jail), every kind compiles, an installed filter kills on a syscall off
 * its list and lets its own through; the jailer refuses a bad directory. */
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "policy/jail.h"
#include "policy/seccomp.h"
#include "tests/unit/tap.h"

static int test_names_resolve_and_have_reasons(void)
{
	for (int k = 0; k < HK_THREAD_KINDS; k++) {
		size_t nt;
		const struct pol_table *const *t = pol_seccomp_tables((enum hk_thread_kind)k, &nt);
		CHECK(t != NULL && nt > 0);
		for (size_t i = 0; i < nt; i++) {
			CHECK(t[i]->n > 0);
			for (size_t j = 0; j < t[i]->n; j++) {
				const struct pol_rule *r = &t[i]->rules[j];
				if (seccomp_syscall_resolve_name(r->name) == __NR_SCMP_ERROR) {
					printf("#   %s: `%s` does not resolve\n", t[i]->name,
					       r->name);
					return 1;
				}
				CHECK(r->why != NULL && strlen(r->why) > 3);
				CHECK(r->cmp == POL_ANY || r->arg < 6);
			}
		}
	}
	return 0;
}

static bool same_rule(const struct pol_rule *a, const struct pol_rule *b)
{
	return strcmp(a->name, b->name) == 0 && a->cmp == b->cmp &&
	       (a->cmp == POL_ANY ||
	        (a->arg == b->arg && a->mask == b->mask && a->value == b->value));
}

static int test_no_entry_twice(void)
{
	for (int k = 0; k < HK_THREAD_KINDS; k++) {
		size_t nt, n = 0;
		const struct pol_table *const *t = pol_seccomp_tables((enum hk_thread_kind)k, &nt);
		const struct pol_rule *all[512];
		for (size_t i = 0; i < nt; i++)
			for (size_t j = 0; j < t[i]->n && n < 512; j++)
				all[n++] = &t[i]->rules[j];
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n; b++)
				if (same_rule(all[a], all[b])) {
					printf("#   %s thread: `%s` twice\n",
					       hk_thread_kind_name((enum hk_thread_kind)k),
					       all[a]->name);
					return 1;
				}
	}
	return 0;
}

/* What would let a compromised monitor out of its jail or past its
 * filters: on no list, whatever its arguments. */
static int test_nothing_that_undoes_the_jail(void)
{
	static const char *const never[] = {
	        "execve",
	        "execveat",
	        "fork",
	        "vfork",
	        "clone",
	        "clone3",
	        "ptrace",
	        "mount",
	        "umount2",
	        "pivot_root",
	        "chroot",
	        "unshare",
	        "setns",
	        "bpf",
	        "seccomp",
	        "prctl",
	        "init_module",
	        "finit_module",
	        "kexec_load",
	        "open_by_handle_at",
	        "setuid",
	        "setresuid",
	        "capset",
	        "memfd_create",
	        "process_vm_writev",
	        "userfaultfd",
	        "perf_event_open",
	        "keyctl",
	        "add_key",
	};
	for (int k = 0; k < HK_THREAD_KINDS; k++) {
		size_t nt;
		const struct pol_table *const *t = pol_seccomp_tables((enum hk_thread_kind)k, &nt);
		for (size_t i = 0; i < nt; i++)
			for (size_t j = 0; j < t[i]->n; j++)
				for (size_t x = 0; x < HK_ARRAY_SIZE(never); x++)
					if (strcmp(t[i]->rules[j].name, never[x]) == 0) {
						printf("#   %s allows `%s`\n", t[i]->name,
						       never[x]);
						return 1;
					}
	}
	return 0;
}

static int test_every_kind_compiles(void)
{
	cleanup_err hk_err *err = NULL;

	if (pol_seccomp_compile(POL_SECCOMP_KILL, &err) < 0) {
		printf("#   %s\n", err->msg);
		return 1;
	}
	for (int k = 0; k < HK_THREAD_KINDS; k++) {
		printf("# %s: %zu BPF instructions\n", hk_thread_kind_name((enum hk_thread_kind)k),
		       pol_seccomp_size((enum hk_thread_kind)k));
		CHECK(pol_seccomp_size((enum hk_thread_kind)k) > 10);
	}
	return 0;
}

/* In a child: the vCPU filter lets getpid and write through, and mount
 * (what the control socket's debug command calls) kills with SIGSYS. */
static int test_forbidden_syscall_kills(void)
{
	cleanup_err hk_err *err = NULL;
	int st;

	if (!pol_seccomp_supported()) {
		printf("# a sanitizer build runs without filters\n");
		return 77;
	}
	CHECK(pol_seccomp_compile(POL_SECCOMP_KILL, &err) == 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (pol_seccomp_install(HK_THREAD_VCPU, &err) < 0)
			_exit(10);
		if (getpid() <= 0 || write(STDOUT_FILENO, "", 0) < 0)
			_exit(11);
		syscall(SYS_mount, NULL, NULL, NULL, 0UL, NULL);
		_exit(12);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS) {
		printf("#   child status %#x\n", st);
		return 1;
	}
	return 0;
}

static int test_jail_refuses_bad_directories(void)
{
	char dir[] = "/tmp/husk-jail-test.XXXXXX", file[64];
	struct pol_jail j = {0};
	cleanup_err hk_err *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;

	j.dir = "relative/jail";
	CHECK(pol_jail_check(&j, &e1) < 0 && strstr(e1->msg, "absolute"));
	j.dir = "/nonexistent/husk-jail";
	CHECK(pol_jail_check(&j, &e2) < 0 && e2->code == ENOENT);
	CHECK(mkdtemp(dir) != NULL);
	j.dir = dir;
	CHECK(pol_jail_check(&j, NULL) == 0);
	snprintf(file, sizeof(file), "%s/x", dir);
	CHECK(mkdir(file, 0700) == 0);
	int r = pol_jail_check(&j, &e3);
	rmdir(file);
	rmdir(dir);
	CHECK(r < 0 && e3->code == ENOTEMPTY);
	CHECK(pol_jail_add_bind(&j, "not/absolute", "why", &e4) < 0);
	return 0;
}

int main(void)
{
	RUN_TEST(test_names_resolve_and_have_reasons);
	RUN_TEST(test_no_entry_twice);
	RUN_TEST(test_nothing_that_undoes_the_jail);
	RUN_TEST(test_every_kind_compiles);
	RUN_TEST(test_forbidden_syscall_kills);
	RUN_TEST(test_jail_refuses_bad_directories);
	TAP_DONE();
}
