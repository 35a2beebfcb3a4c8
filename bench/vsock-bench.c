/* vsock-bench: round-trip latency and throughput of a stream connection from
 * the host into a container, for bench/io-lab.sh. One program for both ends,
 * linked statically so it runs in a busybox container (inside a husk guest,
 * or under runc for the peer figure).
 *
 *   vsock-bench serve vsock:PORT | unix:PATH
 *       the container's process: takes connections one after another; the
 *       first byte of each picks the service:
 *         'e'          echo until EOF
 *         'p' COUNT    read COUNT bytes (8 bytes, little endian), answer 'k'
 *         'g' COUNT    write COUNT bytes, then wait for EOF
 *   vsock-bench rr TARGET COUNT SIZE   COUNT round trips of SIZE bytes
 *       through the echo; prints "median_us X p99_us Y min_us Z"
 *   vsock-bench put TARGET MIB         host -> container; prints "mib_s X"
 *   vsock-bench get TARGET MIB         container -> host; prints "mib_s X"
 *
 * TARGET is hybrid:UDS:PORT (husk-vmm's vsock socket: "CONNECT PORT", then
 * "OK n") or unix:PATH. The clients retry the connection for 300 s, since
 * the container's process may not listen yet (a guest boots slowly in the
 * lab). The protocol has no half-close: husk-vmm's hybrid vsock turns the
 * host's EOF into a shutdown both ways. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define CHUNK        65536
#define RETRY_SECS   300
#define MAX_RR_COUNT 1000000

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0 when all len bytes came, -1 on an error or an early EOF. */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint64_t get_u64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static void put_u64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

/* --- the container's end --- */

static void serve_one(int fd)
{
	static char buf[CHUNK];
	unsigned char hdr[9];

	if (read_all(fd, hdr, 1) < 0)
		return;
	if (hdr[0] == 'e') {
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || write_all(fd, buf, (size_t)n) < 0)
				return;
		}
	}
	if ((hdr[0] != 'p' && hdr[0] != 'g') || read_all(fd, hdr + 1, 8) < 0)
		return;
	uint64_t left = get_u64(hdr + 1);
	if (hdr[0] == 'p') {
		while (left > 0) {
			ssize_t n = recv(fd, buf, left < sizeof(buf) ? left : sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return;
			left -= (uint64_t)n;
		}
		(void)write_all(fd, "k", 1);
		return;
	}
	memset(buf, 'g', sizeof(buf));
	while (left > 0) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);
		if (write_all(fd, buf, n) < 0)
			return;
		left -= n;
	}
	/* The client closes once it has everything: closing first could drop
	 * bytes still in flight. */
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

static int serve(const char *where)
{
	int fd;

	if (strncmp(where, "vsock:", 6) == 0) {
		struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
		                         .svm_cid = VMADDR_CID_ANY,
		                         .svm_port = (unsigned)strtoul(where + 6, NULL, 10)};
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "vsock-bench: listen on %s: %s\n", where, strerror(errno));
			return 1;
		}
	} else if (strncmp(where, "unix:", 5) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(where + 5) >= sizeof(sa.sun_path)) {
			fprintf(stderr, "vsock-bench: socket path `%s` too long\n", where + 5);
			return 1;
		}
		strcpy(sa.sun_path, where + 5);
		unlink(sa.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "vsock-bench: listen on %s: %s\n", where, strerror(errno));
			return 1;
		}
	} else {
		fprintf(stderr, "vsock-bench: serve vsock:PORT or unix:PATH, not `%s`\n", where);
		return 1;
	}
	if (listen(fd, 16) < 0) {
		fprintf(stderr, "vsock-bench: listen on %s: %s\n", where, strerror(errno));
		return 1;
	}
	fprintf(stderr, "vsock-bench: listening on %s\n", where);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "vsock-bench: accept: %s\n", strerror(errno));
			return 1;
		}
		serve_one(c);
		close(c);
	}
}

/* --- the host's end --- */

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	int e = errno;
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

/* One attempt; -1 with errno, or EAGAIN-like ECONNRESET when husk-vmm
 * answered the CONNECT with a closed socket (nobody listens on the port). */
