#include "lib/relay.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/util.h"

#define WAIT_ID 999

int hk_relay_ask_wait(int fd, const char *process, hk_err **err)
{
	cleanup_buf struct hk_buf b = {0};
	hk_buf_printf(&b, "{\"id\":%d,\"method\":\"%s\",\"params\":{\"process\":", WAIT_ID,
	              HK_M_WAIT_PROCESS);
	hk_buf_jstr(&b, process);
	hk_buf_printf(&b, "}}");
	if (hk_buf_done(&b, err) < 0)
		return -1;
	return hk_frame_write(fd, b.s, b.len, err);
}

/* Copies one read's worth; false at the end of the source. */
static bool copy(int from, int to)
{
	char buf[32768];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (to >= 0 && hk_write_all(to, buf, (size_t)n, NULL) < 0)
		return false;
	return true;
}

static int exit_status(int fd, int *status, hk_err **err)
{
	struct hk_msg m;
	if (hk_frame_read_msg(fd, 5000, &m, err) < 0)
		return -1;
	if (m.kind != HK_MSG_RESULT || m.id != WAIT_ID) {
		hk_err_set(err, EPROTO, "wait_process: %s",
		           m.kind == HK_MSG_ERROR ? m.message : "unexpected reply");
		hk_msg_free(&m);
		return -1;
	}
	const hk_json *code = hk_json_get(m.result, "exit_code"),
	              *sig = hk_json_get(m.result, "signal");
	int64_t c = 0, s = 0;
	if (code && code->type == HJ_NUMBER)
		hk_parse_i64(code->s, &c);
	if (sig && sig->type == HJ_NUMBER)
		hk_parse_i64(sig->s, &s);
	hk_msg_free(&m);
	*status = s > 0 && s < 65 ? (int)s : (int)((c & 0xff) << 8);
	return 0;
}

/* Copies what the process wrote; tracks which outputs have ended. */
static void pump(struct hk_relay *r, const struct pollfd *f, bool *tty_out)
{
	if (r->terminal) {
		if (*tty_out && (f[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !copy(r->stream[3], r->out))
			*tty_out = false;
		return;
	}
	for (int k = 0; k < 2; k++) {
		int *s = &r->stream[1 + k];
		if (*s >= 0 && (f[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !copy(*s, k ? r->err : r->out)) {
			close(*s);
			*s = -1;
		}
	}
}

int hk_relay_run(struct hk_relay *r, int *status, hk_err **err)
{
	bool in_open = r->in >= 0, have_exit = false, tty_open = true;
	uint64_t deadline = 0;

	for (;;) {
		bool outs = r->terminal ? tty_open : (r->stream[1] >= 0 || r->stream[2] >= 0);
		if (have_exit && (!outs || hk_now_us() >= deadline))
			return 0;
		struct pollfd f[6] = {
		        {.fd = r->terminal ? (tty_open ? r->stream[3] : -1) : r->stream[1],
		         .events = POLLIN},
		        {.fd = r->terminal ? -1 : r->stream[2], .events = POLLIN},
		        {.fd = r->stop_fd, .events = POLLIN},
		        {.fd = have_exit ? -1 : r->sig_fd, .events = POLLIN},
		        {.fd = have_exit ? -1 : r->wait_fd, .events = POLLIN},
		        {.fd = in_open && !have_exit ? r->in : -1, .events = POLLIN},
		};
		if (poll(f, 6, have_exit ? 100 : -1) < 0 && errno != EINTR)
			return hk_err_set(err, errno, "poll");
		if (f[2].revents)
			return 1;
		pump(r, f, &tty_open);
		if (f[3].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(r->sig_fd, &si, sizeof(si)) == sizeof(si))
				if (r->on_signal)
					r->on_signal((int)si.ssi_signo, r->arg);
		}
		if (f[5].revents & (POLLIN | POLLHUP | POLLERR)) {
			int to = r->terminal ? r->stream[3] : r->stream[0];
			if (!copy(r->in, to)) {
				in_open = false;
				if (!r->terminal && r->stream[0] >= 0)
					shutdown(r->stream[0], SHUT_WR);
			}
		}
		if (f[4].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (exit_status(r->wait_fd, status, err) < 0)
				return -1;
			have_exit = true;
			/* What the process wrote last is still on its way. */
			deadline = hk_now_us() + 5000000;
		}
	}
}
