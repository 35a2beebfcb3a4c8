/* husk create, start, run, kill, delete and state: runc's lifecycle verbs,
 * with runc's flags, messages and exit statuses, over runtime/container.c. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/husk/husk.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/container.h"
#include "runtime/state.h"

void husk_ctx(const struct husk_globals *g, struct rt_ctx *c)
{
	c->root = g->root;
	c->log = g->log;
	c->log_json = strcmp(g->log_format, "json") == 0;
	c->debug = g->debug;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

int husk_one_id(int argc, char **argv, hk_err **err)
{
	if (optind + 1 != argc)
		return hk_err_set(err, 0, "%s: expected exactly one container ID", argv[0]);
	return rt_id_check(argv[optind], err);
}

static int parse_create(int argc, char **argv, struct rt_create_opts *o, bool *detach, hk_err **err)
{
	static const struct option opts[] = {
	        {"bundle", required_argument, NULL, 'b'},
	        {"pid-file", required_argument, NULL, 'p'},
	        {"console-socket", required_argument, NULL, 'c'},
	        {"preserve-fds", required_argument, NULL, 'f'},
	        {"detach", no_argument, NULL, 'd'},
	        {"no-pivot", no_argument, NULL, 'n'},
	        {"no-new-keyring", no_argument, NULL, 'k'},
	        {"keep", no_argument, NULL, 'K'},
	        {"no-subreaper", no_argument, NULL, 'S'},
	        {0},
	};
	int c;

	o->bundle = ".";
	optind = 0;
	while ((c = getopt_long(argc, argv, "+b:d", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bundle = optarg;
			break;
		case 'p':
			o->pid_file = optarg;
			break;
		case 'c':
			o->console_socket = optarg;
			break;
		case 'd':
			*detach = true;
			break;
		case 'f': {
			/* Descriptors cannot cross into a VM; say so once. */
			if (strcmp(optarg, "0") != 0)
				hk_warn("--preserve-fds %s: descriptors cannot be passed into a "
				        "microVM; ignored",
				        optarg);
			break;
		}
		case 'n':
		case 'k':
		case 'K':
		case 'S':
			break;
		default:
			return hk_err_set(err, 0, "%s: bad flag `%s`", argv[0], argv[optind - 1]);
		}
	}
	if (husk_one_id(argc, argv, err) < 0)
		return -1;
	o->id = argv[optind];
	return 0;
}

int husk_cmd_create(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	struct rt_create_opts o = {0};
	struct rt_ctx c;
	bool detach = false;
	pid_t vmm;

	if (want_help(argc, argv)) {
		husk_usage("create");
		return 0;
	}
	husk_ctx(g, &c);
	if (parse_create(argc, argv, &o, &detach, err) < 0 || rt_create(&c, &o, &vmm, err) < 0)
		return -1;
	return 0;
}

int husk_cmd_start(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	struct rt_ctx c;

	if (want_help(argc, argv)) {
		husk_usage("start");
		return 0;
	}
	husk_ctx(g, &c);
	optind = 1;
	if (husk_one_id(argc, argv, err) < 0 || rt_start(&c, argv[optind], err) < 0)
		return -1;
	return 0;
}

/* run: create and start; in the foreground, wait for the container and
 * leave with its status, then delete it, as runc does. */
