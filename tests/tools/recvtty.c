/* recvtty SOCKET [--size ROWS,COLS] [--input TEXT] [--after TEXT --resize ROWS,COLS]
 *
 * The engine's side of --console-socket, for tests (runc ships a tool of
 * the same name): listens on SOCKET, takes one pty master sent with
 * SCM_RIGHTS, optionally sizes it and types TEXT into it, then copies what
 * the container writes to stdout until the terminal closes. --after makes
 * it resize the terminal once TEXT has appeared in the output. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int parse_size(const char *s, struct winsize *ws)
{
	unsigned r, c;
	if (sscanf(s, "%u,%u", &r, &c) != 2)
		return -1;
	ws->ws_row = (unsigned short)r;
	ws->ws_col = (unsigned short)c;
	return 0;
}

static int receive_fd(int conn)
{
	char data[64], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = ctl,
	                     .msg_controllen = sizeof(ctl)};
	if (recvmsg(conn, &msg, 0) < 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct winsize size = {0}, later = {0};
	const char *input = NULL, *after = NULL;
	char seen[65536];
	size_t nseen = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: recvtty SOCKET [--size R,C] [--input TEXT] "
		                "[--after TEXT --resize R,C]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--size") == 0 && parse_size(argv[i + 1], &size) == 0)
			continue;
		if (strcmp(argv[i], "--resize") == 0 && parse_size(argv[i + 1], &later) == 0)
			continue;
		if (strcmp(argv[i], "--input") == 0) {
			input = argv[i + 1];
			continue;
		}
		if (strcmp(argv[i], "--after") == 0) {
			after = argv[i + 1];
			continue;
		}
		fprintf(stderr, "recvtty: bad argument %s\n", argv[i]);
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(argv[1]);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
		perror("recvtty: listen");
		return 1;
	}
	int conn = accept(l, NULL, NULL);
	int m = conn < 0 ? -1 : receive_fd(conn);
	if (m < 0) {
		perror("recvtty: receive the terminal");
		return 1;
	}
	close(conn);
	close(l);
	unlink(argv[1]);
	if (size.ws_col && ioctl(m, TIOCSWINSZ, &size) < 0)
		perror("recvtty: TIOCSWINSZ");
	if (input && write(m, input, strlen(input)) < 0)
		perror("recvtty: input");
	for (;;) {
		char buf[4096];
		ssize_t n = read(m, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EIO: every holder of the other side has closed it */
		if (write(STDOUT_FILENO, buf, (size_t)n) < 0)
			break;
		if (after && nseen + (size_t)n < sizeof(seen) - 1) {
			memcpy(seen + nseen, buf, (size_t)n);
			nseen += (size_t)n;
			seen[nseen] = '\0';
			if (strstr(seen, after)) {
				ioctl(m, TIOCSWINSZ, &later);
				after = NULL;
			}
		}
	}
	return 0;
}