static int try_connect(const char *target)
{
	if (strncmp(target, "unix:", 5) == 0)
		return unix_connect(target + 5);

	char uds[256];
	const char *colon = strrchr(target, ':');
	if (strncmp(target, "hybrid:", 7) != 0 || colon == NULL || colon < target + 7 ||
	    (size_t)(colon - target - 7) >= sizeof(uds)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(uds, target + 7, (size_t)(colon - target - 7));
	uds[colon - target - 7] = '\0';
	int fd = unix_connect(uds);
	if (fd < 0)
		return -1;
	char line[64];
	int n = snprintf(line, sizeof(line), "CONNECT %s\n", colon + 1);
	if (write_all(fd, line, (size_t)n) < 0)
		goto reset;
	/* "OK <port>\n", read a byte at a time so no payload is taken. */
	size_t len = 0;
	while (len < sizeof(line) - 1) {
		if (read_all(fd, line + len, 1) < 0)
			goto reset;
		if (line[len++] == '\n')
			break;
	}
	line[len] = '\0';
	if (strncmp(line, "OK ", 3) != 0)
		goto reset;
	return fd;
reset:
	close(fd);
	errno = ECONNRESET;
	return -1;
}

static int connect_retry(const char *target)
{
	double deadline = now_s() + RETRY_SECS;
	for (;;) {
		int fd = try_connect(target);
		if (fd >= 0)
			return fd;
		if (errno == EINVAL || errno == ENAMETOOLONG || now_s() > deadline) {
			fprintf(stderr, "vsock-bench: connect to %s: %s\n", target,
			        strerror(errno));
			return -1;
		}
		usleep(100000);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int rr(const char *target, unsigned long count, unsigned long size)
{
	if (count == 0 || count > MAX_RR_COUNT || size == 0 || size > CHUNK) {
		fprintf(stderr, "vsock-bench: rr wants 1..%d round trips of 1..%d bytes\n",
		        MAX_RR_COUNT, CHUNK);
		return 1;
	}
	static char out[CHUNK], in[CHUNK];
	double *t = calloc(count, sizeof(*t));
	int fd = connect_retry(target);
	if (t == NULL || fd < 0) {
		free(t);
		return 1;
	}
	memset(out, 'r', size);
	if (write_all(fd, "e", 1) < 0)
		goto fail;
	/* One untimed round trip: the first one also wakes the echo up. */
	if (write_all(fd, out, size) < 0 || read_all(fd, in, size) < 0)
		goto fail;
	for (unsigned long i = 0; i < count; i++) {
		double s = now_s();
		if (write_all(fd, out, size) < 0 || read_all(fd, in, size) < 0)
			goto fail;
		t[i] = (now_s() - s) * 1e6;
	}
	close(fd);
	qsort(t, count, sizeof(*t), cmp_double);
	printf("median_us %.1f p99_us %.1f min_us %.1f\n", t[(count - 1) / 2],
	       t[(count * 99 + 99) / 100 - 1], t[0]);
	free(t);
	return 0;
fail:
	fprintf(stderr, "vsock-bench: rr through %s: %s\n", target, strerror(errno));
	close(fd);
	free(t);
	return 1;
}

static int transfer(const char *target, char dir, unsigned long mib)
{
	static char buf[CHUNK];
	uint64_t total = (uint64_t)mib << 20;
	unsigned char hdr[9] = {(unsigned char)dir};
	int fd = connect_retry(target);
	if (fd < 0)
		return 1;
	put_u64(hdr + 1, total);
	errno = 0; /* an early EOF sets none: then "short transfer" */
	double s = now_s();
	if (write_all(fd, hdr, sizeof(hdr)) < 0)
		goto fail;
	if (dir == 'p') {
		memset(buf, 'p', sizeof(buf));
		for (uint64_t left = total; left > 0;) {
			size_t n = left < sizeof(buf) ? left : sizeof(buf);
			if (write_all(fd, buf, n) < 0)
				goto fail;
			left -= n;
		}
		/* The answer says the container has read it all. */
		if (read_all(fd, buf, 1) < 0 || buf[0] != 'k')
			goto fail;
	} else {
		for (uint64_t left = total; left > 0;) {
			ssize_t n = recv(fd, buf, left < sizeof(buf) ? left : sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto fail;
			left -= (uint64_t)n;
		}
	}
	double secs = now_s() - s;
	close(fd);
	printf("mib_s %.2f\n", (double)mib / secs);
	return 0;
fail:
	fprintf(stderr, "vsock-bench: %s through %s: %s\n", dir == 'p' ? "put" : "get", target,
	        errno ? strerror(errno) : "short transfer");
	close(fd);
	return 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	if (argc == 5 && strcmp(argv[1], "rr") == 0)
		return rr(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
	if (argc == 4 && (strcmp(argv[1], "put") == 0 || strcmp(argv[1], "get") == 0))
		return transfer(argv[2], argv[1][0] == 'p' ? 'p' : 'g', strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: vsock-bench serve vsock:PORT|unix:PATH\n"
	                "       vsock-bench rr hybrid:UDS:PORT|unix:PATH COUNT SIZE\n"
	                "       vsock-bench put|get hybrid:UDS:PORT|unix:PATH MIB\n");
	return 2;
}
