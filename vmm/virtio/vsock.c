/* virtio-vsock, the hybrid Unix-socket design (see vsock.h). The device
 * keeps a table of connections keyed by (host port, guest port); packets
 * from the guest's tx queue drive it, and so does the host side through the
 * event loop. Every header the guest sends is checked by vsock_hdr_parse();
 * a guest that ignores our credit or sends to a connection it does not have
 * gets RST, never more of the host's memory. */
#include "vmm/virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

#define Q_RX 0
#define Q_TX 1

#define BUF_ALLOC   (256u << 10) /* what the guest may send us unconsumed, per connection */
#define MAX_PAYLOAD (64u << 10)  /* largest packet we accept or send */
#define MAX_CONNS   1024
#define MAX_PENDING 4096
#define FIRST_PORT  (1u << 30) /* host-side ports for host-initiated connections */

enum conn_state { C_HELLO, C_CONNECTING, C_ESTABLISHED };

struct vsock_conn {
	struct vsock_conn *next;
	struct virtio_vsock *v;
	int fd;
	enum conn_state state;
	uint32_t local_port, peer_port;
	char hello[32];
	size_t hello_len;
	/* guest → host */
	uint8_t *txbuf; /* what the host socket could not take yet */
	size_t txlen;
	uint32_t fwd_cnt, fwd_told;
	bool shut_wr_pending;
	/* host → guest */
	uint32_t rx_cnt, peer_buf_alloc, peer_fwd_cnt;
	bool readable; /* the host socket has data we have not read */
	uint32_t events;
};

int vsock_hdr_parse(const uint8_t *b, uint64_t payload, uint64_t guest_cid, struct vsock_hdr *h,
                    const char **why)
{
	memcpy(&h->src_cid, b, 8);
	memcpy(&h->dst_cid, b + 8, 8);
	memcpy(&h->src_port, b + 16, 4);
	memcpy(&h->dst_port, b + 20, 4);
	memcpy(&h->len, b + 24, 4);
	memcpy(&h->type, b + 28, 2);
	memcpy(&h->op, b + 30, 2);
	memcpy(&h->flags, b + 32, 4);
	memcpy(&h->buf_alloc, b + 36, 4);
	memcpy(&h->fwd_cnt, b + 40, 4);
	if (h->type != VSOCK_TYPE_STREAM)
		return *why = "not a stream packet", -1;
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		return *why = "unknown op", -1;
	if (h->src_cid != guest_cid)
		return *why = "source CID is not the guest's", -1;
	if (h->dst_cid != VSOCK_HOST_CID)
		return *why = "destination is not the host", -1;
	if (h->len > MAX_PAYLOAD || h->len > payload)
		return *why = "length beyond the packet", -1;
	if (h->op != VSOCK_OP_RW && h->len != 0)
		return *why = "payload on a control packet", -1;
	return 0;
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t *b)
{
	memcpy(b, &h->src_cid, 8);
	memcpy(b + 8, &h->dst_cid, 8);
	memcpy(b + 16, &h->src_port, 4);
	memcpy(b + 20, &h->dst_port, 4);
	memcpy(b + 24, &h->len, 4);
	memcpy(b + 28, &h->type, 2);
	memcpy(b + 30, &h->op, 2);
	memcpy(b + 32, &h->flags, 4);
	memcpy(b + 36, &h->buf_alloc, 4);
	memcpy(b + 40, &h->fwd_cnt, 4);
}

/* ---- connections -------------------------------------------------------- */

static struct vsock_conn *find(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
	for (struct vsock_conn *c = v->conns; c; c = c->next)
		if (c->local_port == local && c->peer_port == peer && c->state != C_HELLO)
			return c;
	return NULL;
}

