/* husk-vmm as a container's process. Before the VM: a private mount
 * namespace in which the bundle's rootfs and the sources of its bind
 * mounts are gathered under one directory for virtiofsd (they vanish with
 * the monitor, so a crash leaves no mounts behind), and config.json
 * rewritten to name them as the guest sees them. Beside the VM: a thread
 * that creates the container through the agent, tells `husk create` it is
 * ready, relays stdio and signals, waits for the exit, and ends the VM.
 * The monitor then leaves with the container's status. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/husk-vmm/vmm.h"
#include "lib/agent_client.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/relay.h"
#include "lib/thread.h"
#include "lib/util.h"
#include "oci/spec.h"
#include "vmm/vm.h"

#define GUEST_SHARE   "/run/husk/share"
#define AGENT_TIMEOUT 300000 /* ms: a guest boots in seconds, in the lab in more */

/* Signals the monitor passes on to the container, as if it were the
 * container's process. */
static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM, SIGALRM};

struct cstate {
	const struct vmm_container *c;
	struct vmm_vm *vm; /* NULL for a pod's container: the VM is its sandbox's */
	const char *bind;  /* a pod's container: the id its connections name */
	char uds[PATH_MAX];
	char *config;
	char *net; /* the NICs for the agent (net.c), or NULL */
	bool terminal;
	int stats_fd; /* final-stats.json, opened before the jail */
	char control[PATH_MAX];
	pthread_t thread;
	bool started;
	int stop_fd;
	int sig_fd;
	int ready_fd;
	bool have_status;
	int status;  /* wait(2) style */
	bool failed; /* create failed: leave with 1 */
	struct termios saved;
	bool restore_tty;
};

/* ---- before the VM ------------------------------------------------------ */

/* Binds src at dst (created as a file or directory like src), read-only
 * if asked: the guest is hostile and must not write what it may only read. */
