/* husk exec: a new process in a running container, with runc's flags.
 * The process is built from --process F, or from the container's own
 * process with the arguments and flags given; it runs in the guest, and
 * this side relays its stdio and leaves with its status. With --detach a
 * child of ours does that (its pid goes to --pid-file, as shims expect). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cmd/husk/husk.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/relay.h"
#include "lib/util.h"
#include "oci/spec.h"
#include "runtime/container.h"

struct exec_opts {
	const char *process_file, *console_socket, *pid_file, *cwd, *user;
	bool tty, detach, nnp;
	char **env;
	size_t nenv;
	char **caps;
	size_t ncaps;
	char **gids;
	size_t ngids;
};

static int push(char ***v, size_t *n, char *s, hk_err **err)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (nv == NULL)
		return hk_err_set(err, ENOMEM, "exec");
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static int strv_add(oci_strv *v, const char *s, hk_err **err)
{
	char **nv = realloc(v->v, (v->n + 2) * sizeof(char *));
	if (nv == NULL)
		return hk_err_set(err, ENOMEM, "exec");
	v->v = nv;
	if ((v->v[v->n] = strdup(s)) == NULL)
		return hk_err_set(err, ENOMEM, "exec");
	v->n++;
	v->v[v->n] = NULL;
	v->set = true;
	return 0;
}

/* Sets NAME=VALUE in env, replacing an entry of the same name. */
static int env_set(oci_strv *env, const char *kv, hk_err **err)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], kv, n) == 0 && env->v[i][n] == '=') {
			char *s = strdup(kv);
			if (s == NULL)
				return hk_err_set(err, ENOMEM, "exec");
			free(env->v[i]);
			env->v[i] = s;
			return 0;
		}
	}
	return strv_add(env, kv, err);
}

/* The process document to send: --process F, or the container's process
 * with the command and the flags applied. */
static int build_process(const struct rt_info *info, const struct exec_opts *o, char **args,
                         size_t nargs, char **out, hk_err **err)
{
	struct oci_process *p = NULL;
	struct oci_spec *spec = NULL;
	size_t len;
	int rc = -1;

	if (o->process_file) {
		if (oci_load(&oci_process_type, o->process_file, (void **)&p, err) < 0)
			return hk_err_wrap(err, "exec --process");
		if (o->tty) {
			p->terminal.set = true;
			p->terminal.v = true;
		}
	} else {
		char cfg[PATH_MAX + 16];
		snprintf(cfg, sizeof(cfg), "%s/config.json", info->bundle);
		if (nargs == 0)
			return hk_err_set(err, 0, "exec: want a command or --process");
		if (oci_spec_load(cfg, &spec, err) < 0)
			return hk_err_wrap(err, "exec");
		p = spec->process;
		spec->process = NULL;
		for (size_t i = 0; i < p->args.n; i++)
			free(p->args.v[i]);
		p->args.n = 0;
		for (size_t i = 0; i < nargs; i++)
			if (strv_add(&p->args, args[i], err) < 0)
				goto out;
		p->terminal.set = true;
		p->terminal.v = o->tty;
		free(p->console_size);
		p->console_size = NULL;
		for (size_t i = 0; i < o->nenv; i++)
			if (env_set(&p->env, o->env[i], err) < 0)
				goto out;
		if (o->cwd) {
			free(p->cwd);
			p->cwd = strdup(o->cwd);
		}
		if (o->nnp) {
			p->no_new_privileges.set = true;
			p->no_new_privileges.v = true;
		}
		if (o->user) {
			uint64_t uid, gid = 0;
			char u[64];
			snprintf(u, sizeof(u), "%s", o->user);
			char *colon = strchr(u, ':');
			if (colon)
				*colon++ = '\0';
			if (hk_parse_u64(u, &uid) < 0 || (colon && hk_parse_u64(colon, &gid) < 0)) {
				hk_err_set(err, 0, "exec --user %s: want UID[:GID]", o->user);
				goto out;
			}
			if (p->user == NULL && (p->user = calloc(1, sizeof(*p->user))) == NULL) {
				hk_err_set(err, ENOMEM, "exec");
				goto out;
			}
			p->user->uid = (struct oci_u64){true, uid};
			p->user->gid = (struct oci_u64){true, gid};
		}
		for (size_t i = 0; i < o->ngids && p->user; i++) {
			uint64_t g;
			if (hk_parse_u64(o->gids[i], &g) < 0 || g > UINT32_MAX) {
				hk_err_set(err, 0, "exec --additional-gids %s", o->gids[i]);
				goto out;
			}
			uint32_t *nv = realloc(p->user->additional_gids.v,
			                       (p->user->additional_gids.n + 1) * sizeof(uint32_t));
			if (nv == NULL) {
				hk_err_set(err, ENOMEM, "exec");
				goto out;
			}
			nv[p->user->additional_gids.n++] = (uint32_t)g;
			p->user->additional_gids.v = nv;
			p->user->additional_gids.set = true;
		}
		for (size_t i = 0; i < o->ncaps; i++) {
			if (p->capabilities == NULL &&
			    (p->capabilities = calloc(1, sizeof(*p->capabilities))) == NULL) {
				hk_err_set(err, ENOMEM, "exec");
				goto out;
			}
			oci_strv *sets[] = {&p->capabilities->bounding, &p->capabilities->effective,
			                    &p->capabilities->permitted};
			for (size_t k = 0; k < 3; k++)
				if (strv_add(sets[k], o->caps[i], err) < 0)
					goto out;
		}
	}
	rc = oci_write(&oci_process_type, p, false, out, &len, err);
out:
	oci_free(&oci_process_type, p);
	oci_spec_free(spec);
	return rc;
}

