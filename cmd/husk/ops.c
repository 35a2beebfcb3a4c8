/* husk ps, pause, resume, update and events: the verbs that ask the agent
 * about a running container or change it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/husk/husk.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/util.h"
#include "oci/spec.h"
#include "runtime/container.h"

/* One call on a fresh control connection, for a container that runs. */
static int call(const struct husk_globals *g, const char *id, const char *method,
                const char *params, struct hk_msg *r, hk_err **err)
{
	struct rt_ctx c;
	struct rt_info info;
	struct hk_agent a;

	husk_ctx(g, &c);
	if (rt_info(&c, id, &info, err) < 0)
		return -1;
	bool stopped = strcmp(info.status, "stopped") == 0;
	rt_info_free(&info);
	if (stopped)
		return hk_err_set(err, 0, "container `%s` is not running", id);
	if (rt_agent_open(&c, id, &a, err) < 0)
		return -1;
	int rc = hk_agent_call(&a, method, params, 30000, r, err);
	hk_agent_close(&a);
	return rc;
}

static bool help(int argc, char **argv, const char *verb)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			husk_usage(verb);
			return true;
		}
	return false;
}

int husk_cmd_ps(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"format", required_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	bool json = false;
	struct hk_msg r;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+f:h", opts, NULL)) != -1) {
		if (ch == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json = strcmp(optarg, "json") == 0;
		else if (ch == 'h') {
			husk_usage("ps");
			return 0;
		} else
			return hk_err_set(err, 0, "ps: bad flag (--format table|json)");
	}
	if (optind >= argc)
		return hk_err_set(err, 0, "ps: want a container ID");
	if (call(g, argv[optind], HK_M_PS, NULL, &r, err) < 0)
		return hk_err_wrap(err, "ps");
	const hk_json *ps = hk_json_get(r.result, "processes");
	if (json)
		printf("[");
	else
		printf("%-8s %s\n", "PID", "CMD");
	for (size_t i = 0; ps && ps->type == HJ_ARRAY && i < ps->n; i++) {
		const hk_json *pid = hk_json_get(ps->vals[i], "pid"),
		              *cmd = hk_json_get(ps->vals[i], "cmd");
		if (pid == NULL || pid->type != HJ_NUMBER)
			continue;
		if (json)
			printf("%s%s", i ? "," : "", pid->s);
		else
			printf("%-8s %s\n", pid->s, cmd && cmd->type == HJ_STRING ? cmd->s : "");
	}
	if (json)
		printf("]\n");
	hk_msg_free(&r);
	return 0;
}

static int simple(const struct husk_globals *g, int argc, char **argv, const char *method,
                  hk_err **err)
{
	struct hk_msg r;
	if (help(argc, argv, argv[0]))
		return 0;
	optind = 1;
	if (husk_one_id(argc, argv, err) < 0 || call(g, argv[optind], method, NULL, &r, err) < 0)
		return hk_err_wrap(err, "%s", argv[0]);
	hk_msg_free(&r);
	return 0;
}

int husk_cmd_pause(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	return simple(g, argc, argv, HK_M_PAUSE, err);
}

int husk_cmd_resume(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	return simple(g, argc, argv, HK_M_RESUME, err);
}

/* runc's update flags, each one field of linux.resources. */
static const struct {
	const char *flag, *path;
} update_flags[] = {
        {"memory", "memory.limit"},     {"memory-reservation", "memory.reservation"},
        {"memory-swap", "memory.swap"}, {"cpu-quota", "cpu.quota"},
        {"cpu-period", "cpu.period"},   {"cpu-share", "cpu.shares"},
        {"cpuset-cpus", "cpu.cpus"},    {"cpuset-mems", "cpu.mems"},
        {"pids-limit", "pids.limit"},   {"blkio-weight", "blockIO.weight"},
};

