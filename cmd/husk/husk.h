/* The husk CLI: runc's command line. One file per verb, a table in main.c;
 * only code under cmd/ decides exit statuses. */
#ifndef HUSK_CMD_H
#define HUSK_CMD_H

#include <stdbool.h>

#include "lib/error.h"

#ifndef HUSK_VERSION
#define HUSK_VERSION "0.0.0-dev"
#endif

/* The global flags runc has; engines pass them before the verb. */
struct husk_globals {
	const char *root; /* state directory, /run/husk by default */
	const char *log;
	const char *log_format;
	bool debug;
	bool systemd_cgroup; /* accepted for compatibility; husk has no systemd driver */
};

struct husk_cmd {
	const char *name;
	const char *summary;
	const char *usage; /* flags and arguments, shown by `husk help VERB` */
	/* Returns the exit status, or -1 with err set. argv[0] is the verb. */
	int (*run)(const struct husk_globals *g, int argc, char **argv, hk_err **err);
};

int husk_cmd_spec(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_features(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_check(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_vm(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_state(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_delete(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_list(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_create(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_start(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_run(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_kill(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_exec(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_ps(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_pause(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_resume(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_update(const struct husk_globals *g, int argc, char **argv, hk_err **err);
int husk_cmd_events(const struct husk_globals *g, int argc, char **argv, hk_err **err);

struct rt_ctx;
struct rt_info;
struct hk_buf;
void husk_ctx(const struct husk_globals *g, struct rt_ctx *c);
/* Checks that argv[optind] is the one and last argument, a valid ID. */
int husk_one_id(int argc, char **argv, hk_err **err);
int husk_state_json(const struct rt_info *i, const char *id, bool pretty, struct hk_buf *b);

/* Prints the usage of a verb; used by each verb's --help. */
void husk_usage(const char *verb);

#endif
