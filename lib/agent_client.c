#include "lib/agent_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/util.h"

/* One attempt: connect, "CONNECT port", read "OK n" byte by byte (the
 * guest's bytes follow at once). 1 when nobody listened in the guest. */
static int try_connect(const char *uds, uint32_t port, int *out, uint64_t deadline, hk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cleanup_close int fd = -1;
	char line[32];
	size_t n = 0;

	if (strlen(uds) >= sizeof(sa.sun_path))
		return hk_err_set(err, ENAMETOOLONG, "vsock socket `%s`", uds);
	strcpy(sa.sun_path, uds);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hk_err_set(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return 1; /* the monitor is not listening yet */
		return hk_err_set(err, errno, "connect `%s`", uds);
	}
	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if (hk_write_all(fd, line, strlen(line), NULL) < 0)
		return 1;
	while (n < sizeof(line) - 1) {
		uint64_t now = hk_now_us();
		if (now >= deadline)
			return hk_err_set(err, ETIMEDOUT, "vsock port %u: no answer", port);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = hk_proto_poll(&p, (int)((deadline - now) / 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECANCELED)
			return hk_err_set(err, errno, "vsock port %u: the VM stopped", port);
		if (r <= 0)
			continue;
		ssize_t k = read(fd, line + n, 1);
		if (k <= 0)
			return 1; /* reset: no listener in the guest (yet) */
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	if (strncmp(line, "OK ", 3) != 0)
		return hk_err_set(err, EPROTO, "vsock port %u: unexpected answer", port);
	*out = fd;
	fd = -1;
	return 0;
}

int hk_vsock_connect(const char *uds, uint32_t port, int timeout_ms, hk_err **err)
{
	uint64_t deadline = hk_now_us() + (uint64_t)timeout_ms * 1000;
	int fd = -1;

	for (;;) {
		int r = try_connect(uds, port, &fd, deadline, err);
		if (r < 0)
			return -1;
		if (r == 0)
			return fd;
		if (hk_now_us() >= deadline)
			return hk_err_set(err, ETIMEDOUT,
			                  "the agent did not answer on vsock port %u", port);
		/* The guest is still booting: its listener appears by itself,
		 * with no event to wait on from here. */
		if (hk_proto_poll(NULL, 10) < 0 && errno == ECANCELED)
			return hk_err_set(err, errno, "vsock port %u: the VM stopped", port);
	}
}

int hk_agent_open(struct hk_agent *a, const char *uds, int timeout_ms, hk_err **err)
{
	a->next_id = 1;
	a->fd = hk_vsock_connect(uds, HK_AGENT_PORT, timeout_ms, err);
	return a->fd < 0 ? -1 : 0;
}

void hk_agent_close(struct hk_agent *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

int hk_agent_call(struct hk_agent *a, const char *method, const char *params, int timeout_ms,
                  struct hk_msg *reply, hk_err **err)
{
	cleanup_buf struct hk_buf b = {0};
	uint64_t id = a->next_id++;

	hk_buf_printf(&b, "{\"id\":%llu,\"method\":", (unsigned long long)id);
	hk_buf_jstr(&b, method);
	hk_buf_printf(&b, ",\"params\":%s}", params ? params : "{}");
	if (hk_buf_done(&b, err) < 0 || hk_frame_write(a->fd, b.s, b.len, err) < 0)
		return hk_err_wrap(err, "%s", method);
	if (hk_frame_read_msg(a->fd, timeout_ms, reply, err) < 0)
		return hk_err_wrap(err, "%s", method);
	if (reply->kind == HK_MSG_REQUEST || reply->id != id) {
		hk_msg_free(reply);
		return hk_err_set(err, EPROTO, "%s: the agent answered out of turn", method);
	}
	if (reply->kind == HK_MSG_ERROR) {
		int code = reply->code > 0 && reply->code < 4096 ? (int)reply->code : 0;
		hk_err_set(err, 0, "%s", reply->message);
		(*err)->code = code;
		hk_msg_free(reply);
		return -1;
	}
	return 0;
}

int hk_agent_use(struct hk_agent *a, const char *container, int timeout_ms, hk_err **err)
{
	cleanup_buf struct hk_buf p = {0};
	struct hk_msg reply;

	if (container == NULL)
		return 0;
	hk_buf_printf(&p, "{\"id\":");
	hk_buf_jstr(&p, container);
	hk_buf_printf(&p, "}");
	if (hk_buf_done(&p, err) < 0 ||
	    hk_agent_call(a, HK_M_USE_CONTAINER, p.s, timeout_ms, &reply, err) < 0)
		return -1;
	hk_msg_free(&reply);
	return 0;
}

int hk_agent_stream(const char *uds, const char *container, const char *process, const char *kind,
                    int timeout_ms, hk_err **err)
{
	struct hk_agent a;
	struct hk_msg reply;
	cleanup_buf struct hk_buf p = {0};

	if (hk_agent_open(&a, uds, timeout_ms, err) < 0)
		return -1;
	hk_buf_printf(&p, "{\"process\":");
	hk_buf_jstr(&p, process);
	hk_buf_printf(&p, ",\"kind\":");
	hk_buf_jstr(&p, kind);
	if (container) {
		hk_buf_printf(&p, ",\"container\":");
		hk_buf_jstr(&p, container);
	}
	hk_buf_printf(&p, "}");
	if (hk_buf_done(&p, err) < 0 ||
	    hk_agent_call(&a, HK_M_OPEN_STREAM, p.s, timeout_ms, &reply, err) < 0) {
		hk_agent_close(&a);
		return hk_err_wrap(err, "%s stream", kind);
	}
	hk_msg_free(&reply);
	return a.fd;
}
