/* husk spec: write a default config.json into the bundle, like runc spec. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/husk/husk.h"
#include "lib/cleanup.h"
#include "lib/util.h"
#include "oci/extra.h"

int husk_cmd_spec(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"bundle", required_argument, NULL, 'b'},
	        {"rootless", no_argument, NULL, 'r'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *bundle = ".";
	cleanup_free char *json = NULL, *path = NULL;
	cleanup_close int fd = -1;
	size_t len;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case 'r':
			/* A VM sandbox needs no rootless variant of the spec. */
			break;
		case 'h':
			husk_usage("spec");
			return 0;
		default:
			return hk_err_set(err, 0, "spec: bad flag `%s`", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return hk_err_set(err, 0, "spec: unexpected argument `%s`", argv[optind]);
	if (oci_default_spec(&json, &len, err) < 0)
		return -1;
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return hk_err_set(err, ENOMEM, "spec");
	/* O_EXCL: never overwrite someone's config, as runc refuses too. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0 && errno == EEXIST)
		return hk_err_set(err, 0, "spec: `%s` exists; remove it first", path);
	if (fd < 0)
		return hk_err_set(err, errno, "spec: create `%s`", path);
	if (hk_write_all(fd, json, len, err) < 0 || hk_write_all(fd, "\n", 1, err) < 0)
		return hk_err_wrap(err, "spec: `%s`", path);
	return 0;
}
