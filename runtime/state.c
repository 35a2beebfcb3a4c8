#include "runtime/state.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/util.h"

#define MAX_ID 1024

int rt_id_check(const char *id, hk_err **err)
{
	size_t n = strlen(id);

	if (n == 0 || n > MAX_ID || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return hk_err_set(err, 0, "invalid container ID `%.64s`", id);
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_+-.", *p)))
			return hk_err_set(err, 0, "invalid container ID `%.64s`", id);
	return 0;
}

static char *state_path(const char *root, const char *id)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s/state.json", root, id) < 0)
		return NULL;
	return p;
}

bool rt_exists(const char *root, const char *id)
{
	cleanup_free char *dir = NULL;
	struct stat st;

	if (rt_id_check(id, NULL) < 0 || asprintf(&dir, "%s/%s", root, id) < 0)
		return false;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int rt_state_load(const char *root, const char *id, struct oci_state **out, hk_err **err)
{
	cleanup_free char *path = NULL;

	if (rt_id_check(id, err) < 0)
		return -1;
	path = state_path(root, id);
	if (path == NULL)
		return hk_err_set(err, ENOMEM, "state of `%s`", id);
	if (!rt_exists(root, id)) {
		hk_err_set(err, 0, "container `%s` does not exist", id);
		if (err && *err)
			(*err)->code = ENOENT; /* callers tell "unknown" from "broken" */
		return -1;
	}
	return oci_load(&oci_state_type, path, (void **)out, err);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rt_state_each(const char *root, int (*fn)(const struct oci_state *s, void *arg), void *arg,
                  hk_err **err)
{
	DIR *d = opendir(root);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : hk_err_set(err, errno, "open state root `%s`", root);
	while ((de = readdir(d)) != NULL) {
		if (rt_id_check(de->d_name, NULL) < 0 || !rt_exists(root, de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (nn == NULL) {
				r = hk_err_set(err, ENOMEM, "list `%s`", root);
				break;
			}
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			r = hk_err_set(err, ENOMEM, "list `%s`", root);
			break;
		}
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct oci_state *s = NULL;
		cleanup_err hk_err *e = NULL;
		if (rt_state_load(root, names[i], &s, &e) < 0)
			hk_warn("skipping `%s`: %s", names[i], e->msg);
		else
			r = fn(s, arg);
		oci_free(&oci_state_type, s);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}
