#include "vmm/vhost_user.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

#define FLAG_VERSION    0x1
#define FLAG_REPLY      0x4
#define FLAG_NEED_REPLY 0x8

static int send_msg(struct vhost_user *u, uint32_t req, uint32_t flags, const void *payload,
                    uint32_t size, const int *fds, unsigned nfds, hk_err **err)
{
	uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
	char ctrl[CMSG_SPACE(sizeof(int) * 8)] = {0};
	struct iovec iov = {buf, VHU_HDR_SIZE + size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	uint32_t f = FLAG_VERSION | flags;

	memcpy(buf, &req, 4);
	memcpy(buf + 4, &f, 4);
	memcpy(buf + 8, &size, 4);
	if (size)
		memcpy(buf + VHU_HDR_SIZE, payload, size);
	if (nfds) {
		mh.msg_control = ctrl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ssize_t n;
	do
		n = sendmsg(u->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)iov.iov_len)
		return hk_err_set(err, n < 0 ? errno : EIO, "vhost-user: send request %u", req);
	return 0;
}

/* Reads exactly len bytes before the deadline. */
static int read_full(struct vhost_user *u, uint8_t *buf, size_t len, hk_err **err)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = u->fd, .events = POLLIN};
		int r = poll(&p, 1, u->timeout_ms);
		if (r == 0)
			return hk_err_set(err, ETIMEDOUT,
			                  "vhost-user: the back end did not answer");
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return hk_err_set(err, errno, "vhost-user: poll");
		ssize_t n = recv(u->fd, buf + got, len - got, 0);
		if (n == 0)
			return hk_err_set(err, ECONNRESET, "vhost-user: the back end went away");
		if (n < 0 && errno != EINTR)
			return hk_err_set(err, errno, "vhost-user: read");
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

int vhu_check_reply(const uint8_t *msg, size_t len, uint32_t request, uint32_t want_size,
                    hk_err **err)
{
	uint32_t req, flags, size;

	if (len < VHU_HDR_SIZE)
		return hk_err_set(err, EPROTO, "vhost-user: short reply");
	memcpy(&req, msg, 4);
	memcpy(&flags, msg + 4, 4);
	memcpy(&size, msg + 8, 4);
	if (req != request)
		return hk_err_set(err, EPROTO, "vhost-user: reply to %u, asked %u", req, request);
	if ((flags & 0x3) != FLAG_VERSION || !(flags & FLAG_REPLY))
		return hk_err_set(err, EPROTO, "vhost-user: bad reply flags %#x", flags);
	if (size != want_size || len != VHU_HDR_SIZE + (size_t)size)
		return hk_err_set(err, EPROTO, "vhost-user: reply of %u bytes, want %u", size,
		                  want_size);
	return 0;
}

static int recv_reply(struct vhost_user *u, uint32_t req, void *payload, uint32_t size,
                      hk_err **err)
{
	uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
	uint32_t got;

	if (read_full(u, buf, VHU_HDR_SIZE, err) < 0)
		return -1;
	memcpy(&got, buf + 8, 4);
	/* Never read more than the reply we expect can be. */
	if (got != size)
		return hk_err_set(err, EPROTO, "vhost-user: reply to %u of %u bytes, want %u", req,
		                  got, size);
	if (size && read_full(u, buf + VHU_HDR_SIZE, size, err) < 0)
		return -1;
	if (vhu_check_reply(buf, VHU_HDR_SIZE + size, req, size, err) < 0)
		return -1;
	memcpy(payload, buf + VHU_HDR_SIZE, size);
	return 0;
}

/* A request without a reply of its own: with REPLY_ACK we ask for one so a
 * refusal is seen here rather than as a hung guest later. */
static int request(struct vhost_user *u, uint32_t req, const void *payload, uint32_t size,
                   const int *fds, unsigned nfds, hk_err **err)
{
	bool ack = u->protocol_features & (1ULL << VHU_PROTOCOL_F_REPLY_ACK);
	uint64_t status;

	if (send_msg(u, req, ack ? FLAG_NEED_REPLY : 0, payload, size, fds, nfds, err) < 0)
		return -1;
	if (!ack)
		return 0;
	if (recv_reply(u, req, &status, sizeof(status), err) < 0)
		return -1;
	if (status != 0)
		return hk_err_set(err, EIO, "vhost-user: request %u refused (%llu)", req,
		                  (unsigned long long)status);
	return 0;
}

static int get_u64(struct vhost_user *u, uint32_t req, uint64_t *v, hk_err **err)
{
	if (send_msg(u, req, 0, NULL, 0, NULL, 0, err) < 0)
		return -1;
	return recv_reply(u, req, v, sizeof(*v), err);
}

