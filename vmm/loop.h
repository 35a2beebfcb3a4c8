/* The monitor's one event loop: epoll over device eventfds, sockets and the
 * control socket, run on the main thread. vCPU threads never block in it. */
#ifndef VMM_LOOP_H
#define VMM_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"

typedef void (*vmm_loop_cb)(void *ctx, uint32_t events);

struct vmm_loop_entry;

struct vmm_loop {
	int epfd;
	int stop_fd;   /* eventfd: any thread may stop the loop */
	int requested; /* set once, atomically, by the first vmm_loop_stop() */
	int status;    /* written before stop_fd is signalled */
	bool stopping; /* loop thread only */
	/* Guards entries: vCPU threads (a device's activate) may add and
	 * delete watches while the loop thread serves them. */
	pthread_mutex_t lock;
	struct vmm_loop_entry *entries;
};

int vmm_loop_init(struct vmm_loop *l, hk_err **err);
void vmm_loop_fini(struct vmm_loop *l);

/* Watches fd for events (EPOLLIN…); cb runs on the loop thread. The entry
 * stays until vmm_loop_del(); fd ownership stays with the caller. */
int vmm_loop_add(struct vmm_loop *l, int fd, uint32_t events, vmm_loop_cb cb, void *ctx,
                 hk_err **err);
int vmm_loop_mod(struct vmm_loop *l, int fd, uint32_t events, hk_err **err);
void vmm_loop_del(struct vmm_loop *l, int fd);

/* Runs until vmm_loop_stop(); returns the status given there. */
int vmm_loop_run(struct vmm_loop *l, hk_err **err);
/* Thread-safe and async-signal-safe. */
void vmm_loop_stop(struct vmm_loop *l, int status);

#endif
