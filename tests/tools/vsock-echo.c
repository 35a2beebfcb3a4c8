/* vsock-echo UDS: the host side of the guest's vsock self-test, through
 * husk-vmm's hybrid Unix sockets.
 *  - serves an echo on UDS_5001 (guest → host connections) until the guest
 *    closes, counting the bytes;
 *  - connects to UDS with "CONNECT 5000" (retrying until the guest listens,
 *    60 s at most), pushes 1 MiB through the guest's echo and checks it,
 *    then 64 connections at once, 16 KiB each.
 * Prints a summary and exits 0 when everything came back intact. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/echo.h"

#define CONNS 64

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* One host → guest connection: CONNECT, then wait for "OK <port>". */
static int vsock_connect(const char *uds, unsigned port)
{
	char line[64];
	size_t n = 0;
	int fd = unix_connect(uds);

	if (fd < 0)
		return -1;
	dprintf(fd, "CONNECT %u\n", port);
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);
		if (r <= 0)
			break;
		if (line[n++] == '\n') {
			line[n] = '\0';
			if (strncmp(line, "OK ", 3) == 0)
				return fd;
			break;
		}
	}
	close(fd);
	return -1;
}

static int serve_echo(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[65536];
	size_t total = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0) {
		perror(path);
		return -1;
	}
	if (fork() == 0) {
		int c = accept(l, NULL, NULL);
		ssize_t r;
		while (c >= 0 && (r = read(c, buf, sizeof(buf))) > 0) {
			for (ssize_t off = 0; off < r;) {
				ssize_t w = write(c, buf + off, (size_t)(r - off));
				if (w <= 0)
					_exit(1);
				off += w;
			}
			total += (size_t)r;
		}
		printf("vsock-echo: guest->host echoed %zu bytes\n", total);
		fflush(stdout);
		_exit(c >= 0 ? 0 : 1);
	}
	close(l);
	return 0;
}

int main(int argc, char **argv)
{
	char path[256];
	int fds[CONNS], big = -1, st = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: vsock-echo UDS\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s_5001", argv[1]);
	if (serve_echo(path) < 0)
		return 1;
	printf("vsock-echo: listening\n");
	fflush(stdout);

	/* The guest listens a few seconds after boot: retry with a deadline. */
	time_t deadline = time(NULL) + 60;
	while ((big = vsock_connect(argv[1], 5000)) < 0 && time(NULL) < deadline)
		usleep(100 * 1000);
	if (big < 0 || echo_roundtrip(big, 1 << 20) < 0) {
		fprintf(stderr, "vsock-echo: host->guest 1 MiB failed\n");
		return 1;
	}
	close(big);
	printf("vsock-echo: host->guest 1048576 bytes ok\n");
	for (int i = 0; i < CONNS; i++)
		if ((fds[i] = vsock_connect(argv[1], 5000)) < 0) {
			fprintf(stderr, "vsock-echo: connection %d refused\n", i);
			return 1;
		}
	/* All open at once; then each round trip in turn over live sockets. */
	for (int i = 0; i < CONNS; i++)
		if (echo_roundtrip(fds[i], 16384) < 0) {
			fprintf(stderr, "vsock-echo: connection %d failed\n", i);
			return 1;
		}
	for (int i = 0; i < CONNS; i++)
		close(fds[i]);
	printf("vsock-echo: %d concurrent connections ok\n", CONNS);
	fflush(stdout);
	wait(&st);
	unlink(path);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