static void conn_free(struct vsock_conn *c)
{
	struct virtio_vsock *v = c->v;

	for (struct vsock_conn **p = &v->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	v->nconns--;
	vmm_loop_del(v->loop, c->fd);
	close(c->fd);
	free(c->txbuf);
	free(c);
}

static void watch(struct vsock_conn *c)
{
	uint32_t ev = 0;
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	if (c->state == C_HELLO ||
	    (c->state == C_ESTABLISHED && !c->readable && in_flight < c->peer_buf_alloc))
		ev |= EPOLLIN;
	if (c->txlen)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		c->events = ev;
		(void)vmm_loop_mod(c->v->loop, c->fd, ev, NULL);
	}
}

static void queue_ctrl(struct virtio_vsock *v, uint32_t local, uint32_t peer, uint16_t op,
                       uint32_t flags, uint32_t fwd_cnt)
{
	if (v->npending == v->cap_pending) {
		if (v->cap_pending == MAX_PENDING)
			return; /* a guest flooding us loses replies, not our memory */
		unsigned cap = v->cap_pending ? v->cap_pending * 2 : 64;
		struct vsock_hdr *p = realloc(v->pending, cap * sizeof(*p));
		if (p == NULL)
			return;
		v->pending = p;
		v->cap_pending = cap;
	}
	v->pending[v->npending++] = (struct vsock_hdr){
	        .src_cid = VSOCK_HOST_CID,
	        .dst_cid = v->guest_cid,
	        .src_port = local,
	        .dst_port = peer,
	        .type = VSOCK_TYPE_STREAM,
	        .op = op,
	        .flags = flags,
	        .buf_alloc = BUF_ALLOC,
	        .fwd_cnt = fwd_cnt,
	};
}

static void reset_conn(struct vsock_conn *c)
{
	queue_ctrl(c->v, c->local_port, c->peer_port, VSOCK_OP_RST, 0, 0);
	conn_free(c);
}

static void on_conn(void *arg, uint32_t events);

static struct vsock_conn *conn_new(struct virtio_vsock *v, int fd, enum conn_state st)
{
	cleanup_err hk_err *err = NULL;
	struct vsock_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->v = v;
	c->fd = fd;
	c->state = st;
	c->events = EPOLLIN;
	if (vmm_loop_add(v->loop, fd, EPOLLIN, on_conn, c, &err) < 0) {
		free(c);
		return NULL;
	}
	c->next = v->conns;
	v->conns = c;
	v->nconns++;
	return c;
}

/* ---- rx: host → guest ----------------------------------------------------- */

static uint32_t credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static struct vsock_conn *data_ready(struct virtio_vsock *v)
{
	for (struct vsock_conn *c = v->conns; c; c = c->next)
		if (c->state == C_ESTABLISHED && c->readable && credit(c) > 0)
			return c;
	return NULL;
}

static void put_packet(struct virtio_dev *d, const struct vq_chain *ch, const struct vsock_hdr *h,
                       const uint8_t *data)
{
	uint8_t b[VSOCK_HDR_SIZE];

	vsock_hdr_encode(h, b);
	vq_chain_write(ch, 0, b, sizeof(b));
	if (h->len)
		vq_chain_write(ch, sizeof(b), data, h->len);
	vq_push(&d->vq[Q_RX], ch->head, VSOCK_HDR_SIZE + h->len);
}

/* Fills the guest's rx buffers: control packets first, then data from host
 * sockets that have some, within each connection's credit. */
