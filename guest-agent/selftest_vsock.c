/* The vsock self-test, the guest's half (tests/tools/vsock-echo is the
 * host's): an echo server on vsock port 5000 that takes 65 connections (one
 * of 1 MiB, then 64 open at once), and 1 MiB pushed through the host's echo
 * on host port 5001. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "guest-agent/agent.h"
#include "guest-agent/selftest.h"
#include "lib/echo.h"

#define SERVER_PORT   5000
#define HOST_PORT     5001
#define EXPECTED      65
#define MAX_CLIENTS   80
#define DEADLINE_SECS 120

/* Echoes on every accepted connection until EXPECTED of them have closed. */
static int serve(int l)
{
	struct pollfd p[MAX_CLIENTS + 1];
	int n = 1, closed = 0;
	char buf[16384];

	p[0] = (struct pollfd){.fd = l, .events = POLLIN};
	while (closed < EXPECTED) {
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 1;
		if ((p[0].revents & POLLIN) && n <= MAX_CLIENTS) {
			int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				p[n++] = (struct pollfd){.fd = c, .events = POLLIN};
		}
		for (int i = 1; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(p[i].fd, buf, sizeof(buf));
			for (ssize_t off = 0; r > 0 && off < r;) {
				ssize_t w = write(p[i].fd, buf + off, (size_t)(r - off));
				if (w <= 0) {
					r = -1;
					break;
				}
				off += w;
			}
			if (r <= 0) {
				close(p[i].fd);
				p[i--] = p[--n];
				closed++;
			}
		}
	}
	return 0;
}

int selftest_vsock(char *why, size_t len)
{
	struct sockaddr_vm any = {
	        .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = SERVER_PORT};
	struct sockaddr_vm host = {
	        .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = HOST_PORT};
	int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int st = 0;

	if (l < 0 || bind(l, (struct sockaddr *)&any, sizeof(any)) < 0 || listen(l, 128) < 0) {
		snprintf(why, len, "vsock listen on port %d: %s", SERVER_PORT, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		alarm(DEADLINE_SECS);
		_exit(serve(l));
	}
	close(l);

	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&host, sizeof(host)) < 0) {
		snprintf(why, len, "vsock connect to host port %d: %s", HOST_PORT, strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	int rt = echo_roundtrip(fd, 1 << 20);
	close(fd);
	if (rt < 0) {
		snprintf(why, len, "1 MiB through the host's echo came back wrong or not at all");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	agent_say("husk-selftest vsock guest->host 1048576 bytes ok");
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(why, len, "the echo server did not see its %d connections", EXPECTED);
		return -1;
	}
	agent_say("husk-selftest vsock host->guest %d connections served", EXPECTED);
	return 0;
}
