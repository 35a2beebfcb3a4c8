/* husk: a runc-compatible OCI runtime whose containers run in KVM microVMs.
 * This file holds the verb table, the global flags and the one place that
 * turns an error into a log line, a message and an exit status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/husk/husk.h"
#include "lib/cleanup.h"
#include "lib/log.h"

static const struct husk_cmd commands[] = {
        {"create", "create a container",
         "[--bundle DIR] [--pid-file F] [--console-socket S] "
         "[--no-pivot] [--no-new-keyring] [--preserve-fds N] ID",
         husk_cmd_create},
        {"start", "start a created container", "ID", husk_cmd_start},
        {"run", "create and start a container",
         "[--bundle DIR] [--pid-file F] [--console-socket S] "
         "[--detach] [--preserve-fds N] ID",
         husk_cmd_run},
        {"state", "print the state of a container as JSON", "ID", husk_cmd_state},
        {"kill", "send a signal to a container's init process", "[--all] ID [SIGNAL]",
         husk_cmd_kill},
        {"delete", "delete a container and everything it holds", "[--force] ID", husk_cmd_delete},
        {"exec", "run a new process in a container",
         "[--process F | ID CMD ARGS…] [--detach] "
         "[--pid-file F] [--tty] [--console-socket S] ID",
         husk_cmd_exec},
        {"ps", "list the processes of a container", "[--format table|json] ID", husk_cmd_ps},
        {"list", "list containers", "[--format table|json] [--quiet]", husk_cmd_list},
        {"pause", "pause every process of a container", "ID", husk_cmd_pause},
        {"resume", "resume a paused container", "ID", husk_cmd_resume},
        {"update", "change a container's resource limits", "[--resources F|-] ID", husk_cmd_update},
        {"events", "print container events and statistics", "[--stats] [--interval D] ID",
         husk_cmd_events},
        {"spec", "write a default config.json", "[--bundle DIR]", husk_cmd_spec},
        {"features", "print the runtime-spec features document", "", husk_cmd_features},
        {"check", "report what this host offers husk (KVM kind, virtiofsd, tun, SELinux)", "",
         husk_cmd_check},
        {"vm", "run a bare microVM in the foreground",
         "run --kernel PATH [--initrd PATH] "
         "[--cpus N] [--memory MIB] [… husk-vmm --help]",
         husk_cmd_vm},
};

static const struct husk_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < HK_ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void husk_usage(const char *verb)
{
	const struct husk_cmd *c = find_cmd(verb);

	if (c)
		printf("husk %s: %s\n\nusage: husk [global flags] %s %s\n", c->name, c->summary,
		       c->name, c->usage);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "husk %s: an OCI runtime whose containers run in KVM microVMs\n\n"
	        "usage: husk [global flags] COMMAND [flags] [ARGS]\n\ncommands:\n",
	        HUSK_VERSION);
	for (size_t i = 0; i < HK_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-9s %s\n", "help", "show the usage of a command");
	fprintf(f, "\nglobal flags:\n"
	           "  --root DIR           state directory (default /run/husk)\n"
	           "  --log FILE           write log lines to FILE (default stderr)\n"
	           "  --log-format F       text or json\n"
	           "  --debug              log debug lines\n"
	           "  --systemd-cgroup     accepted for runc compatibility\n"
	           "  -v, --version        print the version\n");
}

static void version(void)
{
	printf("husk version %s\nspec: %s\n", HUSK_VERSION, "1.2.0");
}

/* Reports err the way engines read it: a log line (json or text) and, when
 * the log is a file, also the plain message on stderr, as runc does. */
static int fail(hk_err **err)
{
	const char *msg = *err ? (*err)->msg : "unknown error";

	hk_error("%s", msg);
	if (hk_log_to_file())
		fprintf(stderr, "husk: %s\n", msg);
	hk_err_free(err);
	return 1;
}

enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_IGNORED };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"root", required_argument, NULL, OPT_ROOT},
	        {"log", required_argument, NULL, OPT_LOG},
	        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	        {"debug", no_argument, NULL, OPT_DEBUG},
	        {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
	        /* runc flags that mean nothing for a VM runtime; accepted so that
	         * engines configured for runc work unchanged. */
	        {"criu", required_argument, NULL, OPT_IGNORED},
	        {"rootless", required_argument, NULL, OPT_IGNORED},
	        {"version", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct husk_globals g = {.root = "/run/husk", .log_format = "text"};
	cleanup_err hk_err *err = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			g.root = optarg;
			break;
		case OPT_LOG:
			g.log = optarg;
			break;
		case OPT_LOG_FORMAT:
			g.log_format = optarg;
			break;
		case OPT_DEBUG:
			g.debug = true;
			break;
		case OPT_SYSTEMD:
			g.systemd_cgroup = true;
			break;
		case OPT_IGNORED:
			break;
		case 'v':
			version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "husk: unknown or incomplete global flag `%s`\n",
			        argv[optind - 1]);
			usage(stderr);
			return 1;
		}
	}

	enum hk_log_format lf;
	if (strcmp(g.log_format, "json") == 0) {
		lf = HK_LOG_JSON;
	} else if (strcmp(g.log_format, "text") == 0) {
		lf = HK_LOG_TEXT;
	} else {
		fprintf(stderr, "husk: unknown log format `%s` (text or json)\n", g.log_format);
		return 1;
	}
	if (hk_log_open(g.log, lf, g.debug ? HK_LOG_DEBUG : HK_LOG_INFO, &err) < 0) {
		fprintf(stderr, "husk: %s\n", err->msg);
		return 1;
	}
	if (g.systemd_cgroup)
		hk_debug("--systemd-cgroup: husk manages cgroups itself; the flag is ignored");

	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const char *verb = argv[optind];
	if (strcmp(verb, "help") == 0) {
		if (optind + 1 < argc && find_cmd(argv[optind + 1])) {
			husk_usage(argv[optind + 1]);
			return 0;
		}
		if (optind + 1 < argc) {
			fprintf(stderr, "husk: no command `%s`\n", argv[optind + 1]);
			return 1;
		}
		usage(stdout);
		return 0;
	}
	const struct husk_cmd *cmd = find_cmd(verb);
	if (cmd == NULL) {
		hk_err_set(&err, 0, "unknown command `%s` (see `husk help`)", verb);
		return fail(&err);
	}
	hk_debug("%s: started", verb);
	hk_timeline("cli-parsed");
	optind++; /* each verb parses its own flags from argv[optind - 1] on */
	int rc = cmd->run(&g, argc - optind + 1, argv + optind - 1, &err);
	if (rc < 0)
		return fail(&err);
	return rc;
}
