/* The agent's vsock server on port 1024: one poll loop over the listener,
 * the connections (each a control connection until its first frame names
 * it a stream), the terminals it relays and SIGCHLD. A connection's
 * frames are hostile input: lib/proto checks each before dispatch. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "guest-agent/agent.h"
#include "guest-agent/ctr.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/proto.h"
#include "lib/util.h"

#define MAX_CONNS   64
#define MAX_WAITERS 64

struct conn {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	char bound[HK_CTR_ID_MAX + 1]; /* use_container's, or "" */
};

struct waiter {
	int fd;
	uint64_t id;
	const struct ctr *ctr;
	char process[128];
};

static struct conn conns[MAX_CONNS];
static size_t nconns;
static struct waiter waiters[MAX_WAITERS];
static size_t nwaiters;
static bool shutting_down;

static void send_frame(int fd, uint64_t id, const char *result, const char *errmsg, int code)
{
	cleanup_buf struct hk_buf b = {0};
	hk_buf_printf(&b, "{\"id\":%llu,", (unsigned long long)id);
	if (errmsg) {
		hk_buf_printf(&b, "\"error\":{\"code\":%d,\"message\":", code);
		hk_buf_jstr(&b, errmsg);
		hk_buf_printf(&b, "}}");
	} else
		hk_buf_printf(&b, "\"result\":%s}", result ? result : "{}");
	if (hk_buf_done(&b, NULL) == 0)
		hk_frame_write(fd, b.s, b.len, NULL);
}

static void drop_conn(size_t i, bool close_fd)
{
	for (size_t w = 0; w < nwaiters;) {
		if (waiters[w].fd == conns[i].fd)
			waiters[w] = waiters[--nwaiters];
		else
			w++;
	}
	if (close_fd)
		close(conns[i].fd);
	free(conns[i].buf);
	conns[i] = conns[--nconns];
}

static const struct {
	const char *method;
	int (*fn)(const hk_json *params, char **result, hk_err **err);
} methods[] = {
        {HK_M_CREATE_CONTAINER, ctr_create},
        {HK_M_START_CONTAINER, ctr_start},
        {HK_M_EXEC_PROCESS, ctr_exec},
        {HK_M_SIGNAL_PROCESS, ctr_signal},
        {HK_M_RESIZE_TTY, ctr_resize},
        {HK_M_STATE, ctr_state},
        {HK_M_PS, ctr_ps},
        {HK_M_PAUSE, ctr_pause},
        {HK_M_RESUME, ctr_resume},
        {HK_M_STATS, ctr_stats},
        {HK_M_UPDATE_RESOURCES, ctr_update},
};

/* Handles one request; returns 1 when the connection became a stream
 * (its fd now belongs to a process), 0 otherwise. */
