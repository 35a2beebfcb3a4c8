/* OCI model: every engine's config.json parses and round-trips; hostile and
 * malformed documents give one error naming the JSON path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/util.h"
#include "oci/extra.h"
#include "oci/spec.h"
#include "tests/unit/tap.h"

/* parse → write → parse → write gives the same bytes both times, and the
 * second parse accepts what the writer produced. */
static int round_trip(const struct oci_type *t, const char *buf, size_t len)
{
	cleanup_err hk_err *err = NULL;
	void *a = NULL, *b = NULL;
	cleanup_free char *w1 = NULL, *w2 = NULL;
	int ok = 0;

	if (oci_parse(t, buf, len, &a, &err) < 0) {
		printf("#   parse: %s\n", err->msg);
		return 1;
	}
	if (oci_write(t, a, false, &w1, NULL, &err) < 0 ||
	    oci_parse(t, w1, strlen(w1), &b, &err) < 0 ||
	    oci_write(t, b, false, &w2, NULL, &err) < 0) {
		printf("#   %s\n", err ? err->msg : "?");
		ok = 1;
	} else if (strcmp(w1, w2) != 0) {
		printf("#   round trip differs:\n#   %s\n#   %s\n", w1, w2);
		ok = 1;
	}
	oci_free(t, a);
	oci_free(t, b);
	return ok;
}

static int fixture(const char *name, char **buf, size_t *len)
{
	cleanup_free char *path = NULL;
	cleanup_err hk_err *err = NULL;

	if (asprintf(&path, "%s/tests/fixtures/%s", tap_src(), name) < 0)
		return -1;
	if (hk_read_file(path, OCI_MAX_DOC, buf, len, &err) < 0) {
		printf("#   %s\n", err->msg);
		return -1;
	}
	return 0;
}

static int test_fixtures_round_trip(void)
{
	static const char *const configs[] = {"containerd-ctr-tty.json", "cri-container.json",
	                                      "cri-sandbox.json",        "docker-run.json",
	                                      "podman-run.json",         "runc-spec.json",
	                                      "crun-spec.json"};
	for (size_t i = 0; i < HK_ARRAY_SIZE(configs); i++) {
		cleanup_free char *buf = NULL;
		size_t len;
		printf("#  %s\n", configs[i]);
		CHECK(fixture(configs[i], &buf, &len) == 0);
		CHECK(round_trip(&oci_spec_type, buf, len) == 0);
	}
	return 0;
}

static int test_update_resources(void)
{
	cleanup_free char *buf = NULL;
	cleanup_err hk_err *err = NULL;
	struct oci_resources *r = NULL;
	size_t len;

	CHECK(fixture("docker-update-resources.json", &buf, &len) == 0);
	CHECK(round_trip(&oci_resources_type, buf, len) == 0);
	CHECK(oci_parse(&oci_resources_type, buf, len, (void **)&r, &err) == 0);
	CHECK(r->memory && r->memory->limit.set && r->memory->limit.v == 67108864);
	CHECK(r->cpu && r->cpu->quota.set && r->cpu->quota.v == 0);
	CHECK(r->block_io && r->block_io->weight.set);
	CHECK(r->pids == NULL);
	oci_free(&oci_resources_type, r);
	return 0;
}

static int test_values(void)
{
	cleanup_free char *buf = NULL;
	cleanup_err hk_err *err = NULL;
	struct oci_spec *s = NULL;
	size_t len;

	CHECK(fixture("docker-run.json", &buf, &len) == 0);
	CHECK(oci_spec_parse(buf, len, &s, &err) == 0);
	CHECK(s->process->terminal.set && s->process->terminal.v);
	CHECK_STR(s->process->args.v[0], "sh");
	CHECK(s->process->args.v[s->process->args.n] == NULL); /* NULL-terminated for exec */
	CHECK(s->hooks && s->hooks->prestart.n == 1);
	CHECK_STR(s->hooks->prestart.v[0].args.v[0], "libnetwork-setkey");
	CHECK(s->linux_ && s->linux_->namespaces.n > 0);
	CHECK(s->process->oom_score_adj.set && s->process->oom_score_adj.v == 0);
	oci_spec_free(s);
	s = NULL;
	free(buf);
	buf = NULL;

	CHECK(fixture("cri-container.json", &buf, &len) == 0);
	CHECK(oci_spec_parse(buf, len, &s, &err) == 0);
	CHECK_STR(oci_map_get(&s->annotations, "io.kubernetes.cri.container-type"), "container");
	CHECK(oci_map_get(&s->annotations, "io.kubernetes.cri.sandbox-id") != NULL);
	CHECK(oci_map_get(&s->annotations, "no.such.key") == NULL);
	/* Its bind mounts (CRI's hostname, hosts, resolv.conf, shm) are what a
	 * pod's container shares into its sandbox's VM; proc and tmpfs not. */
	size_t binds = 0;
	for (size_t i = 0; i < s->mounts.n; i++)
		binds += oci_mount_is_bind(&s->mounts.v[i]);
	CHECK(binds == 4);
	CHECK(oci_mount_has_option(&s->mounts.v[s->mounts.n - 1], "rbind"));
	CHECK(!oci_mount_has_option(&s->mounts.v[s->mounts.n - 1], "ro"));
	oci_spec_free(s);
	return 0;
}

