/* guest-agent/seccomp.c and caps.c, on the host: each profile is loaded in a
 * forked child, which reports what the kernel then did. Needs root for the
 * capability sets (the agent is root in the guest). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest-agent/procsec.h"
#include "lib/cleanup.h"
#include "oci/spec.h"
#include "tests/unit/tap.h"

/* The OCI model's strings are char *; the literals given here are never
 * written through (mk/tests.mk builds this file with -Wno-write-strings). */

#define VEC(a)                                                                                     \
	{                                                                                          \
		.v = (a), .n = sizeof(a) / sizeof((a)[0]), .set = true                             \
	}

/* Runs fn in a child; returns its wait status. */
static int in_child(int (*fn)(void *), void *arg)
{
	int st;
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn(arg));
	waitpid(pid, &st, 0);
	return st;
}

struct sc_case {
	struct oci_seccomp *sc;
};

/* Loads the profile, then: getppid (allowed or not), personality(0xffffffff)
 * (a query), and reports errno values through the exit code. */
static int load_and_getcwd(void *arg)
{
	cleanup_err hk_err *err = NULL;
	char buf[64];

	if (agent_seccomp_load(arg, &err) < 0)
		return 100;
	if (getcwd(buf, sizeof(buf)) != NULL)
		return 0;
	return errno;
}

static int test_errno_action(void)
{
	char *names[] = {"getcwd", "no_such_syscall_anywhere"};
	struct oci_syscall rules[] = {{
	        .names = VEC(names),
	        .action = "SCMP_ACT_ERRNO",
	        .errno_ret = {.set = true, .v = 42},
	}};
	struct oci_seccomp sc = {.default_action = "SCMP_ACT_ALLOW", .syscalls = VEC(rules)};
	int st = in_child(load_and_getcwd, &sc);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
	rules[0].errno_ret.set = false; /* EPERM by default, as runc */
	st = in_child(load_and_getcwd, &sc);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == EPERM);
	return 0;
}

static int test_kill_process_action(void)
{
	char *names[] = {"getcwd"};
	struct oci_syscall rules[] = {{.names = VEC(names), .action = "SCMP_ACT_KILL_PROCESS"}};
	struct oci_seccomp sc = {.default_action = "SCMP_ACT_ALLOW", .syscalls = VEC(rules)};
	int st = in_child(load_and_getcwd, &sc);

	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	return 0;
}

/* Default deny with an allow list: what is not listed fails with the
 * default errno. */
static int test_default_errno(void)
{
	/* Beyond exit, what the sanitizers' runtime calls on the way out of
	 * a noreturn path (their stack bookkeeping), so the ASan build tests
	 * the same thing. */
	char *names[] = {"exit_group", "exit", "sigaltstack", "gettid", "mmap", "write"};
	struct oci_syscall rules[] = {{.names = VEC(names), .action = "SCMP_ACT_ALLOW"}};
	struct oci_seccomp sc = {
	        .default_action = "SCMP_ACT_ERRNO",
	        .default_errno_ret = {.set = true, .v = ENOSYS},
	        .syscalls = VEC(rules),
	};
	int st = in_child(load_and_getcwd, &sc);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == ENOSYS);
	return 0;
}

static int personality_query(void *arg)
{
	cleanup_err hk_err *err = NULL;

	if (agent_seccomp_load(arg, &err) < 0)
		return 100;
	/* arg 0 matches the rule: denied; another value is allowed. */
	if (syscall(SYS_personality, 0x0008UL) != -1 || errno != 13)
		return 1;
	if (syscall(SYS_personality, 0xffffffffUL) == -1)
		return 2;
	return 0;
}

static int test_argument_operators(void)
{
	char *names[] = {"personality"};
	struct oci_seccomp_arg eq[] = {
	        {.index = {true, 0}, .value = {true, 0x0008}, .op = "SCMP_CMP_EQ"}};
	struct oci_seccomp_arg masked[] = {{.index = {true, 0},
	                                    .value = {true, 0xff},
	                                    .value_two = {true, 0x08},
	                                    .op = "SCMP_CMP_MASKED_EQ"}};
	/* Two conditions on one argument are ORed (runc): 8 or 9. */
	struct oci_seccomp_arg either[] = {
	        {.index = {true, 0}, .value = {true, 0x0008}, .op = "SCMP_CMP_EQ"},
	        {.index = {true, 0}, .value = {true, 0x0009}, .op = "SCMP_CMP_EQ"},
	};
	struct oci_syscall rules[] = {{
	        .names = VEC(names),
	        .action = "SCMP_ACT_ERRNO",
	        .errno_ret = {true, 13},
	        .args = VEC(eq),
	}};
	struct oci_seccomp sc = {.default_action = "SCMP_ACT_ALLOW", .syscalls = VEC(rules)};
	int st = in_child(personality_query, &sc);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rules[0].args.v = masked;
	st = in_child(personality_query, &sc);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rules[0].args.v = either;
	rules[0].args.n = 2;
	st = in_child(personality_query, &sc);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}