static int dispatch(size_t ci, const struct hk_msg *m)
{
	int fd = conns[ci].fd;
	cleanup_err hk_err *err = NULL;
	cleanup_free char *res = NULL;

	ctr_bind(conns[ci].bound);
	if (strcmp(m->method, HK_M_USE_CONTAINER) == 0) {
		const hk_json *id = m->params ? hk_json_get(m->params, "id") : NULL;
		if (id == NULL || id->type != HJ_STRING || id->s[0] == '\0' ||
		    strlen(id->s) > HK_CTR_ID_MAX) {
			send_frame(fd, m->id, NULL, "use_container: want an id", EINVAL);
			return 0;
		}
		snprintf(conns[ci].bound, sizeof(conns[ci].bound), "%s", id->s);
		send_frame(fd, m->id, "{}", NULL, 0);
		return 0;
	}
	if (strcmp(m->method, HK_M_VERSION) == 0) {
		char v[32];
		snprintf(v, sizeof(v), "{\"version\":%d}", HK_PROTO_VERSION);
		send_frame(fd, m->id, v, NULL, 0);
		return 0;
	}
	if (strcmp(m->method, HK_M_OPEN_STREAM) == 0) {
		const hk_json *p = m->params ? hk_json_get(m->params, "process") : NULL,
		              *k = m->params ? hk_json_get(m->params, "kind") : NULL,
		              *c = m->params ? hk_json_get(m->params, "container") : NULL;
		if (p == NULL || k == NULL || p->type != HJ_STRING || k->type != HJ_STRING ||
		    (c && c->type != HJ_STRING)) {
			send_frame(fd, m->id, NULL, "open_stream: want process and kind", EINVAL);
			return 0;
		}
		if (ctr_stream_add(c ? c->s : conns[ci].bound, p->s, k->s, fd, &err) < 0) {
			send_frame(fd, m->id, NULL, err->msg, err->code);
			return 0;
		}
		send_frame(fd, m->id, "{}", NULL, 0);
		return 1;
	}
	if (strcmp(m->method, HK_M_WAIT_PROCESS) == 0) {
		const hk_json *p = m->params ? hk_json_get(m->params, "process") : NULL;
		const char *id = p && p->type == HJ_STRING ? p->s : HK_INIT_PROCESS;
		struct proc *pr = ctr_proc_find(ctr_current(), id);
		if (pr == NULL) {
			send_frame(fd, m->id, NULL, "wait_process: no such process", ENOENT);
		} else if (pr->exited) {
			res = ctr_exit_json(pr);
			send_frame(fd, m->id, res, NULL, 0);
		} else if (nwaiters == MAX_WAITERS) {
			send_frame(fd, m->id, NULL, "wait_process: too many waiters", EAGAIN);
		} else {
			struct waiter *w = &waiters[nwaiters++];
			w->fd = fd;
			w->id = m->id;
			w->ctr = pr->ctr;
			snprintf(w->process, sizeof(w->process), "%s", id);
		}
		return 0;
	}
	if (strcmp(m->method, HK_M_CLOSE_STDIN) == 0) {
		/* The host ends stdin by shutting down its side of the stream. */
		send_frame(fd, m->id, "{}", NULL, 0);
		return 0;
	}
	if (strcmp(m->method, HK_M_DELETE_CONTAINER) == 0) {
		const struct ctr *gone = ctr_current();
		if (ctr_delete(m->params, &res, &err) < 0) {
			send_frame(fd, m->id, NULL, err->msg, err->code);
			return 0;
		}
		/* Nobody hears of its exits now. */
		for (size_t w = 0; gone && w < nwaiters;) {
			if (waiters[w].ctr == gone) {
				send_frame(waiters[w].fd, waiters[w].id, NULL,
				           "the container was deleted", ECANCELED);
				waiters[w] = waiters[--nwaiters];
			} else
				w++;
		}
		send_frame(fd, m->id, res, NULL, 0);
		return 0;
	}
	if (strcmp(m->method, HK_M_SHUTDOWN) == 0) {
		send_frame(fd, m->id, "{}", NULL, 0);
		shutting_down = true;
		return 0;
	}
	for (size_t i = 0; i < HK_ARRAY_SIZE(methods); i++) {
		if (strcmp(m->method, methods[i].method) != 0)
			continue;
		if (methods[i].fn(m->params, &res, &err) < 0)
			send_frame(fd, m->id, NULL, err->msg, err->code);
		else
			send_frame(fd, m->id, res, NULL, 0);
		return 0;
	}
	send_frame(fd, m->id, NULL, "method not implemented", ENOSYS);
	return 0;
}

