/* husk-cilc: compiles CIL files into a binary SELinux policy with
 * libsepol's CIL compiler, as secilc does; the build uses it so that the
 * sVirt module (policy/husk.cil) is compiled and checked on every build
 * without SELinux userland on the build host.
 *
 *   husk-cilc [--mcs-categories N] -o OUT FILE.cil...
 *
 * --mcs-categories declares c0..cN-1, ordered and all valid with s0: the
 * 1024 declarations every MCS base policy has, generated rather than
 * written out in policy/base.cil. HUSK_CILC_DEBUG=1 in the environment
 * shows libsepol's progress, which names the pass a failure happened in. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sepol/cil/cil.h>
#include <sepol/policydb.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/util.h"

static void categories(struct hk_buf *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		hk_buf_printf(b, "(category c%u)\n", i);
	hk_buf_printf(b, "(categoryorder (");
	for (unsigned i = 0; i < n; i++)
		hk_buf_printf(b, "%sc%u", i ? " " : "", i);
	hk_buf_printf(b, "))\n(sensitivitycategory s0 (range c0 c%u))\n", n - 1);
}

static int add_file(cil_db_t *db, const char *path, hk_err **err)
{
	cleanup_free char *buf = NULL;
	size_t len;

	if (hk_read_file(path, 64u << 20, &buf, &len, err) < 0)
		return -1;
	if (cil_add_file(db, path, buf, len) != SEPOL_OK)
		return hk_err_set(err, 0, "%s: CIL syntax error", path);
	return 0;
}

/* Written beside out and renamed: a failed build leaves no half policy
 * for make to take as up to date. */
static int write_policy(sepol_policydb_t *pdb, const char *out, hk_err **err)
{
	cleanup_free char *tmp = NULL;
	sepol_policy_file_t *pf = NULL;
	FILE *f;

	if (asprintf(&tmp, "%s.tmp", out) < 0)
		return hk_err_set(err, ENOMEM, "%s", out);
	if ((f = fopen(tmp, "we")) == NULL)
		return hk_err_set(err, errno, "create `%s`", tmp);
	if (sepol_policy_file_create(&pf) < 0) {
		fclose(f);
		unlink(tmp);
		return hk_err_set(err, ENOMEM, "%s", out);
	}
	sepol_policy_file_set_fp(pf, f);
	int r = sepol_policydb_write(pdb, pf);
	sepol_policy_file_free(pf);
	if (fclose(f) != 0 || r < 0) {
		unlink(tmp);
		return hk_err_set(err, r < 0 ? 0 : errno, "write `%s`", tmp);
	}
	if (rename(tmp, out) < 0) {
		unlink(tmp);
		return hk_err_set(err, errno, "rename `%s`", tmp);
	}
	return 0;
}

static int build(char **files, int nfiles, unsigned ncats, const char *out, hk_err **err)
{
	cil_db_t *db = NULL;
	sepol_policydb_t *pdb = NULL;
	int r = -1;

	/* libsepol prints its own diagnostics. Errors only: a host's policy
	 * warns of every optional block it disables, thousands of lines. */
	cil_set_log_level(getenv("HUSK_CILC_DEBUG") ? CIL_INFO : CIL_ERR);
	cil_db_init(&db);
	cil_set_mls(db, 1);
	for (int i = 0; i < nfiles; i++)
		if (add_file(db, files[i], err) < 0)
			goto out;
	if (ncats) {
		cleanup_buf struct hk_buf b = {0};
		categories(&b, ncats);
		if (hk_buf_done(&b, err) < 0)
			goto out;
		if (cil_add_file(db, "<mcs-categories>", b.s, b.len) != SEPOL_OK) {
			hk_err_set(err, 0, "generated categories: CIL syntax error");
			goto out;
		}
	}
	if (cil_compile(db) != SEPOL_OK) {
		hk_err_set(err, 0, "the policy does not compile (see above)");
		goto out;
	}
	if (cil_build_policydb(db, &pdb) != SEPOL_OK) {
		hk_err_set(err, 0, "no binary policy could be built (see above)");
		goto out;
	}
	r = write_policy(pdb, out, err);
out:
	if (pdb)
		sepol_policydb_free(pdb);
	cil_db_destroy(&db);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"output", required_argument, NULL, 'o'},
	        {"mcs-categories", required_argument, NULL, 'c'},
	        {0},
	};
	const char *out = NULL;
	uint64_t ncats = 0;
	cleanup_err hk_err *err = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "o:c:", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'c' && hk_parse_u64(optarg, &ncats) == 0 && ncats >= 2 &&
		         ncats <= 1024)
			;
		else {
			fprintf(stderr, "usage: husk-cilc [--mcs-categories 2..1024] -o OUT "
			                "FILE.cil...\n");
			return 2;
		}
	}
	if (out == NULL || optind >= argc) {
		fprintf(stderr, "usage: husk-cilc [--mcs-categories 2..1024] -o OUT FILE.cil...\n");
		return 2;
	}
	if (build(argv + optind, argc - optind, (unsigned)ncats, out, &err) < 0) {
		fprintf(stderr, "husk-cilc: %s\n", err->msg);
		return 1;
	}
	return 0;
}
