#include "vmm/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* What epoll hands back: the callback and its context. Kept in a list so
 * del() can find and free it by fd. */
struct vmm_loop_entry {
	int fd;
	vmm_loop_cb cb;
	void *ctx;
	struct vmm_loop_entry *next;
};

static struct vmm_loop_entry **head_of(struct vmm_loop *l)
{
	return &l->entries;
}

static struct vmm_loop_entry *entries_of(struct vmm_loop *l)
{
	return l->entries;
}

int vmm_loop_init(struct vmm_loop *l, hk_err **err)
{
	l->status = 0;
	l->requested = 0;
	l->stopping = false;
	l->entries = NULL;
	pthread_mutex_init(&l->lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return hk_err_set(err, errno, "epoll_create1");
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_fd < 0) {
		int e = errno;
		close(l->epfd);
		return hk_err_set(err, e, "eventfd");
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
		int e = errno;
		close(l->epfd);
		close(l->stop_fd);
		return hk_err_set(err, e, "epoll_ctl");
	}
	return 0;
}

void vmm_loop_fini(struct vmm_loop *l)
{
	struct vmm_loop_entry **h = head_of(l);

	while (*h) {
		struct vmm_loop_entry *e = *h;
		*h = e->next;
		free(e);
	}
	close(l->epfd);
	close(l->stop_fd);
}

int vmm_loop_add(struct vmm_loop *l, int fd, uint32_t events, vmm_loop_cb cb, void *ctx,
                 hk_err **err)
{
	struct vmm_loop_entry **h = head_of(l);
	struct vmm_loop_entry *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		free(e);
		return hk_err_set(err, ENOMEM, "watch fd %d", fd);
	}
	e->fd = fd;
	e->cb = cb;
	e->ctx = ctx;
	struct epoll_event ev = {.events = events, .data.ptr = e};
	pthread_mutex_lock(&l->lock);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int er = errno;
		pthread_mutex_unlock(&l->lock);
		free(e);
		return hk_err_set(err, er, "watch fd %d", fd);
	}
	e->next = *h;
	*h = e;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int vmm_loop_mod(struct vmm_loop *l, int fd, uint32_t events, hk_err **err)
{
	int r = -1, e_no = ENOENT;

	pthread_mutex_lock(&l->lock);
	for (struct vmm_loop_entry *e = entries_of(l); e; e = e->next) {
		if (e->fd != fd)
			continue;
		struct epoll_event ev = {.events = events, .data.ptr = e};
		r = epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
		e_no = errno;
		break;
	}
	pthread_mutex_unlock(&l->lock);
	if (r < 0)
		return hk_err_set(err, e_no, "rewatch fd %d", fd);
	return 0;
}

void vmm_loop_del(struct vmm_loop *l, int fd)
{
	struct vmm_loop_entry **h = head_of(l);

	pthread_mutex_lock(&l->lock);
	for (struct vmm_loop_entry **p = h; *p; p = &(*p)->next) {
		if ((*p)->fd != fd)
			continue;
		struct vmm_loop_entry *e = *p;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		/* A callback may delete entries while a batch from epoll_wait is
		 * being served: mark rather than free, and free at the next run. */
		e->cb = NULL;
		e->fd = -1;
		break;
	}
	pthread_mutex_unlock(&l->lock);
}

static void sweep(struct vmm_loop *l)
{
	struct vmm_loop_entry **h = head_of(l);

	pthread_mutex_lock(&l->lock);
	for (struct vmm_loop_entry **p = h; *p;) {
		if ((*p)->cb == NULL) {
			struct vmm_loop_entry *e = *p;
			*p = e->next;
			free(e);
		} else {
			p = &(*p)->next;
		}
	}
	pthread_mutex_unlock(&l->lock);
}

int vmm_loop_run(struct vmm_loop *l, hk_err **err)
{
	struct epoll_event evs[32];

	while (!l->stopping) {
		int n = epoll_wait(l->epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hk_err_set(err, errno, "epoll_wait");
		}
		for (int i = 0; i < n && !l->stopping; i++) {
			struct vmm_loop_entry *e = evs[i].data.ptr;
			if (e == NULL) {
				l->stopping = true;
				break;
			}
			if (e->cb)
				e->cb(e->ctx, evs[i].events);
		}
		sweep(l);
	}
	return __atomic_load_n(&l->status, __ATOMIC_SEQ_CST);
}

void vmm_loop_stop(struct vmm_loop *l, int status)
{
	uint64_t one = 1;

	/* The first stop wins: the reason the guest went away is the status.
	 * The eventfd write orders the status store before the loop reads it. */
	if (__atomic_exchange_n(&l->requested, 1, __ATOMIC_SEQ_CST) == 0)
		__atomic_store_n(&l->status, status, __ATOMIC_SEQ_CST);
	(void)!write(l->stop_fd, &one, sizeof(one));
}