int husk_cmd_update(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	struct option opts[HK_ARRAY_SIZE(update_flags) + 3];
	const char *vals[HK_ARRAY_SIZE(update_flags)] = {0};
	const char *resources = NULL;
	cleanup_free char *doc = NULL;
	size_t len = 0;
	int ch, idx;

	for (size_t i = 0; i < HK_ARRAY_SIZE(update_flags); i++)
		opts[i] = (struct option){update_flags[i].flag, required_argument, NULL,
		                          1000 + (int)i};
	opts[HK_ARRAY_SIZE(update_flags)] =
	        (struct option){"resources", required_argument, NULL, 'r'};
	opts[HK_ARRAY_SIZE(update_flags) + 1] = (struct option){"help", no_argument, NULL, 'h'};
	opts[HK_ARRAY_SIZE(update_flags) + 2] = (struct option){0};
	optind = 0;
	while ((ch = getopt_long(argc, argv, "+r:h", opts, &idx)) != -1) {
		if (ch == 'r')
			resources = optarg;
		else if (ch >= 1000 && ch < 1000 + (int)HK_ARRAY_SIZE(update_flags))
			vals[ch - 1000] = optarg;
		else if (ch == 'h') {
			husk_usage("update");
			return 0;
		} else
			return hk_err_set(err, 0, "update: bad flag `%s`", argv[optind - 1]);
	}
	if (husk_one_id(argc, argv, err) < 0)
		return hk_err_wrap(err, "update");
	if (resources) {
		int r = strcmp(resources, "-") == 0
		                ? hk_read_all(STDIN_FILENO, 1 << 20, &doc, &len, err)
		                : hk_read_file(resources, 1 << 20, &doc, &len, err);
		if (r < 0)
			return hk_err_wrap(err, "update --resources");
	} else {
		/* Build {"memory":{"limit":N},…} from the flags. */
		struct hk_buf b = {0};
		const char *groups[] = {"memory", "cpu", "pids", "blockIO"};
		hk_buf_printf(&b, "{");
		bool first_g = true;
		for (size_t gi = 0; gi < 4; gi++) {
			bool any = false;
			size_t gl = strlen(groups[gi]);
			for (size_t i = 0; i < HK_ARRAY_SIZE(update_flags); i++) {
				if (!vals[i] ||
				    strncmp(update_flags[i].path, groups[gi], gl) != 0 ||
				    update_flags[i].path[gl] != '.')
					continue;
				hk_buf_printf(&b, "%s", any ? "," : first_g ? "" : ",");
				if (!any)
					hk_buf_printf(&b, "\"%s\":{", groups[gi]);
				any = true;
				first_g = false;
				const char *field = update_flags[i].path + gl + 1;
				int64_t v;
				if (strcmp(field, "cpus") == 0 || strcmp(field, "mems") == 0) {
					hk_buf_printf(&b, "\"%s\":", field);
					hk_buf_jstr(&b, vals[i]);
				} else if (hk_parse_i64(vals[i], &v) == 0) {
					hk_buf_printf(&b, "\"%s\":%" PRId64, field, v);
				} else {
					hk_buf_free(&b);
					return hk_err_set(err, 0, "update --%s %s: want a number",
					                  update_flags[i].flag, vals[i]);
				}
			}
			if (any)
				hk_buf_printf(&b, "}");
		}
		hk_buf_printf(&b, "}");
		if (hk_buf_done(&b, err) < 0)
			return -1;
		doc = b.s;
		len = b.len;
	}
	/* Checked here so that a bad document names its field to the caller. */
	void *res = NULL;
	struct rt_ctx c;
	if (oci_parse(&oci_resources_type, doc, len, &res, err) < 0)
		return hk_err_wrap(err, "update");
	husk_ctx(g, &c);
	int hr = rt_update_host(&c, argv[optind], res, err);
	oci_free(&oci_resources_type, res);
	if (hr < 0)
		return hk_err_wrap(err, "update");
	cleanup_buf struct hk_buf p = {0};
	struct hk_msg r;
	hk_buf_printf(&p, "{\"resources\":");
	hk_buf_jstr(&p, doc);
	hk_buf_printf(&p, "}");
	if (hk_buf_done(&p, err) < 0 ||
	    call(g, argv[optind], HK_M_UPDATE_RESOURCES, p.s, &r, err) < 0)
		return hk_err_wrap(err, "update");
	hk_msg_free(&r);
	return 0;
}

