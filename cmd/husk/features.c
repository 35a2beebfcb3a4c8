/* husk features: the runtime-spec features document on stdout. */
#include <stdio.h>

#include "cmd/husk/husk.h"
#include "lib/cleanup.h"
#include "oci/extra.h"

int husk_cmd_features(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	cleanup_free char *json = NULL;

	if (argc > 1) {
		if (argv[1][0] == '-' && argv[1][1] == 'h') {
			husk_usage("features");
			return 0;
		}
		return hk_err_set(err, 0, "features: unexpected argument `%s`", argv[1]);
	}
	if (oci_features(HUSK_VERSION, &json, NULL, err) < 0)
		return -1;
	printf("%s\n", json);
	return 0;
}
