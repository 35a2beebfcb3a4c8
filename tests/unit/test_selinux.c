/* sVirt: the compiled policy asked offline (libsepol computes the access
 * decisions the kernel would: type enforcement, then the MCS constraints)
 * and the MCS pool under concurrent claims, frees and crashes. Each access
 * check prints the vector it asked and what came back. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sepol/policydb/services.h>
#include <sepol/sepol.h>

#include "lib/cleanup.h"
#include "lib/util.h"
#include "oci/spec.h"
#include "policy/selinux_label.h"
#include "policy/selinux_mcs.h"
#include "runtime/selinux.h"
#include "tests/unit/tap.h"

#ifndef HK_TEST_POLICY
#define HK_TEST_POLICY "build/policy/husk.policy"
#endif

static char tmp[] = "/tmp/husk-selinux-XXXXXX";

/* ---- the policy --------------------------------------------------------- */

#define VM(l)    "system_u:system_r:husk_vm_t:" l
#define IMAGE(l) "system_u:object_r:husk_image_t:" l

enum want { ALL, NONE };

struct av_case {
	const char *scon, *tcon, *cls, *perms;
	enum want want;
};

static const struct av_case av_cases[] = {
        /* Its own files, at its own level: everything it needs. */
        {VM("s0:c1,c2"), IMAGE("s0:c1,c2"), "file", "open read write append getattr map", ALL},
        {VM("s0:c1,c2"), IMAGE("s0:c1,c2"), "dir", "search read add_name remove_name", ALL},
        {VM("s0:c1,c2"), IMAGE("s0:c1,c2"), "sock_file", "create write unlink", ALL},
        /* Another sandbox's files: nothing, not even a stat. */
        {VM("s0:c1,c2"), IMAGE("s0:c3,c4"), "file", "open read write append getattr map", NONE},
        {VM("s0:c1,c2"), IMAGE("s0:c3,c4"), "dir", "search read add_name getattr", NONE},
        {VM("s0:c1,c2"), IMAGE("s0:c2,c3"), "file", "open read write getattr", NONE},
        {VM("s0:c1,c2"), IMAGE("s0:c1,c2,c3"), "file", "open read write getattr", NONE},
        /* A level it dominates (one of its own categories) is its own. */
        {VM("s0:c1,c2"), IMAGE("s0:c1"), "file", "open read write", ALL},
        /* The host's files, and what carries no label: nothing. */
        {VM("s0:c1,c2"), "system_u:object_r:etc_t:s0", "file", "open read write getattr", NONE},
        {VM("s0:c1,c2"), "system_u:object_r:unlabeled_t:s0", "file", "open read write getattr",
         NONE},
        /* The shared kernel and initramfs: read, never write. */
        {VM("s0:c1,c2"), "system_u:object_r:husk_ro_t:s0", "file", "open read getattr map", ALL},
        {VM("s0:c1,c2"), "system_u:object_r:husk_ro_t:s0", "file", "write append setattr unlink",
         NONE},
        /* Devices a monitor needs. */
        {VM("s0:c1,c2"), "system_u:object_r:kvm_device_t:s0", "chr_file",
         "open read write ioctl map", ALL},
        {VM("s0:c1,c2"), "system_u:object_r:tun_tap_device_t:s0", "chr_file",
         "open read write ioctl", ALL},
        /* The engine's domain enters husk_vm_t at any level, only through
         * husk-vmm's binary. */
        {"system_u:system_r:unconfined_t:s0-s0:c0.c1023", VM("s0:c1,c2"), "process", "transition",
         ALL},
        {VM("s0:c1,c2"), "system_u:object_r:husk_vmm_exec_t:s0", "file", "entrypoint execute", ALL},
        {VM("s0:c1,c2"), "system_u:object_r:etc_t:s0", "file", "entrypoint execute", NONE},
        /* Both monitors are husk_vm_t: only the categories keep them apart. */
        {VM("s0:c1,c2"), VM("s0:c1,c2"), "process", "signal sigkill", ALL},
        {VM("s0:c1,c2"), VM("s0:c3,c4"), "process", "signal sigkill signull", NONE},
        {VM("s0:c1,c2"), VM("s0:c1,c2"), "unix_stream_socket", "connectto", ALL},
        {VM("s0:c1,c2"), VM("s0:c3,c4"), "unix_stream_socket", "connectto", NONE},
};

