/* Relaying a container process's stdio between host fds and the agent's
 * stream connections, while waiting for its exit on a control connection:
 * used by husk-vmm for the container's init and by `husk exec`. */
#ifndef HK_RELAY_H
#define HK_RELAY_H

#include <stdbool.h>

#include "lib/agent_client.h"
#include "lib/error.h"

struct hk_relay {
	bool terminal;
	int in, out, err; /* host side: stdin, stdout, stderr (out only with a terminal) */
	int stream[4];    /* agent side: stdin stdout stderr, or [3] the tty */
	int wait_fd;      /* the control connection the wait_process reply comes on */
	int sig_fd;       /* signalfd, or -1 */
	int stop_fd;      /* readable: give up at once, or -1 */
	/* Called for each signal read from sig_fd (SIGWINCH included). */
	void (*on_signal)(int sig, void *arg);
	void *arg;
};

/* Runs until the process's exit is known and its output drained (at most
 * 5 s after the exit). Returns 0 with *status (wait(2) style), 1 when
 * stopped through stop_fd, -1 on a broken connection. */
int hk_relay_run(struct hk_relay *r, int *status, hk_err **err);

/* Sends wait_process for process on fd (id 999), without reading. */
int hk_relay_ask_wait(int fd, const char *process, hk_err **err);

#endif
