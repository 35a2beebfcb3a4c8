/* Verbs whose machinery (the microVM monitor and the guest agent) has not
 * landed yet answer with one clear error instead of pretending. create and
 * run already read and validate the bundle's config.json, so a broken
 * config is reported as such, with its JSON path, before anything else. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/husk/husk.h"
#include "lib/cleanup.h"
#include "oci/spec.h"

static int check_bundle(int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"bundle", required_argument, NULL, 'b'},
	        {"pid-file", required_argument, NULL, 'p'},
	        {"console-socket", required_argument, NULL, 'c'},
	        {"preserve-fds", required_argument, NULL, 'f'},
	        {"detach", no_argument, NULL, 'd'},
	        {"no-pivot", no_argument, NULL, 'n'},
	        {"no-new-keyring", no_argument, NULL, 'k'},
	        {0},
	};
	const char *bundle = ".";
	cleanup_free char *path = NULL;
	struct oci_spec *spec = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+b:d", opts, NULL)) != -1) {
		if (c == 'b')
			bundle = optarg;
		else if (c == '?')
			return hk_err_set(err, 0, "%s: bad flag `%s`", argv[0], argv[optind - 1]);
	}
	if (optind + 1 != argc)
		return hk_err_set(err, 0, "%s: expected exactly one container ID", argv[0]);
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return hk_err_set(err, 0, "%s: out of memory", argv[0]);
	if (oci_spec_load(path, &spec, err) < 0)
		return hk_err_wrap(err, "%s %s", argv[0], argv[optind]);
	oci_spec_free(spec);
	return 0;
}

int husk_cmd_pending(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	if ((strcmp(argv[0], "create") == 0 || strcmp(argv[0], "run") == 0) &&
	    check_bundle(argc, argv, err) < 0)
		return -1;
	return hk_err_set(err, 0,
	                  "%s: not yet supported by this husk build: it needs the microVM "
	                  "runtime, which is still being built",
	                  argv[0]);
}