static int test_process_and_state(void)
{
	static const char proc[] =
	        "{\"terminal\":false,\"user\":{\"uid\":1000,\"gid\":1000,\"additionalGids\":[5,"
	        "4294967295]},\"args\":[\"ls\",\"-l\"],\"env\":[\"A=b\"],\"cwd\":\"/tmp\","
	        "\"capabilities\":{\"bounding\":[\"CAP_KILL\"]},\"noNewPrivileges\":true}";
	static const char state[] =
	        "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"running\","
	        "\"pid\":42,\"bundle\":\"/b\",\"annotations\":{\"a\":\"b\"}}";
	cleanup_err hk_err *err = NULL;
	struct oci_process *p = NULL;
	struct oci_state *st = NULL;

	CHECK(round_trip(&oci_process_type, proc, sizeof(proc) - 1) == 0);
	CHECK(oci_parse(&oci_process_type, proc, sizeof(proc) - 1, (void **)&p, &err) == 0);
	CHECK(p->user->additional_gids.n == 2 && p->user->additional_gids.v[1] == UINT32_MAX);
	oci_free(&oci_process_type, p);
	CHECK(round_trip(&oci_state_type, state, sizeof(state) - 1) == 0);
	CHECK(oci_parse(&oci_state_type, state, sizeof(state) - 1, (void **)&st, &err) == 0);
	CHECK(st->pid.v == 42);
	CHECK_STR(st->status, "running");
	oci_free(&oci_state_type, st);
	return 0;
}

static int test_default_spec(void)
{
	cleanup_free char *json = NULL;
	cleanup_err hk_err *err = NULL;
	size_t len;

	CHECK(oci_default_spec(&json, &len, &err) == 0);
	CHECK(round_trip(&oci_spec_type, json, len) == 0);
	return 0;
}

/* A minimal valid config; malformed cases are made by replacing parts. */
#define BASE_PROC "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"}"
#define CFG(...)  "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"}" __VA_ARGS__ "}"