static int share_one(const char *src, const char *dst, bool rec, bool ro, hk_err **err)
{
	struct stat st;

	if (stat(src, &st) < 0)
		return hk_err_set(err, errno, "`%s`", src);
	if (hk_mount_target(dst, S_ISDIR(st.st_mode), 0644, err) < 0)
		return -1;
	if (mount(src, dst, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
		return hk_err_set(err, errno, "bind `%s`", src);
	if (ro && mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return hk_err_set(err, errno, "read-only `%s`", src);
	return 0;
}

static int prepare_share(struct cstate *s, struct oci_spec *spec, const char *share, hk_err **err)
{
	char path[PATH_MAX + 32];
	cleanup_free char *root = NULL;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return hk_err_set(err, errno, "the monitor's mount namespace");
	if (mkdir(share, 0700) < 0 && errno != EEXIST)
		return hk_err_set(err, errno, "mkdir `%s`", share);
	if (mount("tmpfs", share, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") < 0)
		return hk_err_set(err, errno, "mount the share `%s`", share);
	if (spec->root == NULL || spec->root->path == NULL)
		return hk_err_set(err, EINVAL, "root.path: missing");
	if (spec->root->path[0] == '/')
		root = strdup(spec->root->path);
	else if (asprintf(&root, "%s/%s", s->c->bundle, spec->root->path) < 0)
		root = NULL;
	if (root == NULL)
		return hk_err_set(err, ENOMEM, "root.path");
	snprintf(path, sizeof(path), "%s/rootfs", share);
	bool ro = spec->root->readonly.set && spec->root->readonly.v;
	if (ro && oci_make_targets(spec, root, s->c->bundle, err) < 0)
		return -1;
	if (share_one(root, path, true, ro, err) < 0)
		return hk_err_wrap(err, "root.path");
	free(spec->root->path);
	spec->root->path = strdup(GUEST_SHARE "/rootfs");
	for (size_t i = 0; i < spec->mounts.n; i++) {
		struct oci_mount *m = &spec->mounts.v[i];
		cleanup_free char *src = NULL;
		if (!oci_mount_is_bind(m) || m->source == NULL)
			continue;
		if (m->source[0] == '/')
			src = strdup(m->source);
		else if (asprintf(&src, "%s/%s", s->c->bundle, m->source) < 0)
			src = NULL;
		if (src == NULL)
			return hk_err_set(err, ENOMEM, "mounts[%zu]", i);
		struct stat st;
		/* Devices and sockets cannot cross virtio-fs usefully: the guest
		 * has its own /dev. */
		if (stat(src, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			hk_warn("mounts[%zu]: `%s` is not a file or directory; not shared", i, src);
			continue;
		}
		snprintf(path, sizeof(path), "%s/m%zu", share, i);
		if (share_one(src, path, oci_mount_has_option(m, "rbind"),
		              oci_mount_has_option(m, "ro"), err) < 0)
			return hk_err_wrap(err, "mounts[%zu]", i);
		free(m->source);
		if (asprintf(&m->source, GUEST_SHARE "/m%zu", i) < 0)
			return hk_err_set(err, ENOMEM, "mounts[%zu]", i);
	}
	/* Host hooks are the runtime's business; the guest gets the rest. */
	return 0;
}

/* ---- beside the VM ------------------------------------------------------ */

static void ready(struct cstate *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ready(struct cstate *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (s->ready_fd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void)hk_write_all(s->ready_fd, line, strlen(line), NULL);
	close(s->ready_fd);
	s->ready_fd = -1;
}

static int call(struct hk_agent *a, const char *m, const char *params, int ms, hk_err **err)
{
	struct hk_msg r;
	if (hk_agent_call(a, m, params, ms, &r, err) < 0)
		return -1;
	hk_msg_free(&r);
	return 0;
}

/* The container's OOM kills as the guest counted them at its exit, kept
 * in the state directory: a kill just before the end would otherwise be
 * gone with the VM before `husk events` asks again. */
static void record_ooms(struct cstate *s, struct hk_agent *ctl)
{
	cleanup_err hk_err *err = NULL;
	char text[64];
	struct hk_msg r;

	if (hk_agent_call(ctl, HK_M_STATS, NULL, 5000, &r, &err) < 0) {
		hk_debug("final stats: %s", err->msg);
		return;
	}
	const hk_json *n = hk_json_get(r.result, "oom_kill");
	int len = snprintf(text, sizeof(text), "{\"oom_kill\":%s}\n",
	                   n && n->type == HJ_NUMBER ? n->s : "0");
	hk_msg_free(&r);
	/* One write into the empty file: a reader sees all of it or nothing
	 * it can parse, as with a rename. */
	if (s->stats_fd < 0 || pwrite(s->stats_fd, text, (size_t)len, 0) != len)
		hk_warn("final stats: %s", strerror(errno));
}

/* A control connection to the agent, for our container. */
static int agent_open(struct cstate *s, struct hk_agent *a, int ms, hk_err **err)
{
	if (hk_agent_open(a, s->uds, ms, err) < 0)
		return -1;
	if (hk_agent_use(a, s->bind, 5000, err) < 0) {
		hk_agent_close(a);
		return -1;
	}
	return 0;
}

static void forward_signal(struct cstate *s, struct hk_agent *side, int sig)
{
	cleanup_err hk_err *err = NULL;
	char p[64];

	if (side->fd < 0 && agent_open(s, side, 5000, &err) < 0) {
		hk_warn("signal %d: %s", sig, err->msg);
		return;
	}
	snprintf(p, sizeof(p), "{\"signal\":%d}", sig);
	if (call(side, HK_M_SIGNAL_PROCESS, p, 5000, &err) < 0)
		hk_debug("signal %d: %s", sig, err->msg);
}

static void resize(struct cstate *s, struct hk_agent *side)
{
	cleanup_err hk_err *err = NULL;
	struct winsize ws;
	char p[96];

	if (!s->terminal || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
		return;
	if (side->fd < 0 && agent_open(s, side, 5000, &err) < 0)
		return;
	snprintf(p, sizeof(p), "{\"width\":%u,\"height\":%u}", ws.ws_col, ws.ws_row);
	if (call(side, HK_M_RESIZE_TTY, p, 5000, &err) < 0)
		hk_debug("resize: %s", err->msg);
}

/* What is left of the deadline, in ms (at least 1: a last try). */
static int left_ms(uint64_t deadline)
{
	uint64_t now = hk_now_us();
	return now >= deadline ? 1 : (int)((deadline - now + 999) / 1000);
}

/* The agent's streams, then its control connection: one deadline for all,
 * which is the guest's time to boot. */
static int open_streams(struct cstate *s, int st[4], struct hk_agent *ctl, hk_err **err)
{
	static const char *const kinds[] = {HK_STREAM_STDIN, HK_STREAM_STDOUT, HK_STREAM_STDERR};
	uint64_t deadline = hk_now_us() + (uint64_t)AGENT_TIMEOUT * 1000;

	if (s->terminal) {
		st[3] = hk_agent_stream(s->uds, s->bind, HK_INIT_PROCESS, HK_STREAM_TTY,
		                        left_ms(deadline), err);
		if (st[3] < 0)
			return -1;
	} else {
		for (int i = 0; i < 3; i++) {
			st[i] = hk_agent_stream(s->uds, s->bind, HK_INIT_PROCESS, kinds[i],
			                        left_ms(deadline), err);
			if (st[i] < 0)
				return -1;
		}
	}
	return agent_open(s, ctl, left_ms(deadline), err);
}

struct sigctx {
	struct cstate *s;
	struct hk_agent *side;
};

static void on_signal(int sig, void *arg)
{
	struct sigctx *c = arg;
	if (sig == SIGWINCH)
		resize(c->s, c->side);
	else
		forward_signal(c->s, c->side, sig);
}

static void *container_thread(void *arg)
{
	struct cstate *s = arg;
	struct hk_agent ctl = {.fd = -1}, side = {.fd = -1};
	cleanup_err hk_err *err = NULL;
	cleanup_buf struct hk_buf p = {0};
	int st[4] = {-1, -1, -1, -1};
	struct hk_msg reply;
	struct sigctx sc = {s, &side};

	if (hk_thread_enter(HK_THREAD_AGENT, &err) < 0)
		goto fail;
	if (open_streams(s, st, &ctl, &err) < 0)
		goto fail;
	hk_buf_printf(&p, "{\"id\":");
	hk_buf_jstr(&p, s->c->id);
	hk_buf_printf(&p, ",\"config\":");
	hk_buf_jstr(&p, s->config);
	if (s->net)
		hk_buf_printf(&p, ",\"network\":%s", s->net);
	hk_buf_printf(&p, "}");
	if (hk_buf_done(&p, &err) < 0 ||
	    hk_agent_call(&ctl, HK_M_CREATE_CONTAINER, p.s, AGENT_TIMEOUT, &reply, &err) < 0)
		goto fail;
	hk_timeline("container-created");
	const hk_json *pid = hk_json_get(reply.result, "pid");
	ready(s, "ok %s\n", pid && pid->type == HJ_NUMBER ? pid->s : "0");
	hk_msg_free(&reply);
	resize(s, &side);

	/* Ask for the exit now; the answer arrives when init ends. */
	if (hk_relay_ask_wait(ctl.fd, HK_INIT_PROCESS, &err) < 0)
		goto fail;
	struct hk_relay rl = {
	        .terminal = s->terminal,
	        .in = STDIN_FILENO,
	        .out = STDOUT_FILENO,
	        .err = STDERR_FILENO,
	        .stream = {st[0], st[1], st[2], st[3]},
	        .wait_fd = ctl.fd,
	        .sig_fd = s->sig_fd,
	        .stop_fd = s->stop_fd,
	        .on_signal = on_signal,
	        .arg = &sc,
	};
	int r = hk_relay_run(&rl, &s->status, &err);
	for (int i = 0; i < 4; i++)
		st[i] = rl.stream[i];
	if (r < 0)
		goto fail;
	if (r > 0)
		goto out;
	hk_timeline("exit-seen");
	s->have_status = true;
	record_ooms(s, &ctl);
	if (s->vm == NULL)
		goto out; /* a pod's container: the VM stays its sandbox's */
	if (call(&ctl, HK_M_SHUTDOWN, NULL, 5000, &err) < 0)
		hk_debug("shutdown: %s", err->msg);
	vmm_vm_exit(s->vm, VMM_EXIT_RESET, "the container exited");
	goto out;
fail:
	/* Waits on the agent end when the VM stops (hk_proto_cancel_on): why
	 * it stopped says more than that they ended. */
	if (s->vm && err && err->code == ECANCELED) {
		pthread_mutex_lock(&s->vm->exit_lock);
		hk_err_set(&err, 0, "the VM stopped: %s",
		           s->vm->exit_reason[0] ? s->vm->exit_reason : "no reason given");
		pthread_mutex_unlock(&s->vm->exit_lock);
	}
	if (s->ready_fd >= 0) {
		ready(s, "error %s\n", err ? err->msg : "unknown error");
		s->failed = true;
	} else
		hk_error("%s", err ? err->msg : "the agent connection failed");
	if (s->vm)
		vmm_vm_exit(s->vm, VMM_EXIT_DEVICE, "container: %s", err ? err->msg : "failed");
out:
	for (int i = 0; i < 4; i++)
		if (st[i] >= 0)
			close(st[i]);
	hk_agent_close(&ctl);
	hk_agent_close(&side);
	return NULL;
}

static void on_start(struct vmm_vm *vm, void *arg)
{
	struct cstate *s = arg;
	s->vm = vm;
	if (pthread_create(&s->thread, NULL, container_thread, s) == 0)
		s->started = true;
	else
		vmm_vm_exit(vm, VMM_EXIT_DEVICE, "container: cannot start its thread");
}

static void on_stop(void *arg)
{
	struct cstate *s = arg;
	uint64_t one = 1;
	if (!s->started)
		return;
	(void)!write(s->stop_fd, &one, sizeof(one));
	pthread_join(s->thread, NULL);
	s->started = false;
}

/* The signals the relay forwards, as a signalfd; the thread's stop
 * eventfd; the terminal in raw mode. */
static int relay_setup(struct cstate *s, hk_err **err)
{
	sigset_t sigs;

	sigemptyset(&sigs);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&sigs, forwarded[i]);
	sigaddset(&sigs, SIGWINCH);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	s->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->sig_fd < 0 || s->stop_fd < 0)
		return hk_err_set(err, errno, "signalfd");
	hk_proto_cancel_on(s->stop_fd);
	/* A terminal passes bytes untouched: the guest's pty does the line
	 * discipline, as the container's own terminal. */
	if (s->terminal && tcgetattr(STDIN_FILENO, &s->saved) == 0) {
		struct termios raw = s->saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			s->restore_tty = true;
	}
	return 0;
}

static void relay_done(struct cstate *s)
{
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	if (s->stop_fd >= 0) {
		hk_proto_cancel_on(-1);
		close(s->stop_fd);
	}
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	free(s->config);
	free(s->net);
}

static int open_stats(struct cstate *s, const char *state_dir, hk_err **err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/final-stats.json", state_dir);
	s->stats_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (s->stats_fd < 0)
		return hk_err_set(err, errno, "create `%s`", path);
	return 0;
}

/* A pod's container (runtime/pod.h): no VM, the container thread alone
 * against the sandbox's agent, with the config husk wrote for the guest. */
static int pod_run(struct vmm_config *cfg, const struct vmm_container *c, hk_err **err)
{
	struct cstate s = {.c = c,
	                   .bind = c->id,
	                   .ready_fd = c->ready_fd,
	                   .stop_fd = -1,
	                   .sig_fd = -1,
	                   .stats_fd = -1};
	struct oci_spec *spec = NULL;
	size_t len;
	int rc = -1;

	if (hk_read_file(c->config, HK_PROTO_MAX_FRAME / 2, &s.config, &len, err) < 0 ||
	    oci_spec_parse(s.config, len, &spec, err) < 0)
		goto out;
	s.terminal = spec->process && spec->process->terminal.set && spec->process->terminal.v;
	if (snprintf(s.uds, sizeof(s.uds), "%s", cfg->vsock_uds) >= (int)sizeof(s.uds)) {
		hk_err_set(err, ENAMETOOLONG, "--vsock");
		goto out;
	}
	if (open_stats(&s, c->state_dir, err) < 0 || relay_setup(&s, err) < 0)
		goto out;
	/* Confined as a VM's monitor is, before it reads a byte of the
	 * guest's: an empty root holding only the sandbox's agent socket, no
	 * capabilities, no_new_privs; the thread adds its seccomp filter. */
	if (cfg->jail.dir &&
	    (pol_jail_add_bind(&cfg->jail, s.uds, "connections to the agent", err) < 0 ||
	     pol_jail_enter(&cfg->jail, err) < 0))
		goto out;
	if (pthread_create(&s.thread, NULL, container_thread, &s) != 0) {
		hk_err_set(err, EAGAIN, "the container's thread");
		goto out;
	}
	pthread_join(s.thread, NULL);
	if (s.restore_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &s.saved);
	if (s.failed) {
		rc = 1 << 8;
	} else if (s.have_status) {
		rc = s.status;
	} else {
		/* The sandbox's VM ended under the container: as if killed. */
		hk_error("the pod's sandbox ended before the container exited");
		rc = SIGKILL;
	}
out:
	if (s.ready_fd >= 0 && rc < 0)
		ready(&s, "error %s\n", *err ? (*err)->msg : "set-up failed");
	relay_done(&s);
	oci_spec_free(spec);
	return rc;
}

int vmm_container_run(struct vmm_config *cfg, const struct vmm_container *c, hk_err **err)
{
	struct cstate s = {
	        .c = c, .ready_fd = c->ready_fd, .stop_fd = -1, .sig_fd = -1, .stats_fd = -1};
	struct oci_spec *spec = NULL;
	char path[PATH_MAX], share[PATH_MAX];
	size_t len;
	int rc = -1;

	if (c->pod)
		return pod_run(cfg, c, err);
	snprintf(path, sizeof(path), "%s/config.json", c->bundle);
	if (oci_spec_load(path, &spec, err) < 0)
		goto out;
	if (spec->process == NULL) {
		hk_err_set(err, EINVAL, "config.json: process: missing");
		goto out;
	}
	s.terminal = spec->process->terminal.set && spec->process->terminal.v;
	snprintf(share, sizeof(share), "%s/share", c->state_dir);
	if (prepare_share(&s, spec, share, err) < 0 ||
	    oci_write(&oci_spec_type, spec, false, &s.config, &len, err) < 0)
		goto out;
	if (vmm_net_setup(spec, c->state_dir, cfg, &s.net, err) < 0)
		goto out;
	if (hk_sock_path(c->state_dir, "vsock.sock", s.uds, sizeof(s.uds)) < 0) {
		hk_err_set(err, ENAMETOOLONG, "vsock socket for `%s`", c->state_dir);
		goto out;
	}
	if (strncmp(s.uds, HK_SOCK_DIR "/", strlen(HK_SOCK_DIR) + 1) == 0) {
		char d[PATH_MAX];
		snprintf(d, sizeof(d), "%s", s.uds);
		*strrchr(d, '/') = '\0';
		if (hk_mkdir_p(d, 0700, err) < 0)
			goto out;
	}
	cfg->vsock_uds = s.uds;
	cfg->vsock_outbound = false;
	/* In the jail the agent's socket is all there is of the host. */
	if (cfg->jail.dir &&
	    pol_jail_add_bind(&cfg->jail, s.uds, "connections to the agent", err) < 0)
		goto out;
	/* The control socket (control.c) listens before the jail is entered. */
	if (hk_sock_path(c->state_dir, "control.sock", s.control, sizeof(s.control)) < 0) {
		hk_err_set(err, ENAMETOOLONG, "control socket for `%s`", c->state_dir);
		goto out;
	}
	cfg->control = s.control;
	if (open_stats(&s, c->state_dir, err) < 0)
		goto out;
	snprintf(cfg->fs[0].tag, sizeof(cfg->fs[0].tag), "husk");
	cfg->fs[0].dir = share;
	cfg->fs[0].readonly = false;
	cfg->nfs = 1;

	if (relay_setup(&s, err) < 0)
		goto out;
	cfg->forward_signals = true;
	cfg->on_start = on_start;
	cfg->on_stop = on_stop;
	cfg->hook_arg = &s;
	int vs = vmm_run(cfg, err);
	/* The redirects on the engine's interfaces stay: the monitor holds no
	 * capability by now (policy/jail.c), and `husk delete` removes them
	 * from net.json (runtime/netclean.c) as after a crash. The taps went
	 * with their descriptors. */
	if (s.restore_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &s.saved);
	if (vs < 0) {
		ready(&s, "error %s\n", (*err)->msg);
		goto out;
	}
	if (s.failed) {
		rc = 1 << 8;
	} else if (s.have_status) {
		rc = s.status;
	} else {
		/* The VM ended before the container did: a panic, a kill. */
		ready(&s, "error the VM ended before the container was created (status %d)\n", vs);
		hk_error("the VM ended before the container exited (monitor status %d)", vs);
		rc = (vs & 0xff) << 8;
	}
out:
	if (s.ready_fd >= 0 && rc < 0)
		ready(&s, "error %s\n", *err ? (*err)->msg : "set-up failed");
	relay_done(&s);
	oci_spec_free(spec);
	return rc;
}