static void rx_fill(struct virtio_vsock *v)
{
	struct virtio_dev *d = v->dev;
	struct virtq *q = &d->vq[Q_RX];
	static __thread struct vq_chain ch;
	static __thread uint8_t data[MAX_PAYLOAD];
	cleanup_err hk_err *err = NULL;
	bool pushed = false;

	for (;;) {
		struct vsock_conn *c = NULL;
		if (v->npending == 0 && (c = data_ready(v)) == NULL)
			break;
		int r = vq_pop(q, &ch, &err);
		if (r < 0) {
			virtio_dev_fail(d, err->msg);
			return;
		}
		if (r == 0) {
			vq_set_avail_event(q);
			if (vq_pop(q, &ch, &err) != 1)
				break; /* no room: the rx kick brings us back */
		}
		if (ch.wlen < VSOCK_HDR_SIZE || ch.nr) {
			/* An rx buffer we cannot use: return it empty. */
			vq_push(q, ch.head, 0);
			pushed = true;
			continue;
		}
		if (v->npending) {
			struct vsock_hdr h = v->pending[0];
			memmove(v->pending, v->pending + 1, --v->npending * sizeof(h));
			put_packet(d, &ch, &h, NULL);
			pushed = true;
			continue;
		}
		uint64_t room = ch.wlen - VSOCK_HDR_SIZE;
		uint32_t want = credit(c);
		if (want > room)
			want = (uint32_t)room;
		if (want > MAX_PAYLOAD)
			want = MAX_PAYLOAD;
		if (want == 0) {
			vq_unpop(q);
			break;
		}
		ssize_t n = recv(c->fd, data, want, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			vq_unpop(q);
			c->readable = false;
			watch(c);
			continue;
		}
		if (n <= 0) {
			/* EOF or error on the host side: tell the guest nothing more
			 * comes either way. */
			vq_unpop(q);
			c->readable = false;
			queue_ctrl(v, c->local_port, c->peer_port, VSOCK_OP_SHUTDOWN,
			           VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, c->fwd_cnt);
			c->events = 0;
			(void)vmm_loop_mod(v->loop, c->fd, 0, NULL);
			continue;
		}
		struct vsock_hdr h = {
		        .src_cid = VSOCK_HOST_CID,
		        .dst_cid = v->guest_cid,
		        .src_port = c->local_port,
		        .dst_port = c->peer_port,
		        .len = (uint32_t)n,
		        .type = VSOCK_TYPE_STREAM,
		        .op = VSOCK_OP_RW,
		        .buf_alloc = BUF_ALLOC,
		        .fwd_cnt = c->fwd_cnt,
		};
		c->fwd_told = c->fwd_cnt;
		c->rx_cnt += (uint32_t)n;
		put_packet(d, &ch, &h, data);
		pushed = true;
		watch(c);
	}
	if (pushed)
		virtio_signal_used(d, Q_RX);
}

/* ---- tx: guest → host ----------------------------------------------------- */