int vhu_connect(struct vhost_user *u, const char *path, pid_t backend, int deadline_ms,
                hk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t start = hk_now_us();

	u->fd = -1;
	u->timeout_ms = 5000;
	u->protocol_features = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return hk_err_set(err, ENAMETOOLONG, "vhost-user socket `%s`", path);
	strcpy(sa.sun_path, path);
	for (;;) {
		u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (u->fd < 0)
			return hk_err_set(err, errno, "vhost-user socket");
		if (connect(u->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int e = errno;
		close(u->fd);
		u->fd = -1;
		if ((e != ENOENT && e != ECONNREFUSED) ||
		    hk_now_us() - start > (uint64_t)deadline_ms * 1000)
			return hk_err_set(err, e, "connect to vhost-user back end `%s`", path);
		/* Not reaped here (WNOWAIT): its owner collects the status. */
		siginfo_t si = {0};
		if (backend > 0 &&
		    waitid(P_PID, (id_t)backend, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == backend)
			return hk_err_set(err, ECHILD,
			                  "vhost-user back end (pid %d) exited before it listened",
			                  (int)backend);
		/* The back end is still starting: wait on its socket. */
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (request(u, VHU_SET_OWNER, NULL, 0, NULL, 0, err) < 0 ||
	    get_u64(u, VHU_GET_FEATURES, &u->features, err) < 0)
		goto fail;
	if (u->features & (1ULL << VHU_F_PROTOCOL_FEATURES)) {
		uint64_t pf;
		if (get_u64(u, VHU_GET_PROTOCOL_FEATURES, &pf, err) < 0)
			goto fail;
		uint64_t want = pf & (1ULL << VHU_PROTOCOL_F_REPLY_ACK);
		if (send_msg(u, VHU_SET_PROTOCOL_FEATURES, 0, &want, sizeof(want), NULL, 0, err) <
		    0)
			goto fail;
		u->protocol_features = want;
	}
	return 0;
fail:
	vhu_close(u);
	return hk_err_wrap(err, "vhost-user handshake with `%s`", path);
}

void vhu_close(struct vhost_user *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int vhu_set_features(struct vhost_user *u, uint64_t features, hk_err **err)
{
	if (u->features & (1ULL << VHU_F_PROTOCOL_FEATURES))
		features |= 1ULL << VHU_F_PROTOCOL_FEATURES;
	return request(u, VHU_SET_FEATURES, &features, sizeof(features), NULL, 0, err);
}

int vhu_set_mem_table(struct vhost_user *u, const struct vmm_mem *mem, hk_err **err)
{
	uint8_t p[8 + 2 * 32] = {0};
	uint64_t low = vmm_mem_low_size(mem);
	uint32_t n = mem->size > low ? 2 : 1;
	int fds[2] = {mem->fd, mem->fd};
	uint64_t r[2][4] = {
	        {0, low, (uint64_t)(uintptr_t)mem->host, 0},
	        {VMM_MEM_HIGH_START, mem->size - low, (uint64_t)(uintptr_t)(mem->host + low), low},
	};

	memcpy(p, &n, 4);
	memcpy(p + 8, r, 32 * n);
	return request(u, VHU_SET_MEM_TABLE, p, 8 + 32 * n, fds, n, err);
}

int vhu_setup_vring(struct vhost_user *u, unsigned index, unsigned num, uint64_t desc,
                    uint64_t avail, uint64_t used, int kick_fd, int call_fd, hk_err **err)
{
	uint32_t state[2] = {index, num};
	uint32_t base[2] = {index, 0};
	uint8_t addr[40] = {0};
	uint64_t ix = index;
	uint32_t enable[2] = {index, 1};

	memcpy(addr, &index, 4);
	memcpy(addr + 8, &desc, 8);
	memcpy(addr + 16, &used, 8);
	memcpy(addr + 24, &avail, 8);
	if (request(u, VHU_SET_VRING_NUM, state, sizeof(state), NULL, 0, err) < 0 ||
	    request(u, VHU_SET_VRING_BASE, base, sizeof(base), NULL, 0, err) < 0 ||
	    request(u, VHU_SET_VRING_ADDR, addr, sizeof(addr), NULL, 0, err) < 0 ||
	    request(u, VHU_SET_VRING_CALL, &ix, sizeof(ix), &call_fd, 1, err) < 0 ||
	    request(u, VHU_SET_VRING_KICK, &ix, sizeof(ix), &kick_fd, 1, err) < 0)
		return hk_err_wrap(err, "vring %u", index);
	if ((u->features & (1ULL << VHU_F_PROTOCOL_FEATURES)) &&
	    request(u, VHU_SET_VRING_ENABLE, enable, sizeof(enable), NULL, 0, err) < 0)
		return hk_err_wrap(err, "vring %u", index);
	return 0;
}

int vhu_get_vring_base(struct vhost_user *u, unsigned index, uint32_t *base, hk_err **err)
{
	uint32_t state[2] = {index, 0};

	if (send_msg(u, VHU_GET_VRING_BASE, 0, state, sizeof(state), NULL, 0, err) < 0 ||
	    recv_reply(u, VHU_GET_VRING_BASE, state, sizeof(state), err) < 0)
		return -1;
	*base = state[1];
	return 0;
}