/* The build's policy (module and stand-in base), or HUSK_TEST_POLICY: the
 * module compiled with a host's real base policy asks the same questions. */
static int load_policy(void)
{
	const char *path = getenv("HUSK_TEST_POLICY") ? getenv("HUSK_TEST_POLICY") : HK_TEST_POLICY;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		printf("# %s: %s (make builds it)\n", path, strerror(errno));
		return -1;
	}
	printf("# policy: %s\n", path);
	int r = sepol_set_policydb_from_file(f);
	fclose(f);
	return r;
}

static int sid_of(const char *con, sepol_security_id_t *sid)
{
	if (sepol_context_to_sid(con, strlen(con) + 1, sid) < 0) {
		printf("# invalid context in the policy: %s\n", con);
		return -1;
	}
	return 0;
}

/* Asks for each permission apart, so the line says which were granted. */
static int check_case(const struct av_case *c)
{
	sepol_security_id_t ssid, tsid;
	sepol_security_class_t cls;
	char perms[256], granted[256] = "", denied[256] = "", why[64] = "";
	unsigned reasons = 0;

	if (sid_of(c->scon, &ssid) < 0 || sid_of(c->tcon, &tsid) < 0 ||
	    sepol_string_to_security_class(c->cls, &cls) < 0)
		return -1;
	snprintf(perms, sizeof(perms), "%s", c->perms);
	for (char *save = NULL, *p = strtok_r(perms, " ", &save); p;
	     p = strtok_r(NULL, " ", &save)) {
		sepol_access_vector_t bit;
		struct sepol_av_decision avd;
		unsigned reason = 0;
		char *buf = NULL;
		if (sepol_string_to_av_perm(cls, p, &bit) < 0) {
			printf("# no permission %s in class %s\n", p, c->cls);
			return -1;
		}
		if (sepol_compute_av_reason_buffer(ssid, tsid, cls, bit, &avd, &reason, &buf, 0) <
		    0)
			return -1;
		free(buf);
		bool ok = (avd.allowed & bit) == bit;
		char *dst = ok ? granted : denied;
		snprintf(dst + strlen(dst), 256 - strlen(dst), "%s%s", *dst ? " " : "", p);
		reasons |= reason;
	}
	if (reasons & SEPOL_COMPUTEAV_TE)
		strcat(why, " te");
	if (reasons & SEPOL_COMPUTEAV_CONS)
		strcat(why, " mcs-constraint");
	if (reasons & SEPOL_COMPUTEAV_RBAC)
		strcat(why, " rbac");
	printf("#   %s -> %s %s { %s }: allowed {%s%s%s} denied {%s%s%s}%s%s\n", c->scon, c->tcon,
	       c->cls, c->perms, *granted ? " " : "", granted, *granted ? " " : "",
	       *denied ? " " : "", denied, *denied ? " " : "", *why ? " by" : "", why);
	return c->want == ALL ? denied[0] == '\0' : granted[0] == '\0';
}

static int test_policy_access_vectors(void)
{
	int bad = 0;

	CHECK(load_policy() == 0);
	for (size_t i = 0; i < HK_ARRAY_SIZE(av_cases); i++) {
		int r = check_case(&av_cases[i]);
		CHECK(r >= 0);
		if (r == 0) {
			printf("#   ^ expected %s\n", av_cases[i].want == ALL ? "all" : "none");
			bad++;
		}
	}
	CHECK(bad == 0);
	return 0;
}

/* ---- levels and labels ---------------------------------------------------- */