/* Reads what the connection has; dispatches whole frames. */
static void on_readable(size_t ci)
{
	struct conn *c = &conns[ci];
	if (c->cap - c->len < 65536) {
		size_t cap = c->cap ? c->cap * 2 : 131072;
		if (cap > HK_PROTO_MAX_FRAME + 4 + 65536) {
			drop_conn(ci, true);
			return;
		}
		uint8_t *b = realloc(c->buf, cap);
		if (b == NULL) {
			drop_conn(ci, true);
			return;
		}
		c->buf = b;
		c->cap = cap;
	}
	ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		drop_conn(ci, true);
		return;
	}
	c->len += (size_t)n;
	for (;;) {
		const uint8_t *payload;
		size_t plen, used;
		struct hk_msg m;
		cleanup_err hk_err *err = NULL;
		int r = hk_frame_split(c->buf, c->len, &payload, &plen, &used, &err);
		if (r == 0)
			return;
		if (r < 0 || hk_msg_parse((const char *)payload, plen, &m, &err) < 0 ||
		    m.kind != HK_MSG_REQUEST) {
			if (r >= 0 && err == NULL)
				hk_msg_free(&m);
			/* A peer that speaks nonsense loses its connection. */
			drop_conn(ci, true);
			return;
		}
		int became_stream = dispatch(ci, &m);
		hk_msg_free(&m);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (became_stream) {
			/* Streams block like any stdio fd. */
			fcntl(c->fd, F_SETFL, 0);
			drop_conn(ci, false);
			return;
		}
	}
}

static void on_exit_cb(struct proc *p, void *arg)
{
	cleanup_free char *res = ctr_exit_json(p);
	for (size_t w = 0; w < nwaiters;) {
		if (waiters[w].ctr == p->ctr && strcmp(waiters[w].process, p->id) == 0) {
			send_frame(waiters[w].fd, waiters[w].id, res, NULL, 0);
			waiters[w] = waiters[--nwaiters];
		} else
			w++;
	}
}

/* Copies what one side of a terminal has to the other; false at its end. */
static bool pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	return hk_write_all(to, buf, (size_t)n, NULL) == 0;
}

static void end_tty(struct proc *p)
{
	close(p->master);
	p->master = -1;
	if (p->stream[STREAM_TTY] >= 0)
		close(p->stream[STREAM_TTY]);
	p->stream[STREAM_TTY] = -1;
}

int agent_serve(void)
{
	int lfd, sfd;
	struct sockaddr_vm sa = {
	        .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = HK_AGENT_PORT};
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigaddset(&chld, SIGPIPE);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigdelset(&chld, SIGPIPE);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sfd < 0 || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 32) < 0) {
		agent_say("husk-agent: vsock port %d: %m", HK_AGENT_PORT);
		return 1;
	}
	agent_say("husk-agent: listening on vsock port %d", HK_AGENT_PORT);
	while (!shutting_down) {
		struct pollfd p[2 + MAX_CONNS + 2 * 32];
		struct proc *ttys[32];
		size_t n = 0, nt = 0;
		p[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (size_t i = 0; i < nconns; i++)
			p[n++] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
		for (struct ctr *c = agent_ctrs; c; c = c->next) {
			for (struct proc *pr = c->procs; pr && nt < 32; pr = pr->next) {
				if (pr->master < 0)
					continue;
				ttys[nt++] = pr;
				p[n++] = (struct pollfd){.fd = pr->master, .events = POLLIN};
				p[n++] = (struct pollfd){
				        .fd = pr->tty_in_closed ? -1 : pr->stream[STREAM_TTY],
				        .events = POLLIN};
			}
		}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			agent_say("husk-agent: poll: %m");
			return 1;
		}
		/* Terminals first, so output is forwarded before exits. */
		for (size_t t = 0; t < nt; t++) {
			struct pollfd *pm = &p[2 + nconns + 2 * t], *ps = pm + 1;
			if ((pm->revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !pump(ttys[t]->master, ttys[t]->stream[STREAM_TTY])) {
				end_tty(ttys[t]);
				continue;
			}
			if (ps->fd >= 0 && (ps->revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !pump(ttys[t]->stream[STREAM_TTY], ttys[t]->master)) {
				/* The host closed its input: keep the output going. */
				ttys[t]->tty_in_closed = true;
			}
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			ctr_reap(on_exit_cb, NULL);
		}
		/* Connections: walk backwards, drop_conn moves the last one in. */
		for (size_t i = nconns; i-- > 0;) {
			if (p[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
				on_readable(i);
		}
		if (p[0].revents & POLLIN) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c >= 0 && nconns < MAX_CONNS)
				conns[nconns++] = (struct conn){.fd = c};
			else if (c >= 0)
				close(c);
		}
	}
	return 0;
}