static const struct {
	const char *json;
	const char *error; /* must appear in the message */
} bad_docs[] = {
        {"", "(document): invalid JSON"},
        {"[]", "(document): expected an object, got array"},
        {"{\"ociVersion\":1.2,\"root\":{\"path\":\"r\"}}",
         "ociVersion: expected a string, got number"},
        {"{\"root\":{\"path\":\"r\"}}", "ociVersion: required field is missing"},
        {"{\"ociVersion\":\"1.2.0\"}", "root: required field is missing"},
        {CFG(",\"root\":{}"), "duplicate key"},
        {"{\"ociVersion\":\"1\",\"root\":{\"path\":\"\"}}", "root.path: must not be empty"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\",\"-c\",7],\"cwd\":\"/"
             "\"}"),
         "process.args[2]: expected a string, got number"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[],\"cwd\":\"/\"}"),
         "process.args: must not be empty"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"tmp\"}"),
         "process.cwd: must be an absolute path"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"]}"),
         "process.cwd: required field is missing"},
        {CFG(",\"process\":{\"user\":{\"uid\":-1,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"}"),
         "process.user.uid: must not be negative"},
        {CFG(",\"process\":{\"user\":{\"uid\":4294967296,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/"
             "\"}"),
         "process.user.uid: 4294967296 out of range"},
        {CFG(",\"process\":{\"user\":{\"uid\":1.5,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"}"),
         "process.user.uid: expected an integer"},
        {CFG(",\"process\":{\"user\":{\"uid\":1e3,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"}"),
         "process.user.uid: expected an integer"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\","
             "\"oomScoreAdj\":1001}"),
         "process.oomScoreAdj: 1001 out of range [-1000, 1000]"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\","
             "\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"hard\":1,\"soft\":1}]}"),
         "process.rlimits[0].type: unknown value \"RLIMIT_BOGUS\""},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\","
             "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":99999999999999999999,\"soft\":1}]"
             "}"),
         "process.rlimits[0].hard: 99999999999999999999 out of range"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\","
             "\"terminal\":\"yes\"}"),
         "process.terminal: expected a boolean, got string"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\","
             "\"consoleSize\":{\"height\":10}}"),
         "process.consoleSize.width: required field is missing"},
        {CFG(",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}"),
         "process.user: required field is missing"},
        {CFG(",\"mounts\":{}"), "mounts: expected an array, got object"},
        {CFG(",\"mounts\":[{\"type\":\"proc\"}]"),
         "mounts[0].destination: required field is missing"},
        {CFG(",\"mounts\":[{\"destination\":\"/p\",\"options\":[\"ro\",null]}]"),
         "mounts[0].options[1]: expected a string, got null"},
        {CFG(",\"hooks\":{\"prestart\":[{\"path\":\"hook\"}]}"),
         "hooks.prestart[0].path: must be an absolute path"},
        {CFG(",\"hooks\":{\"poststop\":[{\"path\":\"/h\",\"timeout\":0}]}"),
         "hooks.poststop[0].timeout: 0 out of range"},
        {CFG(",\"annotations\":{\"a\":1}"), "annotations.a: expected a string, got number"},
        {CFG(",\"linux\":{\"namespaces\":[{\"type\":\"pidd\"}]}"),
         "linux.namespaces[0].type: unknown value \"pidd\""},
        {CFG(",\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"proc/1/ns/net\"}]}"),
         "linux.namespaces[0].path: must be an absolute path"},
        {CFG(",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
             "\"names\":"
             "[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":"
             "\"SCMP_CMP_EQ\"}]}]}}"),
         "linux.seccomp.syscalls[0].args[0].index: 6 out of range [0, 5]"},
        {CFG(",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
             "\"names\":"
             "[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,\"value\":1,\"op\":"
             "\"EQ\"}]}]}}"),
         "linux.seccomp.syscalls[0].args[0].op: unknown value \"EQ\""},
        {CFG(",\"linux\":{\"seccomp\":{}}"),
         "linux.seccomp.defaultAction: required field is missing"},
        {CFG(",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":"
             "[\"SCMP_ARCH_VAX\"]}}"),
         "linux.seccomp.architectures[0]: unknown value"},
        {CFG(",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}"),
         "linux.resources.memory.limit: expected a number, got string"},
        {CFG(",\"linux\":{\"resources\":{\"memory\":{\"limit\":-9223372036854775809}}}"),
         "linux.resources.memory.limit: -9223372036854775809 out of range"},
        {CFG(",\"linux\":{\"resources\":{\"pids\":{}}}"),
         "linux.resources.pids.limit: required field is missing"},
        {CFG(",\"linux\":{\"resources\":{\"devices\":[{\"access\":\"rwm\"}]}}"),
         "linux.resources.devices[0].allow: required field is missing"},
        {CFG(",\"linux\":{\"resources\":{\"blockIO\":{\"weight\":65536}}}"),
         "linux.resources.blockIO.weight: 65536 out of range"},
        {CFG(",\"linux\":{\"resources\":{\"rdma\":{\"mlx\":{\"hcaHandles\":\"x\"}}}}"),
         "linux.resources.rdma.mlx.hcaHandles: expected a number"},
        {CFG(",\"linux\":{\"timeOffsets\":{\"monotonic\":{\"nanosecs\":1000000000}}}"),
         "linux.timeOffsets.monotonic.nanosecs: 1000000000 out of range"},
        {CFG(",\"linux\":{\"rootfsPropagation\":\"sideways\"}"),
         "linux.rootfsPropagation: unknown value"},
        {CFG(",\"linux\":{\"devices\":[{\"type\":\"c\",\"path\":\"/dev/x\",\"fileMode\":99999}]}"),
         "linux.devices[0].fileMode: 99999 out of range"},
        {CFG(",\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":true}}"),
         "linux.sysctl.net.ipv4.ip_forward: expected a string, got boolean"},
        {CFG(",\"hostname\":\""
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
         "hostname: longer than 64 bytes"},
        {CFG(",\"hostname\":\"a\\u0000b\""), "hostname: string contains a NUL character"},
        {CFG(",\"hostname\":\"\xff\xfe\""), "hostname: invalid JSON"},
        {CFG(",\"annotations\":{\"a\":\"b\",\"a\":\"c\"}"), "annotations.a: duplicate key"},
        {CFG(","), "invalid JSON"},
        {CFG("") " trailing", "invalid JSON"},
        {"{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"}", "invalid JSON"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\","
             "\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":8}}"),
         "process.ioPriority.priority: 8 out of range [0, 7]"},
        {CFG(",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\","
             "\"scheduler\":{\"policy\":\"SCHED_FAST\"}}"),
         "process.scheduler.policy: unknown value"},
        {CFG(",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000}]}"),
         "linux.uidMappings[0].size: required field is missing"},
};