struct sigctx {
	struct hk_agent *side;
	const char *id;
	bool terminal;
	int tty_fd;
};

static void on_signal(int sig, void *arg)
{
	struct sigctx *c = arg;
	cleanup_err hk_err *err = NULL;
	cleanup_buf struct hk_buf b = {0};
	struct hk_msg r;

	if (sig == SIGWINCH) {
		struct winsize ws;
		if (!c->terminal || ioctl(c->tty_fd, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
			return;
		hk_buf_printf(&b, "{\"process\":");
		hk_buf_jstr(&b, c->id);
		hk_buf_printf(&b, ",\"width\":%u,\"height\":%u}", ws.ws_col, ws.ws_row);
		if (hk_buf_done(&b, &err) == 0 &&
		    hk_agent_call(c->side, HK_M_RESIZE_TTY, b.s, 5000, &r, &err) == 0)
			hk_msg_free(&r);
		return;
	}
	hk_buf_printf(&b, "{\"process\":");
	hk_buf_jstr(&b, c->id);
	hk_buf_printf(&b, ",\"signal\":%d}", sig);
	if (hk_buf_done(&b, &err) == 0 &&
	    hk_agent_call(c->side, HK_M_SIGNAL_PROCESS, b.s, 5000, &r, &err) == 0)
		hk_msg_free(&r);
}

static int send_console(const char *path, int fd, hk_err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cleanup_close int s = -1;
	char name[] = "/dev/ptmx";
	char ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = ctl,
	                     .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	if (strlen(path) >= sizeof(sa.sun_path))
		return hk_err_set(err, ENAMETOOLONG, "console socket `%s`", path);
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return hk_err_set(err, errno, "console socket `%s`", path);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0)
		return hk_err_set(err, errno, "console socket `%s`: send", path);
	return 0;
}

/* Everything after the process document: streams, the call, the relay.
 * report_fd (detached mode) gets "ok" or "error MSG" once the process runs. */
static int run_exec(const struct rt_ctx *g, const char *cid, const char *process, bool terminal,
                    const struct exec_opts *o, int report_fd, int *status, hk_err **err)
{
	char uds[PATH_MAX], id[64];
	int st[4] = {-1, -1, -1, -1}, term_in = STDIN_FILENO, term_out = STDOUT_FILENO;
	int master = -1, slave = -1, rc = -1, sig_fd = -1;
	struct hk_agent ctl = {.fd = -1}, side = {.fd = -1};
	struct termios saved;
	bool restore = false;
	cleanup_buf struct hk_buf b = {0};
	struct hk_msg r;
	static const char *const kinds[] = {HK_STREAM_STDIN, HK_STREAM_STDOUT, HK_STREAM_STDERR};

	snprintf(id, sizeof(id), "exec-%d-%llu", (int)getpid(), (unsigned long long)hk_now_us());
	rt_vsock_path(g, cid, uds, sizeof(uds));
	if (terminal && o->console_socket) {
		char name[64];
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
		    ptsname_r(master, name, sizeof(name)) != 0 ||
		    (slave = open(name, O_RDWR | O_CLOEXEC)) < 0) {
			hk_err_set(err, errno, "open a pty");
			goto out;
		}
		/* The slave as our controlling terminal brings SIGWINCH when
		 * the engine resizes the master. That takes a session of our
		 * own: an engine's exec is no job of a terminal's, so leaving
		 * the caller's session costs nothing. */
		if (report_fd < 0)
			setsid();
		if (ioctl(slave, TIOCSCTTY, 0) < 0)
			hk_warn("the console cannot be our terminal (%s): resizes will not reach "
			        "the process",
			        strerror(errno));
		struct termios raw;
		if (tcgetattr(slave, &raw) == 0) {
			cfmakeraw(&raw);
			tcsetattr(slave, TCSANOW, &raw);
		}
		if (send_console(o->console_socket, master, err) < 0)
			goto out;
		close(master);
		master = -1;
		term_in = term_out = slave;
	} else if (terminal && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios raw = saved;
		cfmakeraw(&raw);
		restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	if (terminal) {
		st[3] = hk_agent_stream(uds, rt_agent_container(g, cid), id, HK_STREAM_TTY, 10000,
		                        err);
		if (st[3] < 0)
			goto out;
	} else {
		for (int i = 0; i < 3; i++)
			if ((st[i] = hk_agent_stream(uds, rt_agent_container(g, cid), id, kinds[i],
			                             10000, err)) < 0)
				goto out;
	}
	hk_buf_printf(&b, "{\"id\":");
	hk_buf_jstr(&b, id);
	hk_buf_printf(&b, ",\"process\":");
	hk_buf_jstr(&b, process);
	hk_buf_printf(&b, "}");
	if (hk_buf_done(&b, err) < 0 || rt_agent_open(g, cid, &ctl, err) < 0 ||
	    rt_agent_open(g, cid, &side, err) < 0 ||
	    hk_agent_call(&ctl, HK_M_EXEC_PROCESS, b.s, 60000, &r, err) < 0)
		goto out;
	hk_msg_free(&r);
	if (report_fd >= 0) {
		(void)!write(report_fd, "ok\n", 3);
		close(report_fd);
		report_fd = -1;
	}
	sigset_t sigs;
	sigemptyset(&sigs);
	int fwd[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGTERM, SIGALRM, SIGWINCH};
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaddset(&sigs, fwd[i]);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	struct sigctx sc = {.side = &side, .id = id, .terminal = terminal, .tty_fd = term_in};
	if (terminal)
		on_signal(SIGWINCH, &sc);
	if (hk_relay_ask_wait(ctl.fd, id, err) < 0)
		goto out;
	struct hk_relay rl = {
	        .terminal = terminal,
	        .in = term_in,
	        .out = term_out,
	        .err = STDERR_FILENO,
	        .stream = {st[0], st[1], st[2], st[3]},
	        .wait_fd = ctl.fd,
	        .sig_fd = sig_fd,
	        .stop_fd = -1,
	        .on_signal = on_signal,
	        .arg = &sc,
	};
	rc = hk_relay_run(&rl, status, err);
	for (int i = 0; i < 4; i++)
		st[i] = rl.stream[i];
out:
	if (restore)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (report_fd >= 0) {
		char line[1100];
		snprintf(line, sizeof(line), "error %s\n", *err ? (*err)->msg : "exec failed");
		(void)!write(report_fd, line, strlen(line));
		close(report_fd);
	}
	for (int i = 0; i < 4; i++)
		if (st[i] >= 0)
			close(st[i]);
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	if (sig_fd >= 0)
		close(sig_fd);
	hk_agent_close(&ctl);
	hk_agent_close(&side);
	return rc;
}

static __attribute__((noreturn)) void leave_with(int status)
{
	if (status & 0x7f) {
		struct rlimit none = {0, 0};
		sigset_t one;
		setrlimit(RLIMIT_CORE, &none);
		signal(status & 0x7f, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, status & 0x7f);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(status & 0x7f);
		_exit(128 + (status & 0x7f));
	}
	_exit((status >> 8) & 0xff);
}

int husk_cmd_exec(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	static const struct option opts[] = {
	        {"process", required_argument, NULL, 'p'},
	        {"console-socket", required_argument, NULL, 'C'},
	        {"pid-file", required_argument, NULL, 'P'},
	        {"cwd", required_argument, NULL, 'w'},
	        {"env", required_argument, NULL, 'e'},
	        {"tty", no_argument, NULL, 't'},
	        {"user", required_argument, NULL, 'u'},
	        {"additional-gids", required_argument, NULL, 'g'},
	        {"cap", required_argument, NULL, 'c'},
	        {"no-new-privs", no_argument, NULL, 'n'},
	        {"detach", no_argument, NULL, 'd'},
	        {"process-label", required_argument, NULL, 'L'},
	        {"apparmor", required_argument, NULL, 'A'},
	        {"preserve-fds", required_argument, NULL, 'F'},
	        {"ignore-paused", no_argument, NULL, 'I'},
	        {"cgroup", required_argument, NULL, 'G'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct exec_opts o = {0};
	struct rt_ctx c;
	struct rt_info info;
	cleanup_free char *process = NULL;
	int ch, status = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "+p:e:tu:g:c:dh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			o.process_file = optarg;
			break;
		case 'C':
			o.console_socket = optarg;
			break;
		case 'P':
			o.pid_file = optarg;
			break;
		case 'w':
			o.cwd = optarg;
			break;
		case 'e':
			if (push(&o.env, &o.nenv, optarg, err) < 0)
				return -1;
			break;
		case 't':
			o.tty = true;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'g':
			if (push(&o.gids, &o.ngids, optarg, err) < 0)
				return -1;
			break;
		case 'c':
			if (push(&o.caps, &o.ncaps, optarg, err) < 0)
				return -1;
			break;
		case 'n':
			o.nnp = true;
			break;
		case 'd':
			o.detach = true;
			break;
		case 'L':
		case 'A':
		case 'F':
		case 'I':
		case 'G':
			break;
		case 'h':
			husk_usage("exec");
			return 0;
		default:
			return hk_err_set(err, 0, "exec: bad flag `%s`", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return hk_err_set(err, 0, "exec: want a container ID");
	const char *cid = argv[optind];
	husk_ctx(g, &c);
	if (rt_info(&c, cid, &info, err) < 0)
		return -1;
	bool stopped = strcmp(info.status, "stopped") == 0;
	if (!stopped && build_process(&info, &o, argv + optind + 1, (size_t)(argc - optind - 1),
	                              &process, err) < 0) {
		rt_info_free(&info);
		return -1;
	}
	rt_info_free(&info);
	free(o.env);
	free(o.caps);
	free(o.gids);
	o.env = o.caps = o.gids = NULL;
	if (stopped)
		return hk_err_set(err, 0, "cannot exec in a stopped container");
	bool terminal = strstr(process, "\"terminal\":true") != NULL;
	if (terminal && o.detach && o.console_socket == NULL)
		return hk_err_set(err, 0,
		                  "cannot allocate tty if husk will detach without setting "
		                  "console socket");
	if (!o.detach) {
		if (run_exec(&c, cid, process, terminal, &o, -1, &status, err) < 0)
			return -1;
		if (status & 0x7f)
			return 128 + (status & 0x7f);
		return (status >> 8) & 0xff;
	}
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) < 0)
		return hk_err_set(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		return hk_err_set(err, errno, "fork");
	if (pid == 0) {
		close(rep[0]);
		setsid();
		hk_err *e2 = NULL;
		if (run_exec(&c, cid, process, terminal, &o, rep[1], &status, &e2) < 0) {
			hk_error("exec: %s", e2 ? e2->msg : "failed");
			_exit(255);
		}
		leave_with(status);
	}
	close(rep[1]);
	char line[1100];
	ssize_t n = 0, k;
	while ((k = read(rep[0], line + n, sizeof(line) - 1 - (size_t)n)) > 0)
		n += k;
	close(rep[0]);
	line[n > 0 ? n : 0] = '\0';
	if (strncmp(line, "ok", 2) != 0) {
		waitpid(pid, NULL, 0);
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		return hk_err_set(err, 0, "%s",
		                  strncmp(line, "error ", 6) == 0 ? line + 6 : "exec failed");
	}
	if (o.pid_file) {
		char v[24];
		int len = snprintf(v, sizeof(v), "%d", (int)pid);
		if (hk_write_file_atomic(o.pid_file, v, (size_t)len, 0644, err) < 0)
			return -1;
	}
	return 0;
}