static int test_parse_levels(void)
{
	struct pol_mcs_pair p;
	char lv[POL_SELINUX_LEVEL_MAX], s[POL_MCS_LEVEL_MAX];
	static const char *const bad[] = {"s0:c2,c1", "s0:c1,c1", "s0:c01,c2",   "s0:c1,c1024",
	                                  "s1:c1,c2", "s0:c1.c2", "s0:c1,c2,c3", "s0",
	                                  "s0:c1,",   "s0:,c2",   "s0:c1,c2 "};

	CHECK(pol_mcs_parse("s0:c0,c1023", &p) == 0 && p.a == 0 && p.b == 1023);
	pol_mcs_format(&p, s, sizeof(s));
	CHECK_STR(s, "s0:c0,c1023");
	for (size_t i = 0; i < HK_ARRAY_SIZE(bad); i++)
		CHECK(pol_mcs_parse(bad[i], &p) < 0);

	CHECK(pol_selinux_level("system_u:system_r:container_t:s0:c1,c2", lv, sizeof(lv), NULL) ==
	      1);
	CHECK_STR(lv, "s0:c1,c2");
	CHECK(pol_selinux_level("u:r:t:s0-s0:c0.c1023", lv, sizeof(lv), NULL) == 1);
	CHECK_STR(lv, "s0-s0:c0.c1023");
	CHECK(pol_selinux_level("u:r:t", lv, sizeof(lv), NULL) == 0 && lv[0] == '\0');
	cleanup_err hk_err *e = NULL;
	CHECK(pol_selinux_level("u:r:t:s0;rm -rf", lv, sizeof(lv), &e) < 0);
	CHECK(strstr(e->msg, "bad level") != NULL);
	CHECK(pol_selinux_level("u::t:s0", lv, sizeof(lv), NULL) < 0);
	CHECK(pol_selinux_level("container_t", lv, sizeof(lv), NULL) < 0);

	struct pol_selinux_labels l;
	CHECK(pol_selinux_labels("s0:c1,c2", "s0:c3,c4", &l, NULL) == 0);
	CHECK_STR(l.exec, "system_u:system_r:husk_vm_t:s0:c1,c2");
	CHECK_STR(l.file, "system_u:object_r:husk_image_t:s0:c3,c4");
	return 0;
}

/* ---- the pool --------------------------------------------------------------- */