static int test_malformed(void)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(bad_docs); i++) {
		cleanup_err hk_err *err = NULL;
		struct oci_spec *s = NULL;
		if (oci_spec_parse(bad_docs[i].json, strlen(bad_docs[i].json), &s, &err) == 0) {
			printf("#   case %zu accepted: %s\n", i, bad_docs[i].json);
			oci_spec_free(s);
			return 1;
		}
		if (strstr(err->msg, bad_docs[i].error) == NULL) {
			printf("#   case %zu: got \"%s\", want \"%s\"\n", i, err->msg,
			       bad_docs[i].error);
			return 1;
		}
	}
	printf("#  %zu malformed documents refused with their path\n", HK_ARRAY_SIZE(bad_docs));
	return 0;
}

static int test_hostile_sizes(void)
{
	cleanup_err hk_err *err = NULL;
	struct oci_spec *s = NULL;
	size_t n = 10u << 20;
	cleanup_free char *big = malloc(n + 128);

	/* A 10 MB string. */
	CHECK(big);
	int k = sprintf(big, "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},\"hostname\":\"");
	memset(big + k, 'a', n);
	strcpy(big + k + n, "\"}");
	CHECK(oci_spec_parse(big, strlen(big), &s, &err) < 0);
	CHECK(strstr(err->msg, "hostname: string too long") != NULL);
	hk_err_free(&err);

	/* 100000 levels of nesting: refused at the depth limit, no stack blow-up. */
	size_t depth = 100000;
	memset(big, '[', depth);
	memset(big + depth, ']', depth);
	big[2 * depth] = '\0';
	CHECK(oci_spec_parse(big, 2 * depth, &s, &err) < 0);
	CHECK(strstr(err->msg, "nested too deeply") != NULL);
	hk_err_free(&err);

	/* Nesting under a real key names the path. */
	strcpy(big, "{\"annotations\":");
	k = (int)strlen(big);
	memset(big + k, '[', 100);
	big[k + 100] = '\0';
	CHECK(oci_spec_parse(big, strlen(big), &s, &err) < 0);
	CHECK(strstr(err->msg, "annotations[0][0]") != NULL);
	hk_err_free(&err);

	/* Too many values. */
	size_t m = 0;
	big = realloc(big, 4u << 20);
	CHECK(big);
	big[m++] = '[';
	for (size_t i = 0; i < (1u << 20) + 10; i++) {
		big[m++] = '0';
		big[m++] = ',';
	}
	big[m - 1] = ']';
	CHECK(oci_spec_parse(big, m, &s, &err) < 0);
	CHECK(strstr(err->msg, "too many values") != NULL);
	return 0;
}

static int test_unknown_keys_ignored(void)
{
	static const char doc[] = "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\",\"x-new\":1},"
	                          "\"vm\":{\"hypervisor\":{}},\"windows\":null}";
	cleanup_err hk_err *err = NULL;
	struct oci_spec *s = NULL;

	CHECK(oci_spec_parse(doc, sizeof(doc) - 1, &s, &err) == 0);
	CHECK_STR(s->root->path, "r");
	oci_spec_free(s);
	return 0;
}

int main(void)
{
	RUN_TEST(test_fixtures_round_trip);
	RUN_TEST(test_update_resources);
	RUN_TEST(test_values);
	RUN_TEST(test_process_and_state);
	RUN_TEST(test_default_spec);
	RUN_TEST(test_malformed);
	RUN_TEST(test_hostile_sizes);
	RUN_TEST(test_unknown_keys_ignored);
	TAP_DONE();
}
