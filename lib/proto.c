#include "lib/proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/util.h"

const char *const hk_proto_methods[] = {
        HK_M_CREATE_CONTAINER,
        HK_M_START_CONTAINER,
        HK_M_EXEC_PROCESS,
        HK_M_SIGNAL_PROCESS,
        HK_M_WAIT_PROCESS,
        HK_M_RESIZE_TTY,
        HK_M_CLOSE_STDIN,
        HK_M_STATS,
        HK_M_PAUSE,
        HK_M_RESUME,
        HK_M_UPDATE_RESOURCES,
        HK_M_UPDATE_INTERFACES,
        HK_M_UPDATE_ROUTES,
        HK_M_SHUTDOWN,
        HK_M_VERSION,
        HK_M_OPEN_STREAM,
        HK_M_STATE,
        HK_M_PS,
        HK_M_USE_CONTAINER,
        HK_M_DELETE_CONTAINER,
        NULL,
};

int hk_frame_split(const uint8_t *buf, size_t len, const uint8_t **payload, size_t *plen,
                   size_t *consumed, hk_err **err)
{
	uint32_t n;

	if (len < 4)
		return 0;
	memcpy(&n, buf, 4);
	n = ntohl(n);
	if (n == 0 || n > HK_PROTO_MAX_FRAME)
		return hk_err_set(err, EPROTO, "agent frame of %u bytes (1 to %u allowed)", n,
		                  HK_PROTO_MAX_FRAME);
	if (len - 4 < n)
		return 0;
	*payload = buf + 4;
	*plen = n;
	*consumed = 4 + (size_t)n;
	return 1;
}

int hk_frame_write(int fd, const char *payload, size_t len, hk_err **err)
{
	uint32_t n = htonl((uint32_t)len);

	if (len == 0 || len > HK_PROTO_MAX_FRAME)
		return hk_err_set(err, EMSGSIZE, "agent frame of %zu bytes", len);
	if (hk_write_all(fd, &n, 4, err) < 0 || hk_write_all(fd, payload, len, err) < 0)
		return hk_err_wrap(err, "agent frame");
	return 0;
}

static int bad(struct hk_msg *m, hk_err **err, const char *why)
{
	hk_msg_free(m);
	return hk_err_set(err, EPROTO, "agent message: %s", why);
}

int hk_msg_parse(const char *json, size_t len, struct hk_msg *m, hk_err **err)
{
	const hk_json *id, *method, *result, *error, *params;

	memset(m, 0, sizeof(*m));
	if (hk_json_parse(json, len, NULL, &m->root, err) < 0)
		return hk_err_wrap(err, "agent message");
	if (m->root->type != HJ_OBJECT)
		return bad(m, err, "not an object");
	id = hk_json_get(m->root, "id");
	if (id == NULL || id->type != HJ_NUMBER || hk_parse_u64(id->s, &m->id) < 0)
		return bad(m, err, "id: expected a non-negative integer");
	method = hk_json_get(m->root, "method");
	result = hk_json_get(m->root, "result");
	error = hk_json_get(m->root, "error");
	if ((method != NULL) + (result != NULL) + (error != NULL) != 1)
		return bad(m, err, "want exactly one of method, result, error");
	if (method) {
		if (method->type != HJ_STRING)
			return bad(m, err, "method: expected a string");
		const char *const *k = hk_proto_methods;
		while (*k && strcmp(*k, method->s) != 0)
			k++;
		if (*k == NULL)
			return bad(m, err, "method: unknown");
		params = hk_json_get(m->root, "params");
		if (params && params->type != HJ_OBJECT && params->type != HJ_NULL)
			return bad(m, err, "params: expected an object");
		m->kind = HK_MSG_REQUEST;
		m->method = method->s;
		m->params = params && params->type == HJ_OBJECT ? params : NULL;
	} else if (result) {
		if (result->type != HJ_OBJECT)
			return bad(m, err, "result: expected an object");
		m->kind = HK_MSG_RESULT;
		m->result = result;
	} else {
		const hk_json *code = hk_json_get(error, "code"),
		              *msg = hk_json_get(error, "message");
		if (error->type != HJ_OBJECT || code == NULL || code->type != HJ_NUMBER ||
		    hk_parse_i64(code->s, &m->code) < 0 || msg == NULL || msg->type != HJ_STRING)
			return bad(m, err, "error: expected {\"code\":N,\"message\":\"…\"}");
		m->kind = HK_MSG_ERROR;
		m->message = msg->s;
	}
	return 0;
}

void hk_msg_free(struct hk_msg *m)
{
	hk_json_free(m->root);
	m->root = NULL;
}

static int cancel_fd = -1;

void hk_proto_cancel_on(int fd)
{
	cancel_fd = fd;
}

int hk_proto_poll(struct pollfd *p, int ms)
{
	struct pollfd all[2];
	nfds_t n = 0;

	if (p)
		all[n++] = *p;
	if (cancel_fd >= 0)
		all[n++] = (struct pollfd){.fd = cancel_fd, .events = POLLIN};
	int r = poll(all, n, ms);
	if (r > 0 && cancel_fd >= 0 && all[n - 1].revents) {
		errno = ECANCELED;
		return -1;
	}
	if (p)
		p->revents = all[0].revents;
	return r;
}

/* Reads exactly len bytes before the deadline. */
static int read_full(int fd, void *buf, size_t len, uint64_t deadline_us, hk_err **err)
{
	uint8_t *p = buf;

	while (len > 0) {
		int ms = -1;
		if (deadline_us) {
			uint64_t now = hk_now_us();
			if (now >= deadline_us)
				return hk_err_set(err, ETIMEDOUT, "agent reply");
			ms = (int)((deadline_us - now + 999) / 1000);
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = hk_proto_poll(&pfd, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECANCELED)
			return hk_err_set(err, errno, "agent reply: the VM stopped");
		if (r < 0)
			return hk_err_set(err, errno, "poll");
		if (r == 0)
			continue;
		ssize_t n = read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return hk_err_set(err, errno, "read");
		if (n == 0)
			return hk_err_set(err, ECONNRESET, "the agent closed the connection");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int hk_frame_read_msg(int fd, int timeout_ms, struct hk_msg *m, hk_err **err)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : hk_now_us() + (uint64_t)timeout_ms * 1000;
	uint32_t n;

	if (read_full(fd, &n, 4, deadline, err) < 0)
		return -1;
	n = ntohl(n);
	if (n == 0 || n > HK_PROTO_MAX_FRAME)
		return hk_err_set(err, EPROTO, "agent frame of %u bytes (1 to %u allowed)", n,
		                  HK_PROTO_MAX_FRAME);
	char *buf = malloc(n);
	if (buf == NULL)
		return hk_err_set(err, ENOMEM, "agent frame");
	int r = read_full(fd, buf, n, deadline, err);
	if (r == 0)
		r = hk_msg_parse(buf, n, m, err);
	free(buf);
	return r;
}
