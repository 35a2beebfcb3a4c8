/* OCI hooks on the host, run as runc runs them: each in order, the state
 * JSON on its stdin, its args as given (argv[0] included), its env (or the
 * runtime's own when none is given, as Go's exec does), killed at its
 * timeout. A hook that fails names itself and carries what it printed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/util.h"
#include "runtime/hooks.h"

extern char **environ;

/* What a failing hook printed is kept up to this much, for the message. */
#define HOOK_OUTPUT_MAX 4096

static __attribute__((noreturn)) void hook_child(const struct oci_hook *h, int in, int out)
{
	char *argv0[] = {h->path, NULL};

	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	hk_close_fds_from(3, NULL, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(h->path, h->args.n ? h->args.v : argv0, h->env.set ? h->env.v : environ);
	dprintf(2, "exec: %s", strerror(errno));
	_exit(127);
}

/* Trailing newlines off what the hook printed, for a one-line message. */
static void trim(char *s, size_t *n)
{
	while (*n && (s[*n - 1] == '\n' || s[*n - 1] == '\r'))
		s[--*n] = '\0';
}

static int run_one(const struct oci_hook *h, const char *where, const char *state, hk_err **err)
{
	cleanup_close int in_host = -1, out_host = -1, pidfd = -1;
	int in[2], out[2];
	char output[HOOK_OUTPUT_MAX + 1];
	size_t got = 0, sent = 0, len = strlen(state);
	uint64_t deadline = 0;
	int status = 0;
	bool exited = false;

	if (h->path == NULL || h->path[0] != '/')
		return hk_err_set(err, EINVAL, "%s: path must be absolute", where);
	/* A socket rather than a pipe for stdin: a hook that exits without
	 * reading it costs an EPIPE, not a SIGPIPE (MSG_NOSIGNAL). */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
		return hk_err_set(err, errno, "%s: socketpair", where);
	if (pipe2(out, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		return hk_err_set(err, e, "%s: pipe", where);
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		return hk_err_set(err, e, "%s: fork", where);
	}
	if (pid == 0)
		hook_child(h, in[1], out[1]);
	close(in[1]);
	close(out[1]);
	in_host = in[0];
	out_host = out[0];
	fcntl(in_host, F_SETFL, O_NONBLOCK);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		int e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return hk_err_set(err, e, "%s: pidfd_open", where);
	}
	if (h->timeout.set) {
		if (h->timeout.v <= 0)
			return hk_err_set(err, EINVAL, "%s: timeout must be positive", where);
		deadline = hk_now_us() + (uint64_t)h->timeout.v * 1000000u;
	}
	while (!exited || out_host >= 0) {
		struct pollfd pf[3] = {
		        {.fd = exited ? -1 : pidfd, .events = POLLIN},
		        {.fd = out_host, .events = POLLIN},
		        {.fd = sent < len ? in_host : -1, .events = POLLOUT},
		};
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = hk_now_us();
			if (now >= deadline) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				return hk_err_set(err, ETIMEDOUT, "%s: timed out after %lld s",
				                  where, (long long)h->timeout.v);
			}
			wait_ms = (int)((deadline - now) / 1000) + 1;
		}
		/* Once the hook has exited, what is left in the pipe is read
		 * without waiting on anything a daemonised grandchild holds. */
		if (exited)
			wait_ms = 0;
		if (poll(pf, 3, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			return hk_err_set(err, errno, "%s: poll", where);
		}
		if (pf[2].revents) {
			ssize_t n = send(in_host, state + sent, len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				sent = len; /* it stopped reading; that is its business */
			if (sent == len)
				shutdown(in_host, SHUT_WR);
		}
		if (pf[1].revents || (exited && out_host >= 0)) {
			char buf[1024];
			ssize_t n = read(out_host, buf, sizeof(buf));
			if (n > 0) {
				size_t keep = (size_t)n;
				if (keep > HOOK_OUTPUT_MAX - got)
					keep = HOOK_OUTPUT_MAX - got;
				memcpy(output + got, buf, keep);
				got += keep;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR) || exited) {
				close(out_host);
				out_host = -1;
			}
		}
		if (pf[0].revents) {
			if (waitpid(pid, &status, 0) == pid)
				exited = true;
			fcntl(out_host, F_SETFL, O_NONBLOCK);
		}
	}
	output[got] = '\0';
	trim(output, &got);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return hk_err_set(err, 0, "%s: `%s` killed by signal %d%s%s", where, h->path,
		                  WTERMSIG(status), got ? ": " : "", output);
	return hk_err_set(err, 0, "%s: `%s` exited with status %d%s%s", where, h->path,
	                  WEXITSTATUS(status), got ? ": " : "", output);
}

int rt_hooks_run(const oci_hookv *hooks, const char *stage, const char *state_json, hk_err **err)
{
	for (size_t i = 0; i < hooks->n; i++) {
		char where[64];
		snprintf(where, sizeof(where), "%s hook %zu", stage, i);
		if (run_one(&hooks->v[i], where, state_json, err) < 0)
			return -1;
	}
	return 0;
}