static int count_files(const char *dir)
{
	char cmd[PATH_MAX + 64];
	int n = -1;

	snprintf(cmd, sizeof(cmd), "find %s -type f | wc -l", dir);
	FILE *p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

/* nprocs processes claim per pairs each at once from one pool; every pair
 * comes back through a pipe (one write a line: atomic below PIPE_BUF). */
static int concurrent(const char *dir, unsigned ncats, int nprocs, int per)
{
	struct pol_mcs_pool pool = {.dir = dir, .ncats = ncats};
	int fds[2];
	pid_t pids[64];

	CHECK(nprocs <= 64 && pipe(fds) == 0);
	for (int i = 0; i < nprocs; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0) {
			close(fds[0]);
			for (int k = 0; k < per; k++) {
				struct pol_mcs_pair p;
				char owner[32], line[64];
				cleanup_err hk_err *e = NULL;
				snprintf(owner, sizeof(owner), "p%d-%d", i, k);
				if (pol_mcs_alloc(&pool, owner, &p, &e) < 0) {
					printf("#   %s: %s\n", owner, e->msg);
					_exit(1);
				}
				int n = snprintf(line, sizeof(line), "%u %u %s\n", p.a, p.b, owner);
				if (write(fds[1], line, (size_t)n) != n)
					_exit(1);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	cleanup_file FILE *in = fdopen(fds[0], "r");
	static unsigned char seen[POL_MCS_NCATS][POL_MCS_NCATS];
	unsigned a, b, got = 0, dup = 0;
	char owner[32], path[PATH_MAX + 64], who[64];
	memset(seen, 0, sizeof(seen));
	while (in && fscanf(in, "%u %u %31s", &a, &b, owner) == 3) {
		CHECK(a < b && b < ncats);
		dup += seen[a][b]++ != 0;
		got++;
		/* The pool names the claimer as the pair's owner. */
		snprintf(path, sizeof(path), "%s/c%u,c%u", dir, a, b);
		cleanup_file FILE *f = fopen(path, "re");
		CHECK(f && fscanf(f, "%63s", who) == 1);
		CHECK_STR(who, owner);
	}
	int failed = 0;
	for (int i = 0; i < nprocs; i++) {
		int st;
		CHECK(waitpid(pids[i], &st, 0) == pids[i]);
		failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	printf("#   %d processes x %d claims from %u categories: %u pairs, %u duplicates, %d "
	       "failed\n",
	       nprocs, per, ncats, got, dup, failed);
	CHECK(failed == 0 && dup == 0 && got == (unsigned)(nprocs * per));
	CHECK(count_files(dir) == nprocs * per);
	return 0;
}

static int test_concurrent_claims(void)
{
	char dir[PATH_MAX];

	/* The real pool, and one narrowed to 1035 pairs so that the 1000
	 * claims collide all the time and the last ones need the full scan. */
	snprintf(dir, sizeof(dir), "%s/pool-1024", tmp);
	CHECK(concurrent(dir, POL_MCS_NCATS, 20, 50) == 0);
	snprintf(dir, sizeof(dir), "%s/pool-46", tmp);
	CHECK(concurrent(dir, 46, 20, 50) == 0);
	return 0;
}

static int owners_are(const char *dir, const char *pair, const char *want)
{
	char path[PATH_MAX + 32];
	cleanup_free char *got = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, pair);
	CHECK(hk_read_file(path, 4096, &got, &len, NULL) == 0);
	CHECK_STR(got, want);
	return 0;
}

/* 20 sandboxes given one level by their engine claim it at once, then let
 * go of it at once: each is listed once, and the last one frees it. */
static int test_concurrent_sharing(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/pool-pod", tmp);
	struct pol_mcs_pool pool = {.dir = dir};
	const struct pol_mcs_pair pair = {11, 22};
	cleanup_free char *owners = NULL;
	size_t len;
	int first = 0;

	for (int step = 0; step < 2; step++) {
		pid_t pids[20];
		for (int i = 0; i < 20; i++) {
			CHECK((pids[i] = fork()) >= 0);
			if (pids[i] == 0) {
				char owner[16];
				snprintf(owner, sizeof(owner), "sib%d", i);
				int r = step == 0 ? pol_mcs_claim(&pool, owner, &pair, NULL)
				                  : pol_mcs_free(&pool, owner, &pair, NULL);
				_exit(r < 0 ? 9 : r);
			}
		}
		for (int i = 0; i < 20; i++) {
			int st;
			CHECK(waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st));
			CHECK(WEXITSTATUS(st) <= 1);
			first += step == 0 && WEXITSTATUS(st) == 0;
		}
		if (step == 1)
			break;
		snprintf(path, sizeof(path), "%s/c11,c22", dir);
		CHECK(hk_read_file(path, 4096, &owners, &len, NULL) == 0);
		for (int i = 0; i < 20; i++) {
			char line[16];
			snprintf(line, sizeof(line), "sib%d\n", i);
			char *at = strstr(owners, line);
			CHECK(at && (at == owners || at[-1] == '\n') && !strstr(at + 1, line));
		}
		CHECK(first == 1 && len == strlen(owners));
	}
	CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
	return 0;
}

static int test_full_pool_and_engine_claims(void)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/pool-3", tmp);
	struct pol_mcs_pool pool = {.dir = dir, .ncats = 3}; /* three pairs */
	struct pol_mcs_pair p, q, engine = {0, 1};
	cleanup_err hk_err *e = NULL;

	/* An engine's pair is held: the pool hands out the two others. */
	CHECK(pol_mcs_claim(&pool, "pod-a", &engine, NULL) == 0);
	CHECK(pol_mcs_claim(&pool, "pod-a", &engine, NULL) == 1); /* listed once */
	CHECK(pol_mcs_claim(&pool, "pod-b", &engine, NULL) == 1); /* the pod's other sandbox */
	CHECK(owners_are(dir, "c0,c1", "pod-a\npod-b\n") == 0);
	CHECK(pol_mcs_alloc(&pool, "x", &p, NULL) == 0);
	CHECK(pol_mcs_alloc(&pool, "y", &q, NULL) == 0);
	CHECK(!(p.a == 0 && p.b == 1) && !(q.a == 0 && q.b == 1) && (p.a != q.a || p.b != q.b));
	CHECK(pol_mcs_alloc(&pool, "z", &p, &e) < 0);
	CHECK(e->code == EBUSY);
	CHECK_STR(e->msg, "all 3 MCS category pairs are in use: Device or resource busy");
	/* Taken while one sandbox of the pod holds it; free after the last. */
	CHECK(pol_mcs_free(&pool, "pod-a", &engine, NULL) == 0);
	CHECK(owners_are(dir, "c0,c1", "pod-b\n") == 0);
	CHECK(pol_mcs_alloc(&pool, "z", &p, NULL) < 0);
	CHECK(pol_mcs_free(&pool, "not-a-holder", &engine, NULL) == 0);
	CHECK(pol_mcs_alloc(&pool, "z", &p, NULL) < 0);
	CHECK(pol_mcs_free(&pool, "pod-b", &engine, NULL) == 0);
	CHECK(pol_mcs_alloc(&pool, "z", &p, NULL) == 0 && p.a == 0 && p.b == 1);
	return 0;
}

static int test_free_removes_the_pool(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/pool-free", tmp);
	struct pol_mcs_pool pool = {.dir = dir};
	struct pol_mcs_pair p, q;

	CHECK(pol_mcs_alloc(&pool, "c1", &p, NULL) == 0);
	CHECK(pol_mcs_alloc(&pool, "c2", &q, NULL) == 0);
	snprintf(path, sizeof(path), "%s/c%u,c%u", dir, p.a, p.b);
	CHECK(access(path, F_OK) == 0);
	CHECK(pol_mcs_free(&pool, "not-the-owner", &p, NULL) == 0);
	CHECK(access(path, F_OK) == 0);
	CHECK(pol_mcs_free(&pool, "c1", &p, NULL) == 0);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
	CHECK(access(dir, F_OK) == 0); /* c2 still holds one */
	CHECK(pol_mcs_free(&pool, "c2", &q, NULL) == 0);
	CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
	/* Nothing to free is success, with or without a pool. */
	CHECK(pol_mcs_free(&pool, "c2", &q, NULL) == 0);
	CHECK(pol_mcs_reclaim(&pool, NULL, NULL) == 0);
	return 0;
}

static bool alive_unless_crashed(const char *owner, void *arg)
{
	return strncmp(owner, "crashed", 7) != 0;
}

static int test_crash_recovery(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/pool-crash", tmp);
	struct pol_mcs_pool pool = {.dir = dir, .alive = alive_unless_crashed};
	struct pol_mcs_pair live;
	unsigned freed = 0;
	int st;

	/* A create that dies holding its pair (SIGKILL: no cleanup runs). */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct pol_mcs_pair p;
		for (int i = 0; i < 3; i++) {
			char owner[16];
			snprintf(owner, sizeof(owner), "crashed%d", i);
			if (pol_mcs_alloc(&pool, owner, &p, NULL) < 0)
				_exit(1);
		}
		raise(SIGKILL);
		_exit(1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));
	CHECK(pol_mcs_alloc(&pool, "alive", &live, NULL) == 0);
	/* And one that died between creating its pair's file and naming
	 * itself in it: the pair is held by nobody. */
	snprintf(path, sizeof(path), "%s/c1022,c1023", dir);
	if (live.a == 1022 && live.b == 1023)
		snprintf(path, sizeof(path), "%s/c1021,c1023", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
	/* A level two sandboxes shared, one of which is gone; and what a
	 * rewrite of a pair's owners left when it died. */
	struct pol_mcs_pair shared = {1000, 1001};
	if (live.a == 1000 && live.b == 1001)
		shared.b = 1002;
	CHECK(pol_mcs_claim(&pool, "crashed-sibling", &shared, NULL) == 0);
	CHECK(pol_mcs_claim(&pool, "alive-sibling", &shared, NULL) == 1);
	snprintf(path, sizeof(path), "%s/c5,c6.tmp.12345", dir);
	CHECK(hk_write_file_atomic(path, "x\n", 2, 0600, NULL) == 0);
	CHECK(count_files(dir) == 7);
	CHECK(pol_mcs_reclaim(&pool, &freed, NULL) == 0);
	printf("#   let go of %u dead claims; the live pair and the live sibling kept\n", freed);
	CHECK(freed == 5);
	CHECK(count_files(dir) == 2);
	snprintf(path, sizeof(path), "c%u,c%u", shared.a, shared.b);
	CHECK(owners_are(dir, path, "alive-sibling\n") == 0);
	CHECK(pol_mcs_free(&pool, "alive-sibling", &shared, NULL) == 0);
	snprintf(path, sizeof(path), "%s/c%u,c%u", dir, live.a, live.b);
	CHECK(access(path, F_OK) == 0);
	CHECK(pol_mcs_free(&pool, "alive", &live, NULL) == 0);
	CHECK(access(dir, F_OK) < 0);
	return 0;
}

/* ---- the runtime's use ------------------------------------------------------ */

static int parse_spec(const char *json, struct oci_spec **s)
{
	cleanup_err hk_err *e = NULL;
	if (oci_parse(&oci_spec_type, json, strlen(json), (void **)s, &e) < 0) {
		printf("# %s\n", e->msg);
		return -1;
	}
	return 0;
}

static int test_runtime_labels(void)
{
	char root[PATH_MAX], cdir[PATH_MAX + 16];
	struct oci_spec *plain = NULL, *engine = NULL;
	struct rt_selinux a, b;
	struct pol_mcs_pair pa;
	char lv[POL_SELINUX_LEVEL_MAX];

	snprintf(root, sizeof(root), "%s/root", tmp);
	CHECK(hk_mkdir_p(root, 0700, NULL) == 0);
	snprintf(cdir, sizeof(cdir), "%s/ca", root);
	CHECK(mkdir(cdir, 0700) == 0);
	CHECK(parse_spec("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"annotations\":"
	                 "{\"io.husk.selinux.label\":"
	                 "\"forged\"}}",
	                 &plain) == 0);
	CHECK(rt_selinux_setup(root, "ca", plain, &a, NULL) == 0);
	/* Ours replaces what config.json claimed. */
	const char *l = oci_map_get(&plain->annotations, RT_SELINUX_LABEL_KEY);
	CHECK_STR(l, a.l.exec);
	CHECK(pol_selinux_level(l, lv, sizeof(lv), NULL) == 1 && pol_mcs_parse(lv, &pa) == 0);
	CHECK_STR(oci_map_get(&plain->annotations, RT_SELINUX_FILE_LABEL_KEY), a.l.file);
	CHECK(strncmp(a.l.file, POL_SELINUX_FILE_PREFIX, strlen(POL_SELINUX_FILE_PREFIX)) == 0);
	CHECK(strcmp(a.l.exec + strlen(POL_SELINUX_EXEC_PREFIX),
	             a.l.file + strlen(POL_SELINUX_FILE_PREFIX)) == 0);

	snprintf(cdir, sizeof(cdir), "%s/cb", root);
	CHECK(mkdir(cdir, 0700) == 0);
	CHECK(parse_spec("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"process\":{"
	                 "\"cwd\":\"/\",\"args\":[\"sh\"],\"user\":{\"uid\":0,\"gid\":0},"
	                 "\"selinuxLabel\":\"system_u:system_r:container_t:s0:c7,c8\"},"
	                 "\"linux\":{\"mountLabel\":"
	                 "\"system_u:object_r:container_file_t:s0:c7,c8\"}}",
	                 &engine) == 0);
	CHECK(rt_selinux_setup(root, "cb", engine, &b, NULL) == 0);
	CHECK_STR(b.l.exec, "system_u:system_r:husk_vm_t:s0:c7,c8");
	CHECK_STR(b.l.file, "system_u:object_r:husk_image_t:s0:c7,c8");
	char pair[PATH_MAX + 64];
	snprintf(pair, sizeof(pair), "%s/" RT_SELINUX_POOL "/c7,c8", root);
	CHECK(access(pair, F_OK) == 0); /* held so the pool never hands it out */

	CHECK(!a.engine_rootfs && b.engine_rootfs);
	CHECK(count_files(root) == 2);
	rt_selinux_release(root, "ca", &plain->annotations);
	rt_selinux_release(root, "cb", &engine->annotations);
	CHECK(access(pair, F_OK) < 0);
	snprintf(pair, sizeof(pair), "%s/" RT_SELINUX_POOL, root);
	CHECK(access(pair, F_OK) < 0);
	oci_spec_free(plain);
	oci_spec_free(engine);
	return 0;
}

static int test_relabel_tree(void)
{
	char top[PATH_MAX], sub[PATH_MAX + 8], file[PATH_MAX + 16], link[PATH_MAX + 16];
	char got[POL_SELINUX_LABEL_MAX];
	const char *label = "system_u:object_r:husk_image_t:s0:c1,c2";
	cleanup_err hk_err *e = NULL;

	snprintf(top, sizeof(top), "%s/tree", tmp);
	snprintf(sub, sizeof(sub), "%s/sub", top);
	snprintf(file, sizeof(file), "%s/file", sub);
	snprintf(link, sizeof(link), "%s/link", sub);
	CHECK(hk_mkdir_p(sub, 0700, NULL) == 0);
	CHECK(hk_write_file_atomic(file, "x", 1, 0600, NULL) == 0);
	CHECK(symlink("/etc/passwd", link) == 0);
	if (pol_selinux_relabel(top, label, true, &e) < 0) {
		if (e->code == ENOTSUP || e->code == EPERM || e->code == EOPNOTSUPP) {
			printf("# security.* xattrs not settable here: %s\n", e->msg);
			return 77;
		}
		printf("# %s\n", e->msg);
		return 1;
	}
	const char *const each[] = {top, sub, file, link};
	for (size_t i = 0; i < HK_ARRAY_SIZE(each); i++) {
		ssize_t n = lgetxattr(each[i], "security.selinux", got, sizeof(got));
		CHECK(n == (ssize_t)strlen(label) + 1);
		CHECK_STR(got, label);
	}
	/* The symlink was labelled, not followed. */
	CHECK(lgetxattr("/etc/passwd", "security.selinux", got, sizeof(got)) < 0 ||
	      strcmp(got, label) != 0);
	return 0;
}

static int label_of(const char *path, char *out, size_t len)
{
	ssize_t n = lgetxattr(path, "security.selinux", out, len - 1);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* What create labels where the host runs SELinux (forced on here): the
 * state directory and the rootfs at the sandbox's level, the kernel files
 * husk_ro_t; a rootfs the engine labelled is left alone. */
static int test_label_files_when_enabled(void)
{
	char bundle[PATH_MAX], dir[PATH_MAX + 8], rootfs[PATH_MAX + 8], kernel[PATH_MAX + 8];
	char initrd[PATH_MAX + 8], state[PATH_MAX + 32], got[POL_SELINUX_LABEL_MAX];
	struct oci_spec spec = {0};
	struct rt_selinux sv = {.enabled = true};
	cleanup_err hk_err *e = NULL;

	snprintf(bundle, sizeof(bundle), "%s/bundle", tmp);
	snprintf(dir, sizeof(dir), "%s/state", bundle);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", bundle);
	snprintf(initrd, sizeof(initrd), "%s/initrd", bundle);
	snprintf(state, sizeof(state), "%s/state.json", dir);
	CHECK(hk_mkdir_p(dir, 0700, NULL) == 0 && hk_mkdir_p(rootfs, 0700, NULL) == 0);
	CHECK(hk_write_file_atomic(state, "{}", 2, 0600, NULL) == 0);
	CHECK(hk_write_file_atomic(kernel, "k", 1, 0600, NULL) == 0);
	CHECK(hk_write_file_atomic(initrd, "i", 1, 0600, NULL) == 0);
	CHECK(pol_selinux_labels("s0:c5,c6", "s0:c5,c6", &sv.l, NULL) == 0);
	if (rt_selinux_label_files(&sv, dir, bundle, &spec, kernel, initrd, &e) < 0) {
		printf("# %s\n", e->msg);
		return e->code == ENOTSUP || e->code == EPERM ? 77 : 1;
	}
	const char *const files[] = {dir, state, rootfs};
	for (size_t i = 0; i < HK_ARRAY_SIZE(files); i++) {
		CHECK(label_of(files[i], got, sizeof(got)) == 0);
		CHECK_STR(got, "system_u:object_r:husk_image_t:s0:c5,c6");
	}
	CHECK(label_of(kernel, got, sizeof(got)) == 0);
	CHECK_STR(got, POL_SELINUX_RO_LABEL);
	CHECK(label_of(initrd, got, sizeof(got)) == 0);
	CHECK_STR(got, POL_SELINUX_RO_LABEL);

	CHECK(pol_selinux_labels("s0:c7,c8", "s0:c7,c8", &sv.l, NULL) == 0);
	sv.engine_rootfs = true;
	CHECK(rt_selinux_label_files(&sv, dir, bundle, &spec, kernel, initrd, NULL) == 0);
	CHECK(label_of(dir, got, sizeof(got)) == 0);
	CHECK_STR(got, "system_u:object_r:husk_image_t:s0:c7,c8");
	CHECK(label_of(rootfs, got, sizeof(got)) == 0);
	CHECK_STR(got, "system_u:object_r:husk_image_t:s0:c5,c6");
	return 0;
}

int main(void)
{
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(test_policy_access_vectors);
	RUN_TEST(test_parse_levels);
	RUN_TEST(test_concurrent_claims);
	RUN_TEST(test_concurrent_sharing);
	RUN_TEST(test_full_pool_and_engine_claims);
	RUN_TEST(test_free_removes_the_pool);
	RUN_TEST(test_crash_recovery);
	RUN_TEST(test_runtime_labels);
	RUN_TEST(test_relabel_tree);
	RUN_TEST(test_label_files_when_enabled);
	char cmd[PATH_MAX];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	TAP_DONE();
}
