/* husk vm run [husk-vmm flags]: a bare microVM in the foreground, for people
 * and tests. The monitor is husk-vmm beside this binary (or on PATH); husk
 * execs it so signals and the exit status are the monitor's own. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/husk/husk.h"
#include "lib/cleanup.h"

/* husk-vmm next to /proc/self/exe, else from PATH. */
static int find_vmm(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(out, len, "%s/husk-vmm", self) < (int)len &&
			    access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, len, "husk-vmm");
	return 0;
}

int husk_cmd_vm(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	char vmm[PATH_MAX];

	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			husk_usage("vm");
			return 0;
		}
		return hk_err_set(err, 0, "vm: want `husk vm run [husk-vmm flags]`");
	}
	find_vmm(vmm, sizeof(vmm));
	/* argv[1] ("run") becomes the monitor's argv[0]. */
	argv[1] = vmm;
	if (g->debug) {
		static char dbg[] = "--debug";
		argv[0] = vmm;
		argv[1] = dbg;
		execvp(vmm, argv);
	} else {
		execvp(vmm, argv + 1);
	}
	return hk_err_set(err, errno, "vm run: exec `%s`", vmm);
}
