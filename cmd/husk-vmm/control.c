/* The control socket: a Unix stream socket on which the runtime (or a
 * person with socat) asks the monitor things. One request per line, JSON:
 *   {"cmd":"status"} → {"ok":true,"boot_time_us":N,"first_run_us":N,"vcpus":[tid,…]}
 *   {"cmd":"stop"}   → {"ok":true}, then the VM stops as on SIGTERM
 * Anything else gets {"ok":false,"error":"…"}. Clients are the host's own
 * tools, but the parser is the same hardened one the OCI documents use.
 *
 * Not for users, for the security tests: {"cmd":"debug-forbidden-syscall"}
 * answers {"ok":true}, then makes a syscall on no allow-list (mount, with
 * arguments that could do nothing even unfiltered), so a test can see the
 * monitor killed by SIGSYS. It gives a client no more than "stop" does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd/husk-vmm/control.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"

#define MAX_REQUEST 4096

struct client {
	struct vmm_control *ctl;
	int fd;
	char buf[MAX_REQUEST];
	size_t len;
};

static void reply(int fd, const char *s)
{
	/* Best effort: a client that went away loses its answer. */
	(void)!send(fd, s, strlen(s), MSG_NOSIGNAL);
}

static void close_client(struct client *c)
{
	vmm_loop_del(c->ctl->vm->loop, c->fd);
	close(c->fd);
	free(c);
}

static void handle(struct client *c, const char *line)
{
	struct vmm_vm *vm = c->ctl->vm;
	cleanup_json hk_json *j = NULL;
	cleanup_err hk_err *err = NULL;
	const hk_json *cmd;

	if (hk_json_parse(line, strlen(line), NULL, &j, &err) < 0 ||
	    (cmd = hk_json_get(j, "cmd")) == NULL || cmd->type != HJ_STRING) {
		reply(c->fd, "{\"ok\":false,\"error\":\"want {\\\"cmd\\\":\\\"…\\\"}\"}\n");
		return;
	}
	if (strcmp(cmd->s, "status") == 0) {
		char out[2048];
		size_t n = (size_t)snprintf(out, sizeof(out),
		                            "{\"ok\":true,\"boot_time_us\":%llu,"
		                            "\"first_run_us\":%llu,\"vcpus\":[",
		                            (unsigned long long)vm->boot_time_us,
		                            (unsigned long long)vm->first_run_us);
		for (unsigned i = 0; i < vm->nvcpus && n < sizeof(out) - 32; i++)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%d", i ? "," : "",
			                      (int)vm->vcpus[i].tid);
		snprintf(out + n, sizeof(out) - n, "]}\n");
		reply(c->fd, out);
	} else if (strcmp(cmd->s, "stop") == 0) {
		reply(c->fd, "{\"ok\":true}\n");
		vmm_vm_exit(vm, VMM_EXIT_SIGNAL, "stopped through the control socket");
	} else if (strcmp(cmd->s, "debug-forbidden-syscall") == 0) {
		reply(c->fd, "{\"ok\":true}\n");
		long r = syscall(SYS_mount, NULL, NULL, NULL, 0UL, NULL);
		hk_warn("debug-forbidden-syscall: mount returned %ld: seccomp is off", r);
	} else {
		reply(c->fd, "{\"ok\":false,\"error\":\"unknown command\"}\n");
	}
}

static void on_client(void *arg, uint32_t events)
{
	struct client *c = arg;
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		close_client(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	char *nl;
	while ((nl = strchr(c->buf, '\n')) != NULL) {
		*nl = '\0';
		handle(c, c->buf);
		size_t rest = c->len - (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, rest);
		c->len = rest;
		c->buf[c->len] = '\0';
	}
	if (c->len == sizeof(c->buf) - 1) {
		reply(c->fd, "{\"ok\":false,\"error\":\"request too long\"}\n");
		close_client(c);
	}
}

static void on_accept(void *arg, uint32_t events)
{
	struct vmm_control *ctl = arg;
	cleanup_err hk_err *err = NULL;
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	struct client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	if (vmm_loop_add(ctl->vm->loop, fd, EPOLLIN, on_client, c, &err) < 0) {
		hk_warn("control: %s", err->msg);
		close(fd);
		free(c);
	}
}

int vmm_control_open(struct vmm_control *ctl, struct vmm_vm *vm, const char *path, hk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	ctl->vm = vm;
	ctl->path = path;
	ctl->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return hk_err_set(err, ENAMETOOLONG, "control socket `%s`", path);
	strcpy(sa.sun_path, path);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0)
		return hk_err_set(err, errno, "control socket");
	unlink(path); /* a stale socket from a monitor that died */
	if (bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ctl->fd, 16) < 0) {
		int e = errno;
		close(ctl->fd);
		ctl->fd = -1;
		return hk_err_set(err, e, "control socket `%s`", path);
	}
	if (vmm_loop_add(vm->loop, ctl->fd, EPOLLIN, on_accept, ctl, err) < 0) {
		vmm_control_close(ctl);
		return -1;
	}
	return 0;
}

void vmm_control_close(struct vmm_control *ctl)
{
	if (ctl->fd < 0)
		return;
	vmm_loop_del(ctl->vm->loop, ctl->fd);
	close(ctl->fd);
	unlink(ctl->path);
	ctl->fd = -1;
}
