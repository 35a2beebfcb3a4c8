/* For self-tests on both sides of a VM (the guest agent and the host's test
 * tools): push `total` bytes of the pattern i % 251 through a socket whose
 * peer echoes, reading the echo while writing, and check every byte. */
#ifndef HK_ECHO_H
#define HK_ECHO_H

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

static inline int echo_roundtrip(int fd, size_t total)
{
	size_t sent = 0, got = 0;
	uint8_t out[16384], in[16384];

	while (got < total) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0)};
		if (poll(&p, 1, 30000) <= 0)
			return -1; /* 30 s without progress */
		if ((p.revents & POLLOUT) && sent < total) {
			size_t n = total - sent < sizeof(out) ? total - sent : sizeof(out);
			for (size_t i = 0; i < n; i++)
				out[i] = (uint8_t)((sent + i) % 251);
			ssize_t w = send(fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN)
				return -1;
			if (w > 0)
				sent += (size_t)w;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, in, sizeof(in), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN))
				return -1;
			for (ssize_t i = 0; i < r; i++)
				if (in[i] != (uint8_t)((got + (size_t)i) % 251))
					return -1;
			if (r > 0)
				got += (size_t)r;
		}
	}
	return 0;
}

#endif
