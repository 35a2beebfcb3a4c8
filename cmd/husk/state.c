/* husk state, list and delete: the verbs that read the state directory.
 * Until the runtime can create containers (the agent issue) the directory
 * is empty, and these answer as runc does for that: `state` and `delete`
 * of an unknown ID fail, `delete --force` of one succeeds (engines rely on
 * it), `list` shows nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/husk/husk.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "oci/spec.h"
#include "runtime/state.h"

static int one_id(int argc, char **argv, const char *verb, hk_err **err)
{
	if (optind + 1 != argc)
		return hk_err_set(err, 0, "%s: expected exactly one container ID", verb);
	return rt_id_check(argv[optind], err);
}

int husk_cmd_state(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	struct oci_state *s = NULL;
	cleanup_free char *json = NULL;

	optind = 1;
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		husk_usage("state");
		return 0;
	}
	if (one_id(argc, argv, "state", err) < 0 ||
	    rt_state_load(g->root, argv[optind], &s, err) < 0)
		return hk_err_wrap(err, "state");
	int r = oci_write(&oci_state_type, s, true, &json, NULL, err);
	oci_free(&oci_state_type, s);
	if (r < 0)
		return -1;
	printf("%s\n", json);
	return 0;
}

int husk_cmd_delete(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"force", no_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	bool force = false;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'h') {
			husk_usage("delete");
			return 0;
		} else
			return hk_err_set(err, 0, "delete: bad flag `%s`", argv[optind - 1]);
	}
	if (one_id(argc, argv, "delete", err) < 0)
		return hk_err_wrap(err, "delete");
	const char *id = argv[optind];
	if (!rt_exists(g->root, id)) {
		if (force)
			return 0; /* nothing to delete: what shims expect after a failed create */
		return hk_err_set(err, 0, "delete: container `%s` does not exist", id);
	}
	return hk_err_set(err, 0,
	                  "delete: not yet supported by this husk build for an existing "
	                  "container (it needs the microVM runtime)");
}

struct list_out {
	bool json, quiet;
	unsigned n;
};

static int print_one(const struct oci_state *s, void *arg)
{
	struct list_out *o = arg;

	if (o->quiet)
		printf("%s\n", s->id);
	else if (o->json) {
		printf("%s{\"id\":", o->n ? "," : "");
		hk_json_fputs(stdout, s->id);
		printf(",\"pid\":%lld,\"status\":", (long long)s->pid.v);
		hk_json_fputs(stdout, s->status);
		printf(",\"bundle\":");
		hk_json_fputs(stdout, s->bundle);
		printf("}");
	} else
		printf("%-12s %-8lld %-10s %s\n", s->id, (long long)s->pid.v, s->status, s->bundle);
	o->n++;
	return 0;
}

int husk_cmd_list(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"format", required_argument, NULL, 'f'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct list_out o = {0};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+f:qh", opts, NULL)) != -1) {
		if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			o.json = strcmp(optarg, "json") == 0;
		else if (c == 'q')
			o.quiet = true;
		else if (c == 'h') {
			husk_usage("list");
			return 0;
		} else
			return hk_err_set(err, 0,
			                  "list: bad flag `%s` (--format table|json, --quiet)",
			                  argv[optind - 1]);
	}
	if (!o.json && !o.quiet)
		printf("%-12s %-8s %-10s %s\n", "ID", "PID", "STATUS", "BUNDLE");
	if (o.json)
		printf("[");
	if (rt_state_each(g->root, print_one, &o, err) < 0)
		return hk_err_wrap(err, "list");
	if (o.json)
		printf("]\n");
	return 0;
}