static void flush_tx(struct vsock_conn *c)
{
	while (c->txlen) {
		ssize_t n = send(c->fd, c->txbuf, c->txlen, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			reset_conn(c);
			return;
		}
		memmove(c->txbuf, c->txbuf + n, c->txlen - (size_t)n);
		c->txlen -= (size_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (c->txlen == 0 && c->shut_wr_pending) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr_pending = false;
	}
	/* Tell the guest about freed buffer before it runs dry. */
	if (c->fwd_cnt - c->fwd_told >= BUF_ALLOC / 4) {
		queue_ctrl(c->v, c->local_port, c->peer_port, VSOCK_OP_CREDIT_UPDATE, 0,
		           c->fwd_cnt);
		c->fwd_told = c->fwd_cnt;
	}
	watch(c);
}

static void guest_connect(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (v->nconns >= MAX_CONNS || snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds,
	                                       h->dst_port) >= (int)sizeof(sa.sun_path)) {
		queue_ctrl(v, h->dst_port, h->src_port, VSOCK_OP_RST, 0, 0);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		hk_debug("vsock: guest port %u → host port %u refused", h->src_port, h->dst_port);
		if (fd >= 0)
			close(fd);
		queue_ctrl(v, h->dst_port, h->src_port, VSOCK_OP_RST, 0, 0);
		return;
	}
	struct vsock_conn *c = conn_new(v, fd, C_ESTABLISHED);
	if (c == NULL) {
		close(fd);
		queue_ctrl(v, h->dst_port, h->src_port, VSOCK_OP_RST, 0, 0);
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	queue_ctrl(v, c->local_port, c->peer_port, VSOCK_OP_RESPONSE, 0, 0);
	watch(c);
}

static void tx_packet(struct virtio_vsock *v, const struct vsock_hdr *h, const struct vq_chain *ch)
{
	struct vsock_conn *c = find(v, h->dst_port, h->src_port);

	if (h->op == VSOCK_OP_REQUEST) {
		if (c)
			reset_conn(c); /* a second request for a live pair: start over */
		else
			guest_connect(v, h);
		return;
	}
	if (c == NULL) {
		if (h->op != VSOCK_OP_RST)
			queue_ctrl(v, h->dst_port, h->src_port, VSOCK_OP_RST, 0, 0);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		if (c->state != C_CONNECTING) {
			reset_conn(c);
			return;
		}
		c->state = C_ESTABLISHED;
		char ok[32];
		int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
		if (send(c->fd, ok, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
			reset_conn(c);
			return;
		}
		break;
	case VSOCK_OP_RW:
		if (c->state != C_ESTABLISHED || h->len > BUF_ALLOC - c->txlen) {
			reset_conn(c); /* data beyond the credit we gave */
			return;
		}
		if (c->txbuf == NULL && (c->txbuf = malloc(BUF_ALLOC)) == NULL) {
			reset_conn(c);
			return;
		}
		vq_chain_read(ch, VSOCK_HDR_SIZE, c->txbuf + c->txlen, h->len);
		c->txlen += h->len;
		flush_tx(c);
		return;
	case VSOCK_OP_CREDIT_REQUEST:
		queue_ctrl(v, c->local_port, c->peer_port, VSOCK_OP_CREDIT_UPDATE, 0, c->fwd_cnt);
		c->fwd_told = c->fwd_cnt;
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_SHUTDOWN:
		if ((h->flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) ==
		    (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
			reset_conn(c);
			return;
		}
		if (h->flags & VSOCK_SHUTDOWN_SEND) {
			c->shut_wr_pending = true;
			flush_tx(c);
			return;
		}
		break;
	case VSOCK_OP_RST:
		conn_free(c);
		return;
	}
	watch(c);
}

static uint32_t tx_serve(struct virtio_dev *d, const struct vq_chain *ch)
{
	struct virtio_vsock *v = d->priv;
	uint8_t b[VSOCK_HDR_SIZE];
	struct vsock_hdr h;
	const char *why = NULL;

	if (ch->rlen < VSOCK_HDR_SIZE || vq_chain_read(ch, 0, b, sizeof(b)) != sizeof(b) ||
	    vsock_hdr_parse(b, ch->rlen - VSOCK_HDR_SIZE, v->guest_cid, &h, &why) < 0)
		hk_debug("vsock: dropped a packet from the guest: %s", why ? why : "short header");
	else
		tx_packet(v, &h, ch);
	return 0;
}

/* ---- the host side -------------------------------------------------------- */

static void host_hello(struct vsock_conn *c)
{
	struct virtio_vsock *v = c->v;
	char ch;

	/* Byte by byte up to the newline: whatever follows it is the stream. */
	while (c->hello_len < sizeof(c->hello) - 1) {
		ssize_t n = recv(c->fd, &ch, 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		if (ch != '\n') {
			c->hello[c->hello_len++] = ch;
			continue;
		}
		c->hello[c->hello_len] = '\0';
		unsigned port;
		char extra;
		if (sscanf(c->hello, "CONNECT %u%c", &port, &extra) != 1) {
			conn_free(c);
			return;
		}
		c->peer_port = port;
		do
			c->local_port = v->next_port++;
		while (find(v, c->local_port, port) || c->local_port < FIRST_PORT);
		c->state = C_CONNECTING;
		queue_ctrl(v, c->local_port, c->peer_port, VSOCK_OP_REQUEST, 0, 0);
		watch(c);
		return;
	}
	conn_free(c); /* a "CONNECT" line longer than any port number */
}

static void on_conn(void *arg, uint32_t events)
{
	struct vsock_conn *c = arg;
	struct virtio_vsock *v = c->v;
	struct virtio_dev *d = v->dev;

	/* The transport's lock first, as on the kick path: the rings must not
	 * be reset under us. */
	pthread_mutex_lock(&d->lock);
	pthread_mutex_lock(&v->lock);
	if (c->state == C_HELLO) {
		host_hello(c);
	} else {
		if ((events & EPOLLOUT) && c->txlen) {
			flush_tx(c);
		} else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
			c->readable = true;
			watch(c);
		}
	}
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET))
		rx_fill(v);
	pthread_mutex_unlock(&v->lock);
	pthread_mutex_unlock(&d->lock);
}

static void on_listen(void *arg, uint32_t events)
{
	struct virtio_vsock *v = arg;
	int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	pthread_mutex_lock(&v->lock);
	if (v->nconns >= MAX_CONNS || conn_new(v, fd, C_HELLO) == NULL)
		close(fd);
	pthread_mutex_unlock(&v->lock);
}

/* ---- the device ----------------------------------------------------------- */

static void vsock_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_vsock *v = d->priv;

	pthread_mutex_lock(&v->lock);
	if (q == Q_TX)
		virtio_drain(d, Q_TX, tx_serve);
	rx_fill(v);
	pthread_mutex_unlock(&v->lock);
}