int husk_cmd_run(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	struct rt_create_opts o = {0};
	struct rt_ctx c;
	bool detach = false;
	pid_t vmm;
	int st;

	if (want_help(argc, argv)) {
		husk_usage("run");
		return 0;
	}
	husk_ctx(g, &c);
	if (parse_create(argc, argv, &o, &detach, err) < 0)
		return -1;
	o.foreground = !detach;
	if (rt_create(&c, &o, &vmm, err) < 0)
		return -1;
	if (rt_start(&c, o.id, err) < 0) {
		cleanup_err hk_err *e2 = NULL;
		rt_delete(&c, o.id, true, &e2);
		return -1;
	}
	if (detach)
		return 0;
	/* The monitor forwards our signals to the container itself (it is in
	 * our process group); here they must not kill the waiting runtime. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(vmm, &st, 0) < 0 && errno == EINTR)
		;
	hk_timeline("monitor-exited");
	cleanup_err hk_err *e2 = NULL;
	if (rt_delete(&c, o.id, true, &e2) < 0)
		hk_warn("%s", e2->msg);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

int husk_cmd_kill(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"all", no_argument, NULL, 'a'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct rt_ctx c;
	bool all = false;
	int sig = SIGTERM, ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+ah", opts, NULL)) != -1) {
		if (ch == 'a')
			all = true;
		else if (ch == 'h') {
			husk_usage("kill");
			return 0;
		} else
			return hk_err_set(err, 0, "kill: bad flag `%s`", argv[optind - 1]);
	}
	if (optind >= argc || argc - optind > 2)
		return hk_err_set(err, 0, "kill: want ID [SIGNAL]");
	if (rt_id_check(argv[optind], err) < 0)
		return -1;
	if (argc - optind == 2 && rt_parse_signal(argv[optind + 1], &sig, err) < 0)
		return -1;
	husk_ctx(g, &c);
	return rt_kill(&c, argv[optind], sig, all, err) < 0 ? -1 : 0;
}

int husk_cmd_delete(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"force", no_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct rt_ctx c;
	bool force = false;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
		if (ch == 'f')
			force = true;
		else if (ch == 'h') {
			husk_usage("delete");
			return 0;
		} else
			return hk_err_set(err, 0, "delete: bad flag `%s`", argv[optind - 1]);
	}
	if (husk_one_id(argc, argv, err) < 0)
		return hk_err_wrap(err, "delete");
	husk_ctx(g, &c);
	return rt_delete(&c, argv[optind], force, err) < 0 ? hk_err_wrap(err, "delete") : 0;
}

/* runc's state document: the OCI state plus rootfs, created and owner. */
int husk_state_json(const struct rt_info *i, const char *id, bool pretty, struct hk_buf *b)
{
	const char *nl = pretty ? "\n  " : "", *sp = pretty ? " " : "";
	bool stopped = strcmp(i->status, "stopped") == 0;

	hk_buf_printf(b, "{%s\"ociVersion\":%s\"1.2.0\",%s\"id\":%s", nl, sp, nl, sp);
	hk_buf_jstr(b, id);
	hk_buf_printf(b, ",%s\"pid\":%s%d,%s\"status\":%s", nl, sp, stopped ? 0 : (int)i->pid, nl,
	              sp);
	hk_buf_jstr(b, i->status);
	hk_buf_printf(b, ",%s\"bundle\":%s", nl, sp);
	hk_buf_jstr(b, i->bundle);
	hk_buf_printf(b, ",%s\"rootfs\":%s", nl, sp);
	char rootfs[4200];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", i->bundle);
	hk_buf_jstr(b, rootfs);
	hk_buf_printf(b, ",%s\"created\":%s", nl, sp);
	hk_buf_jstr(b, i->created[0] ? i->created : "0001-01-01T00:00:00Z");
	hk_buf_printf(b, ",%s\"owner\":%s\"\"", nl, sp);
	if (i->state && i->state->annotations.n) {
		hk_buf_printf(b, ",%s\"annotations\":%s{", nl, sp);
		for (size_t k = 0; k < i->state->annotations.n; k++) {
			hk_buf_printf(b, "%s%s", k ? "," : "", pretty ? "\n    " : "");
			hk_buf_jstr(b, i->state->annotations.v[k].key);
			hk_buf_printf(b, ":%s", sp);
			hk_buf_jstr(b, i->state->annotations.v[k].value);
		}
		hk_buf_printf(b, "%s}", pretty ? "\n  " : "");
	}
	/* husk's own: where each vCPU runs and what it cost (DESIGN §3). */
	if (!stopped) {
		hk_buf_printf(b, ",%s\"vcpus\":%s", nl, sp);
		rt_vcpus_json(i->pid, b);
	}
	hk_buf_printf(b, "%s}", pretty ? "\n" : "");
	return 0;
}

int husk_cmd_state(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	struct rt_ctx c;
	struct rt_info i;
	cleanup_buf struct hk_buf b = {0};

	if (want_help(argc, argv)) {
		husk_usage("state");
		return 0;
	}
	husk_ctx(g, &c);
	optind = 1;
	if (husk_one_id(argc, argv, err) < 0 || rt_info(&c, argv[optind], &i, err) < 0)
		return hk_err_wrap(err, "state");
	husk_state_json(&i, argv[optind], true, &b);
	rt_info_free(&i);
	if (hk_buf_done(&b, err) < 0)
		return -1;
	printf("%s\n", b.s);
	return 0;
}
