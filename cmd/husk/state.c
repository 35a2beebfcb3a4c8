/* husk list: every container under --root, with its live status. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/husk/husk.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "oci/spec.h"
#include "lib/buf.h"
#include "runtime/container.h"
#include "runtime/state.h"

struct list_out {
	bool json, quiet;
	unsigned n;
	struct rt_ctx ctx;
};

static int print_one(const struct oci_state *s, void *arg)
{
	struct list_out *o = arg;
	struct rt_info i;
	cleanup_err hk_err *err = NULL;

	if (o->quiet) {
		printf("%s\n", s->id);
		o->n++;
		return 0;
	}
	if (rt_info(&o->ctx, s->id, &i, &err) < 0)
		return 0; /* deleted meanwhile */
	if (o->json) {
		cleanup_buf struct hk_buf b = {0};
		husk_state_json(&i, s->id, false, &b);
		if (hk_buf_done(&b, NULL) == 0)
			printf("%s%s", o->n ? "," : "", b.s);
	} else {
		bool stopped = strcmp(i.status, "stopped") == 0;
		printf("%-12s %-8d %-10s %-40s %-30s %s\n", s->id, stopped ? 0 : (int)i.pid,
		       i.status, i.bundle, i.created, "root");
	}
	rt_info_free(&i);
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

	husk_ctx(g, &o.ctx);
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
		printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	if (o.json)
		printf("[");
	if (rt_state_each(g->root, print_one, &o, err) < 0)
		return hk_err_wrap(err, "list");
	if (o.json)
		printf("]\n");
	return 0;
}