static void close_all(struct virtio_vsock *v)
{
	while (v->conns)
		conn_free(v->conns);
	v->npending = 0;
}

static void vsock_reset(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;

	pthread_mutex_lock(&v->lock);
	close_all(v);
	pthread_mutex_unlock(&v->lock);
}

static void vsock_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_vsock *v = d->priv;
	uint8_t cfg[8];

	memcpy(cfg, &v->guest_cid, 8);
	memcpy(data, cfg + off, len);
}

const struct virtio_dev_ops virtio_vsock_ops = {
        .name = "vsock",
        .device_id = 19,
        .num_queues = 3,
        .config_size = 8,
        .config_read = vsock_config_read,
        .notify = vsock_notify,
        .reset = vsock_reset,
};

int virtio_vsock_open(struct virtio_vsock *v, uint64_t guest_cid, const char *uds,
                      struct vmm_loop *loop, hk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(v, 0, sizeof(*v));
	v->listen_fd = -1;
	v->loop = loop;
	v->guest_cid = guest_cid;
	v->next_port = FIRST_PORT;
	pthread_mutex_init(&v->lock, NULL);
	/* Room for "_<port>" after the path, for guest-initiated connections. */
	if (strlen(uds) + 12 >= sizeof(sa.sun_path))
		return hk_err_set(err, ENAMETOOLONG, "vsock socket `%s`", uds);
	strcpy(v->uds, uds);
	strcpy(sa.sun_path, uds);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (v->listen_fd < 0)
		return hk_err_set(err, errno, "vsock socket");
	unlink(uds);
	if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(v->listen_fd, 128) < 0) {
		int e = errno;
		close(v->listen_fd);
		v->listen_fd = -1;
		return hk_err_set(err, e, "vsock socket `%s`", uds);
	}
	if (vmm_loop_add(loop, v->listen_fd, EPOLLIN, on_listen, v, err) < 0) {
		virtio_vsock_close(v);
		return -1;
	}
	return 0;
}

void virtio_vsock_close(struct virtio_vsock *v)
{
	close_all(v);
	free(v->pending);
	v->pending = NULL;
	if (v->listen_fd >= 0) {
		vmm_loop_del(v->loop, v->listen_fd);
		close(v->listen_fd);
		unlink(v->uds);
		v->listen_fd = -1;
	}
}