static int test_bad_profiles(void)
{
	cleanup_err hk_err *err = NULL;
	char *names[] = {"getcwd"};
	char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
	char *bad_arch[] = {"SCMP_ARCH_PDP11"};
	struct oci_seccomp_arg badop[] = {{.index = {true, 0}, .op = "SCMP_CMP_ROUGHLY"}};
	struct oci_syscall rules[] = {{.names = VEC(names), .action = "SCMP_ACT_TRAP"}};
	struct oci_seccomp sc = {
	        .default_action = "SCMP_ACT_ALLOW",
	        .architectures = VEC(arches),
	        .syscalls = VEC(rules),
	};

	CHECK(agent_seccomp_check(&sc, &err) == 0);
	sc.default_action = "SCMP_ACT_MAYBE";
	CHECK(agent_seccomp_check(&sc, &err) == -1);
	CHECK_STR(err->msg,
	          "linux.seccomp.defaultAction: unknown action `SCMP_ACT_MAYBE`: Invalid argument");
	hk_err_free(&err);
	sc.default_action = "SCMP_ACT_ALLOW";
	rules[0].action = "SCMP_ACT_NOTIFY";
	CHECK(agent_seccomp_check(&sc, &err) == -1);
	CHECK(err->code == ENOTSUP);
	hk_err_free(&err);
	rules[0].action = "SCMP_ACT_LOG";
	rules[0].args = (typeof(rules[0].args))VEC(badop);
	CHECK(agent_seccomp_check(&sc, &err) == -1);
	CHECK(strstr(err->msg,
	             "linux.seccomp.syscalls[0].args[0]: unknown op `SCMP_CMP_ROUGHLY`") != NULL);
	hk_err_free(&err);
	rules[0].args.n = 0;
	sc.architectures = (oci_strv)VEC(bad_arch);
	CHECK(agent_seccomp_check(&sc, &err) == -1);
	CHECK(strstr(err->msg, "unknown `SCMP_ARCH_PDP11`") != NULL);
	return 0;
}

static unsigned long long cap_line(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long v = ~0ULL;
	size_t n = strlen(key);

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0)
			v = strtoull(line + n, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

/* As spawn.c does: bounding before setuid, the rest after. Exit code
 * bits say which set was wrong. */
static int caps_as_user(void *arg)
{
	cleanup_err hk_err *err = NULL;
	const struct oci_capabilities *c = arg;
	int bad = 0;

	if (agent_caps_prepare_setuid(c, &err) < 0)
		return 100;
	if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
		return 101;
	if (agent_caps_apply(c, &err) < 0) {
		fprintf(stderr, "# %s\n", err->msg);
		return 102;
	}
	/* CAP_CHOWN 0, CAP_KILL 5, CAP_NET_BIND_SERVICE 10. */
	if (cap_line("CapBnd:\t") != ((1ULL << 0) | (1ULL << 5) | (1ULL << 10)))
		bad |= 1;
	if (cap_line("CapEff:\t") != (1ULL << 10))
		bad |= 2;
	if (cap_line("CapPrm:\t") != ((1ULL << 5) | (1ULL << 10)))
		bad |= 4;
	if (cap_line("CapAmb:\t") != (1ULL << 10))
		bad |= 8;
	if (prctl(PR_GET_KEEPCAPS) != 0)
		bad |= 16;
	return bad;
}

static int test_capabilities(void)
{
	char *bounding[] = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_FROM_THE_FUTURE"};
	char *effective[] = {"CAP_NET_BIND_SERVICE"};
	char *permitted[] = {"CAP_KILL", "CAP_NET_BIND_SERVICE"};
	char *inheritable[] = {"CAP_NET_BIND_SERVICE"};
	/* CAP_KILL is not inheritable, so it cannot be ambient: passed over. */
	char *ambient[] = {"CAP_NET_BIND_SERVICE", "CAP_KILL"};
	struct oci_capabilities c = {
	        .bounding = VEC(bounding),
	        .effective = VEC(effective),
	        .permitted = VEC(permitted),
	        .inheritable = VEC(inheritable),
	        .ambient = VEC(ambient),
	};

	if (geteuid() != 0) {
		printf("# capabilities need root\n");
		return 77;
	}
	int st = in_child(caps_as_user, &c);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		printf("# child status %#x\n", st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}

int main(void)
{
	RUN_TEST(test_errno_action);
	RUN_TEST(test_kill_process_action);
	RUN_TEST(test_default_errno);
	RUN_TEST(test_argument_operators);
	RUN_TEST(test_bad_profiles);
	RUN_TEST(test_capabilities);
	TAP_DONE();
}