static uint64_t num(const hk_json *o, const char *k)
{
	const hk_json *v = hk_json_get(o, k);
	uint64_t n = 0;
	if (v && v->type == HJ_NUMBER)
		hk_parse_u64(v->s, &n);
	return n;
}

static void print_oom(const char *id)
{
	printf("{\"type\":\"oom\",\"id\":");
	hk_json_fputs(stdout, id);
	printf("}\n");
	fflush(stdout);
}

/* One stats event in runc's shape. */
static void print_stats(const char *id, pid_t vmm, const hk_json *s)
{
	cleanup_buf struct hk_buf v = {0};

	rt_vcpus_json(vmm, &v);
	if (hk_buf_done(&v, NULL) < 0)
		return;
	printf("{\"type\":\"stats\",\"id\":");
	hk_json_fputs(stdout, id);
	printf(",\"data\":{\"cpu\":{\"usage\":{\"total\":%" PRIu64 ",\"kernel\":%" PRIu64
	       ",\"user\":%" PRIu64 "}},\"memory\":{\"usage\":{\"usage\":%" PRIu64
	       ",\"limit\":%" PRIu64 "}},\"pids\":{\"current\":%" PRIu64 "},\"vcpus\":%s}}\n",
	       num(s, "cpu_usage_usec") * 1000, num(s, "cpu_system_usec") * 1000,
	       num(s, "cpu_user_usec") * 1000, num(s, "memory_current"), num(s, "memory_max"),
	       num(s, "pids_current"), v.s);
	fflush(stdout);
}

int husk_cmd_events(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"stats", no_argument, NULL, 's'},
	        {"interval", required_argument, NULL, 'i'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	bool stats = false;
	double interval = 5;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+si:h", opts, NULL)) != -1) {
		if (ch == 's')
			stats = true;
		else if (ch == 'i') {
			char *end;
			interval = strtod(optarg, &end);
			if (strcmp(end, "ms") == 0)
				interval /= 1000;
			else if (strcmp(end, "m") == 0)
				interval *= 60;
			else if (*end && strcmp(end, "s") != 0)
				return hk_err_set(err, 0, "events --interval %s: want e.g. 5s",
				                  optarg);
			if (interval <= 0)
				return hk_err_set(err, 0, "events --interval %s: must be positive",
				                  optarg);
		} else if (ch == 'h') {
			husk_usage("events");
			return 0;
		} else
			return hk_err_set(err, 0, "events: bad flag `%s`", argv[optind - 1]);
	}
	if (husk_one_id(argc, argv, err) < 0)
		return hk_err_wrap(err, "events");
	const char *id = argv[optind];
	uint64_t ooms = 0;
	struct rt_ctx c;
	struct rt_info info;
	pid_t vmm = 0;
	husk_ctx(g, &c);
	if (rt_info(&c, id, &info, NULL) == 0) {
		vmm = info.pid;
		rt_info_free(&info);
	}
	for (bool first = true;; first = false) {
		struct hk_msg r;
		if (call(g, id, HK_M_STATS, NULL, &r, err) < 0) {
			if (!first) {
				/* The container ended: so do its events, as with runc,
				 * after an OOM kill it had no time to show. */
				uint64_t last;
				hk_err_free(err);
				if (!stats && rt_final_ooms(&c, id, &last) == 0 && last > ooms)
					print_oom(id);
				return 0;
			}
			return hk_err_wrap(err, "events");
		}
		uint64_t oom = num(r.result, "oom_kill");
		if (!stats && oom > ooms)
			print_oom(id);
		ooms = oom;
		print_stats(id, vmm, r.result);
		hk_msg_free(&r);
		if (stats)
			return 0;
		struct timespec t = {(time_t)interval,
		                     (long)((interval - (double)(time_t)interval) * 1e9)};
		nanosleep(&t, NULL);
	}
}
