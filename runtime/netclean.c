/* After a monitor that died without tearing down (SIGKILL, a crash), the
 * filters it put on the engine's interfaces would go on redirecting the
 * container's traffic into a tap that is gone. delete undoes them from the
 * record the monitor left (net.json: the namespace and the interfaces), in a
 * child so that the runtime itself never changes namespace. Its taps needed
 * no care: they went with the monitor's file descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/nl.h"
#include "lib/util.h"
#include "runtime/container.h"

static int clear_links(const hk_json *links)
{
	struct hk_nl nl = {0};
	hk_err *err = NULL;
	int rc = 0;

	if (hk_nl_open(&nl, &err) < 0) {
		fprintf(stderr, "%s\n", err->msg);
		return 1;
	}
	for (size_t i = 0; links && links->type == HJ_ARRAY && i < links->n; i++) {
		unsigned index;
		const hk_json *l = links->vals[i];
		if (l->type != HJ_STRING)
			continue;
		/* A link that is gone took its filters with it. */
		if (hk_nl_link_index(&nl, l->s, &index, &err) < 0) {
			hk_err_free(&err);
			continue;
		}
		if (hk_nl_redirect_clear(&nl, index, &err) < 0) {
			fprintf(stderr, "%s\n", err->msg);
			hk_err_free(&err);
			rc = 1;
		}
	}
	hk_nl_close(&nl);
	return rc;
}

int rt_net_cleanup(const char *dir, hk_err **err)
{
	char path[PATH_MAX + 16];
	cleanup_free char *buf = NULL;
	cleanup_json hk_json *j = NULL;
	size_t len;
	int st;

	snprintf(path, sizeof(path), "%s/net.json", dir);
	if (hk_read_file(path, 65536, &buf, &len, NULL) < 0)
		return 0; /* the container had no network of its own */
	if (hk_json_parse(buf, len, NULL, &j, err) < 0)
		return hk_err_wrap(err, "`%s`", path);
	const hk_json *ns = hk_json_get(j, "netns"), *links = hk_json_get(j, "links");
	if (ns == NULL || ns->type != HJ_STRING)
		return hk_err_set(err, EINVAL, "`%s`: no netns", path);
	cleanup_close int fd = open(ns->s, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0
		                       : hk_err_set(err, errno, "network namespace `%s`", ns->s);
	pid_t pid = fork();
	if (pid < 0)
		return hk_err_set(err, errno, "fork");
	if (pid == 0)
		_exit(setns(fd, CLONE_NEWNET) < 0 ? 1 : clear_links(links));
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return hk_err_set(err, 0, "network: could not clear the redirects in `%s`", ns->s);
	return 0;
}
