/* The methods that act on a container: create (everything up to the
 * start gate), start, exec, signal, resize, state, ps, pause/resume,
 * stats, update, delete; and reaping. Parameters come from the host, which
 * the guest trusts no more than it must: every field is type-checked here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "guest-agent/ctr.h"
#include "guest-agent/procsec.h"
#include "guest-agent/spawn_report.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/proto.h"
#include "lib/util.h"

struct ctr *agent_ctrs;
static char bound[HK_CTR_ID_MAX + 1];

void ctr_bind(const char *id)
{
	snprintf(bound, sizeof(bound), "%s", id ? id : "");
}

struct ctr *ctr_find(const char *id)
{
	for (struct ctr *c = agent_ctrs; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

struct ctr *ctr_current(void)
{
	return bound[0] ? ctr_find(bound) : agent_ctrs;
}

/* Streams named before their process exists. */
struct pending_stream {
	char container[HK_CTR_ID_MAX + 1];
	char process[128];
	int kind;
	int fd;
};
static struct pending_stream pending[32];
static size_t npending;

static const char *const stream_kinds[NSTREAMS] = {"stdin", "stdout", "stderr", "tty"};

int ctr_stream_add(const char *container, const char *process, const char *kind, int fd,
                   hk_err **err)
{
	int k = 0;
	while (k < NSTREAMS && strcmp(stream_kinds[k], kind) != 0)
		k++;
	if (k == NSTREAMS)
		return hk_err_set(err, EINVAL, "kind: unknown stream `%s`", kind);
	if (strlen(process) >= sizeof(pending[0].process))
		return hk_err_set(err, EINVAL, "process: name too long");
	if (strlen(container) >= sizeof(pending[0].container))
		return hk_err_set(err, EINVAL, "container: name too long");
	if (npending == HK_ARRAY_SIZE(pending))
		return hk_err_set(err, ENOSPC, "too many streams waiting for their process");
	for (size_t i = 0; i < npending; i++)
		if (pending[i].kind == k && strcmp(pending[i].process, process) == 0 &&
		    strcmp(pending[i].container, container) == 0)
			return hk_err_set(err, EEXIST, "%s stream of `%s` already open", kind,
			                  process);
	pending[npending].kind = k;
	pending[npending].fd = fd;
	snprintf(pending[npending].process, sizeof(pending[0].process), "%s", process);
	snprintf(pending[npending].container, sizeof(pending[0].container), "%s", container);
	npending++;
	return 0;
}

/* Moves the waiting streams of `process`, opened under the current
 * binding, into p. */
static void take_streams(const char *process, struct proc *p)
{
	for (int k = 0; k < NSTREAMS; k++)
		p->stream[k] = -1;
	for (size_t i = 0; i < npending;) {
		if (strcmp(pending[i].process, process) == 0 &&
		    strcmp(pending[i].container, bound) == 0) {
			p->stream[pending[i].kind] = pending[i].fd;
			pending[i] = pending[--npending];
		} else
			i++;
	}
}

struct proc *ctr_proc_find(const struct ctr *c, const char *id)
{
	for (struct proc *p = c ? c->procs : NULL; p; p = p->next)
		if (strcmp(p->id, id) == 0)
			return p;
	return NULL;
}

static const char *str_param(const hk_json *params, const char *key)
{
	const hk_json *v = params ? hk_json_get(params, key) : NULL;
	return v && v->type == HJ_STRING ? v->s : NULL;
}

static int int_param(const hk_json *params, const char *key, int64_t *out)
{
	const hk_json *v = params ? hk_json_get(params, key) : NULL;
	return v && v->type == HJ_NUMBER && hk_parse_i64(v->s, out) == 0 ? 0 : -1;
}

static int result(char **out, hk_err **err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int result(char **out, hk_err **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0)
		return hk_err_set(err, ENOMEM, "reply");
	return 0;
}

/* Reads one report from a child within timeout_ms; 0 at EOF. */
static int read_report(int fd, int timeout_ms, struct spawn_report *r, hk_err **err)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return hk_err_set(err, ETIMEDOUT, "the container process did not report");
	ssize_t k = read(fd, r, sizeof(*r));
	if (k == 0)
		return 0;
	if (k != (ssize_t)sizeof(*r))
		return hk_err_set(err, EPROTO, "a torn report from the container process");
	r->msg[sizeof(r->msg) - 1] = '\0';
	return 1;
}

static int mount_share(hk_err **err)
{
	struct stat a, b;
	if (hk_mkdir_p(AGENT_SHARE_DIR, 0755, err) < 0)
		return -1;
	/* Mounted already when the device differs from its parent's. */
	if (stat(AGENT_SHARE_DIR, &a) == 0 && stat(AGENT_SHARE_DIR "/..", &b) == 0 &&
	    a.st_dev != b.st_dev)
		return 0;
	if (mount(AGENT_SHARE_TAG, AGENT_SHARE_DIR, "virtiofs", MS_NOSUID | MS_NODEV, NULL) < 0)
		return hk_err_set(err, errno, "mount the virtio-fs share `%s`", AGENT_SHARE_TAG);
	return 0;
}

static struct proc *proc_new(struct ctr *c, const char *id)
{
	struct proc *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->ctr = c;
	p->master = -1;
	take_streams(id, p);
	return p;
}

static void proc_close(struct proc *p)
{
	for (int k = 0; k < NSTREAMS; k++) {
		if (p->stream[k] >= 0 && (k != STREAM_TTY || p->master < 0)) {
			close(p->stream[k]);
			p->stream[k] = -1;
		}
	}
}

/* A pty in the guest for a process with a terminal: the slave becomes its
 * stdio, the agent relays the master to the tty stream. */
static int open_pty(struct proc *p, const struct oci_process *proc, int *slave, hk_err **err)
{
	*slave = -1;
	if (!(proc->terminal.set && proc->terminal.v))
		return 0;
	if (p->stream[STREAM_TTY] < 0)
		return hk_err_set(err, EINVAL, "process.terminal: no tty stream was opened");
	/* A devpts instance's own ptmx, and the slave through TIOCGPTPEER:
	 * no lookup of /dev/ptmx (absent from a minimal devtmpfs) or of a
	 * /dev/pts/N path. The container's own instance when it has one, so
	 * the process finds its terminal under /dev/pts as under runc; the
	 * agent's otherwise. */
	char ptmx[sizeof(p->ctr->pts) + 8];
	snprintf(ptmx, sizeof(ptmx), "%s/ptmx", p->ctr->pts);
	int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0;
	if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) < 0 ||
	    (*slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		int e = errno;
		if (m >= 0)
			close(m);
		*slave = -1;
		return hk_err_set(err, e, "open a pty");
	}
	if (proc->console_size) {
		struct winsize ws = {.ws_row = (unsigned short)proc->console_size->height.v,
		                     .ws_col = (unsigned short)proc->console_size->width.v};
		ioctl(m, TIOCSWINSZ, &ws);
	}
	fcntl(m, F_SETFL, O_NONBLOCK);
	p->master = m;
	return 0;
}

/* A pod container's namespace paths name its pod's other containers
 * (HK_NS_CONTAINER "ID"): their init's namespaces in this VM. A path to a
 * host namespace means nothing in here. */
static int resolve_ns_paths(struct oci_spec *spec, hk_err **err)
{
	static const struct {
		const char *type, *file;
	} files[] = {{"ipc", "ipc"}, {"uts", "uts"}, {"pid", "pid"}, {"cgroup", "cgroup"}};
	const size_t plen = strlen(HK_NS_CONTAINER);

	for (size_t i = 0; spec->linux_ && i < spec->linux_->namespaces.n; i++) {
		struct oci_namespace *ns = &spec->linux_->namespaces.v[i];
		const char *file = NULL;
		if (ns->path == NULL || ns->path[0] == '\0' || strcmp(ns->type, "network") == 0)
			continue;
		for (size_t k = 0; k < HK_ARRAY_SIZE(files); k++)
			if (strcmp(files[k].type, ns->type) == 0)
				file = files[k].file;
		if (file == NULL || strncmp(ns->path, HK_NS_CONTAINER, plen) != 0)
			return hk_err_set(err, ENOTSUP,
			                  "linux.namespaces[%zu].path: joining a %s namespace by "
			                  "path is not supported inside husk VMs",
			                  i, ns->type);
		const char *other = ns->path + plen;
		struct proc *init = ctr_proc_find(ctr_find(other), HK_INIT_PROCESS);
		if (init == NULL || init->exited)
			return hk_err_set(err, ESRCH,
			                  "linux.namespaces[%zu]: container `%.64s` is not running "
			                  "in this VM",
			                  i, other);
		char *path = NULL;
		if (asprintf(&path, "/proc/%d/ns/%s", (int)init->pid, file) < 0)
			return hk_err_set(err, ENOMEM, "linux.namespaces[%zu]", i);
		free(ns->path);
		ns->path = path;
	}
	return 0;
}

static void ctr_free(struct ctr *c)
{
	if (c == NULL)
		return;
	for (struct proc *p = c->procs, *n; p; p = n) {
		n = p->next;
		if (p->master >= 0)
			close(p->master);
		p->master = -1;
		proc_close(p);
		free(p);
	}
	if (c->gate >= 0)
		close(c->gate);
	if (c->errfd >= 0)
		close(c->errfd);
	if (c->pts[0] && umount2(c->pts, MNT_DETACH) == 0)
		rmdir(c->pts);
	if (c->cgroup[0])
		rmdir(c->cgroup);
	oci_spec_free(c->spec);
	free(c);
}

int ctr_create(const hk_json *params, char **out, hk_err **err)
{
	const char *id = str_param(params, "id"), *config = str_param(params, "config");
	struct oci_spec *spec = NULL;
	int gate[2] = {-1, -1}, rep[2] = {-1, -1}, slave = -1;
	struct proc *p = NULL;
	struct ctr *c = NULL;
	struct spawn_report r;

	if (id == NULL || config == NULL)
		return hk_err_set(err, EINVAL, "create_container: want id and config");
	if (id[0] == '\0' || id[0] == '.' || strchr(id, '/') || strlen(id) > HK_CTR_ID_MAX)
		return hk_err_set(err, EINVAL, "create_container: bad id");
	/* A second container comes from a pod's own connection. */
	if (agent_ctrs && bound[0] == '\0')
		return hk_err_set(err, EEXIST, "this VM already holds container `%s`",
		                  agent_ctrs->id);
	if (bound[0] && strcmp(bound, id) != 0)
		return hk_err_set(err, EINVAL, "create_container: this connection is for `%.64s`",
		                  bound);
	if (ctr_find(id))
		return hk_err_set(err, EEXIST, "container `%.64s` exists in this VM", id);
	if (oci_spec_parse(config, strlen(config), &spec, err) < 0)
		return hk_err_wrap(err, "config.json");
	if (spec->process == NULL) {
		oci_spec_free(spec);
		return hk_err_set(err, EINVAL, "config.json: process: missing");
	}
	/* A profile libseccomp refuses fails here, with its reason, rather
	 * than in the child as a bare exec failure. */
	if (spec->linux_ && spec->linux_->seccomp &&
	    agent_seccomp_check(spec->linux_->seccomp, err) < 0) {
		oci_spec_free(spec);
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		oci_spec_free(spec);
		return hk_err_set(err, ENOMEM, "container table");
	}
	c->gate = c->errfd = -1;
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->spec = spec;
	/* The NICs are the sandbox's, set up with it. */
	if (mount_share(err) < 0 ||
	    (agent_ctrs == NULL && agent_net_apply(hk_json_get(params, "network"), err) < 0) ||
	    resolve_ns_paths(spec, err) < 0)
		goto fail;
	snprintf(c->pts, sizeof(c->pts), "%s/%s", CTR_PTS, id);
	if (rootfs_mount_pts(spec, c->pts, err) < 0)
		goto fail;
	snprintf(c->cgroup, sizeof(c->cgroup), "%s/%s", AGENT_CGROUP, id);
	if (cgroup_create(c->cgroup, err) < 0 ||
	    cgroup_apply(c->cgroup, spec->linux_ ? spec->linux_->resources : NULL, err) < 0)
		goto fail;
	p = proc_new(c, HK_INIT_PROCESS);
	if (p == NULL) {
		hk_err_set(err, ENOMEM, "process table");
		goto fail;
	}
	p->init = true;
	if (open_pty(p, spec->process, &slave, err) < 0)
		goto fail;
	if (pipe2(gate, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		hk_err_set(err, errno, "pipe");
		goto fail;
	}
	struct spawn_req req = {
	        .spec = spec,
	        .process = spec->process,
	        .cgroup = c->cgroup,
	        .pts = c->pts,
	        .stdio = {p->stream[STREAM_STDIN], p->stream[STREAM_STDOUT],
	                  p->stream[STREAM_STDERR]},
	        .tty_slave = slave,
	        .gate_rd = gate[0],
	        .err_wr = rep[1],
	};
	p->pid = spawn_process(&req, err);
	if (p->pid < 0)
		goto fail;
	close(gate[0]);
	close(rep[1]);
	gate[0] = rep[1] = -1;
	if (slave >= 0)
		close(slave);
	slave = -1;
	int k = read_report(rep[0], 30000, &r, err);
	if (k <= 0 || r.kind != 'R') {
		if (k > 0)
			hk_err_set(err, 0, "%s", r.msg);
		else if (k == 0)
			hk_err_set(err, EPROTO, "the container process ended during set-up");
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		goto fail;
	}
	proc_close(p);
	p->next = c->procs;
	c->procs = p;
	c->gate = gate[1];
	c->errfd = rep[0];
	c->status = CTR_CREATED;
	struct ctr **tail = &agent_ctrs;
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	return result(out, err, "{\"pid\":%d}", (int)p->pid);
fail:
	for (int i = 0; i < 2; i++) {
		if (gate[i] >= 0)
			close(gate[i]);
		if (rep[i] >= 0)
			close(rep[i]);
	}
	if (slave >= 0)
		close(slave);
	if (p) {
		if (p->master >= 0)
			close(p->master);
		p->master = -1;
		proc_close(p);
		free(p);
	}
	ctr_free(c);
	return -1;
}

int ctr_delete(const hk_json *params, char **out, hk_err **err)
{
	struct ctr *c = ctr_current();
	char events[HK_CTR_ID_MAX + 64], buf[512];

	(void)params;
	if (c == NULL)
		return result(out, err, "{}");
	if (c == agent_ctrs)
		return hk_err_set(err, EPERM, "the sandbox's container ends with its VM");
	hk_err *ignore = NULL;
	if (cgroup_write(c->cgroup, "cgroup.kill", "1", &ignore) < 0)
		hk_err_free(&ignore);
	/* Its processes leave the cgroup as they die (the reaper collects
	 * them later); the cgroup goes once it is empty. */
	snprintf(events, sizeof(events), "%s/cgroup.events", c->cgroup);
	for (int i = 0; i < 2000; i++) {
		int fd = open(events, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, "populated 0"))
			break;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	for (struct ctr **pp = &agent_ctrs; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ctr_free(c);
	return result(out, err, "{}");
}

int ctr_start(const hk_json *params, char **out, hk_err **err)
{
	struct ctr *c = ctr_current();
	struct spawn_report r;

	if (c == NULL)
		return hk_err_set(err, ENOENT, "no container `%.64s` in this VM", bound);
	if (c->status != CTR_CREATED)
		return hk_err_set(err, EINVAL, "cannot start a container that is not created");
	if (write(c->gate, "g", 1) != 1)
		return hk_err_set(err, errno, "start");
	close(c->gate);
	c->gate = -1;
	int k = read_report(c->errfd, 30000, &r, err);
	close(c->errfd);
	c->errfd = -1;
	if (k < 0)
		return -1;
	if (k > 0 && r.kind == 'E')
		return hk_err_set(err, 0, "%s", r.msg);
	if (c->status == CTR_CREATED)
		c->status = CTR_RUNNING;
	return result(out, err, "{}");
}

int ctr_exec(const hk_json *params, char **out, hk_err **err)
{
	struct ctr *c = ctr_current();
	const char *id = str_param(params, "id"), *text = str_param(params, "process");
	struct oci_process *proc = NULL;
	struct proc *p = NULL, *init = ctr_proc_find(c, HK_INIT_PROCESS);
	int rep[2] = {-1, -1}, slave = -1;
	struct spawn_report r;
	pid_t mid = -1;

	if (c == NULL)
		return hk_err_set(err, ENOENT, "no container `%.64s` in this VM", bound);
	if (c->status != CTR_CREATED && c->status != CTR_RUNNING && c->status != CTR_PAUSED)
		return hk_err_set(err, EINVAL, "cannot exec in a stopped container");
	if (init == NULL || init->exited)
		return hk_err_set(err, EINVAL, "cannot exec in a stopped container");
	/* A process joining a frozen cgroup freezes before it runs, and its
	 * exec would wait for a resume that may never come: refuse, as runc. */
	if (c->status == CTR_PAUSED)
		return hk_err_set(err, EINVAL, "cannot exec in a paused container");
	if (id == NULL || text == NULL)
		return hk_err_set(err, EINVAL, "exec_process: want id and process");
	if (ctr_proc_find(c, id))
		return hk_err_set(err, EEXIST, "exec id `%s` is in use", id);
	if (oci_parse(&oci_process_type, text, strlen(text), (void **)&proc, err) < 0)
		return hk_err_wrap(err, "process");
	p = proc_new(c, id);
	if (p == NULL) {
		hk_err_set(err, ENOMEM, "process table");
		goto fail;
	}
	if (open_pty(p, proc, &slave, err) < 0)
		goto fail;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		hk_err_set(err, errno, "pipe");
		goto fail;
	}
	struct spawn_req req = {
	        .spec = c->spec,
	        .process = proc,
	        .cgroup = c->cgroup,
	        .pts = c->pts,
	        .join_pid = init->pid,
	        .stdio = {p->stream[STREAM_STDIN], p->stream[STREAM_STDOUT],
	                  p->stream[STREAM_STDERR]},
	        .tty_slave = slave,
	        .gate_rd = -1,
	        .err_wr = rep[1],
	};
	mid = spawn_process(&req, err);
	if (mid < 0)
		goto fail;
	close(rep[1]);
	rep[1] = -1;
	if (slave >= 0)
		close(slave);
	slave = -1;
	int k = read_report(rep[0], 30000, &r, err);
	waitpid(mid, NULL, 0);
	if (k <= 0 || r.kind != 'P') {
		if (k > 0)
			hk_err_set(err, 0, "%s", r.msg);
		else if (k == 0)
			hk_err_set(err, EPROTO, "exec: the process ended during set-up");
		goto fail;
	}
	p->pid = r.pid;
	/* The grandchild's exec error, or EOF once it exec'd. */
	k = read_report(rep[0], 30000, &r, err);
	if (k < 0 || (k > 0 && r.kind == 'E')) {
		if (k > 0)
			hk_err_set(err, 0, "%s", r.msg);
		waitpid(p->pid, NULL, 0);
		goto fail;
	}
	close(rep[0]);
	oci_free(&oci_process_type, proc);
	proc_close(p);
	p->next = c->procs;
	c->procs = p;
	return result(out, err, "{\"pid\":%d}", (int)p->pid);
fail:
	for (int i = 0; i < 2; i++)
		if (rep[i] >= 0)
			close(rep[i]);
	if (slave >= 0)
		close(slave);
	if (p) {
		if (p->master >= 0)
			close(p->master);
		p->master = -1;
		proc_close(p);
		free(p);
	}
	oci_free(&oci_process_type, proc);
	return -1;
}

/* Every process of the container's cgroup, for `kill --all` and `ps`. */
static size_t cgroup_pids(const struct ctr *c, pid_t *pids, size_t max)
{
	char path[sizeof(c->cgroup) + 16];
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", c->cgroup);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	long v;
	while (n < max && fscanf(f, "%ld", &v) == 1)
		pids[n++] = (pid_t)v;
	fclose(f);
	return n;
}

int ctr_signal(const hk_json *params, char **out, hk_err **err)
{
	const char *id = str_param(params, "process");
	const hk_json *all = params ? hk_json_get(params, "all") : NULL;
	int64_t sig;
	struct proc *p;
	struct ctr *c = ctr_current();

	if (int_param(params, "signal", &sig) < 0 || sig < 0 || sig > 64)
		return hk_err_set(err, EINVAL, "signal_process: want a signal number");
	if (c == NULL || c->status == CTR_NONE)
		return hk_err_set(err, ENOENT, "no container");
	if (all && all->type == HJ_BOOL && all->b) {
		if (sig == SIGKILL) {
			hk_err *ignore = NULL;
			if (cgroup_write(c->cgroup, "cgroup.kill", "1", &ignore) == 0)
				return result(out, err, "{}");
			hk_err_free(&ignore);
		}
		pid_t pids[4096];
		size_t n = cgroup_pids(c, pids, HK_ARRAY_SIZE(pids));
		for (size_t i = 0; i < n; i++)
			kill(pids[i], (int)sig);
		return result(out, err, "{}");
	}
	p = ctr_proc_find(c, id ? id : HK_INIT_PROCESS);
	if (p == NULL)
		return hk_err_set(err, ENOENT, "no process `%s`", id ? id : HK_INIT_PROCESS);
	if (p->exited)
		return hk_err_set(err, ESRCH, "process `%s` has already exited", p->id);
	if (kill(p->pid, (int)sig) < 0)
		return hk_err_set(err, errno, "kill");
	return result(out, err, "{}");
}

int ctr_resize(const hk_json *params, char **out, hk_err **err)
{
	const char *id = str_param(params, "process");
	int64_t w, h;
	struct proc *p = ctr_proc_find(ctr_current(), id ? id : HK_INIT_PROCESS);

	if (int_param(params, "width", &w) < 0 || int_param(params, "height", &h) < 0 || w < 0 ||
	    h < 0 || w > 65535 || h > 65535)
		return hk_err_set(err, EINVAL, "resize_tty: want width and height");
	if (p == NULL || p->master < 0)
		return hk_err_set(err, ENOTTY, "process `%s` has no terminal", id ? id : "init");
	struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
	if (ioctl(p->master, TIOCSWINSZ, &ws) < 0)
		return hk_err_set(err, errno, "TIOCSWINSZ");
	return result(out, err, "{}");
}

static const char *status_name(enum ctr_status s)
{
	static const char *const names[] = {"none", "created", "running", "paused", "stopped"};
	return names[s];
}

int ctr_state(const hk_json *params, char **out, hk_err **err)
{
	struct ctr *c = ctr_current();
	struct proc *init = ctr_proc_find(c, HK_INIT_PROCESS);
	return result(out, err, "{\"status\":\"%s\",\"pid\":%d}",
	              status_name(c ? c->status : CTR_NONE), init ? (int)init->pid : 0);
}

int ctr_ps(const hk_json *params, char **out, hk_err **err)
{
	cleanup_buf struct hk_buf b = {0};
	pid_t pids[4096];
	struct ctr *c = ctr_current();
	size_t n =
	        c == NULL || c->status == CTR_NONE ? 0 : cgroup_pids(c, pids, HK_ARRAY_SIZE(pids));

	hk_buf_printf(&b, "{\"processes\":[");
	for (size_t i = 0; i < n; i++) {
		char path[64], cmd[512] = "";
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pids[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t k = read(fd, cmd, sizeof(cmd) - 1);
			close(fd);
			for (ssize_t j = 0; j < k; j++)
				if (cmd[j] == '\0')
					cmd[j] = ' ';
			cmd[k > 0 ? k : 0] = '\0';
			if (k > 0 && cmd[k - 1] == ' ')
				cmd[k - 1] = '\0';
		}
		hk_buf_printf(&b, "%s{\"pid\":%d,\"cmd\":", i ? "," : "", (int)pids[i]);
		hk_buf_jstr(&b, cmd);
		hk_buf_printf(&b, "}");
	}
	hk_buf_printf(&b, "]}");
	if (hk_buf_done(&b, err) < 0)
		return -1;
	*out = b.s;
	b.s = NULL;
	return 0;
}

/* The freezer acts asynchronously: wait until cgroup.events says so. */
static int freeze(const struct ctr *c, bool on, hk_err **err)
{
	char path[sizeof(c->cgroup) + 16], buf[512];
	struct timespec tick = {0, 1000000};

	if (cgroup_write(c->cgroup, "cgroup.freeze", on ? "1" : "0", err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.events", c->cgroup);
	for (int i = 0; i < 5000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return hk_err_set(err, errno, "cgroup.events");
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, on ? "frozen 1" : "frozen 0"))
			return 0;
		nanosleep(&tick, NULL);
	}
	return hk_err_set(err, ETIMEDOUT, "the freezer did not settle");
}

int ctr_pause(const hk_json *params, char **out, hk_err **err)
{
	struct ctr *c = ctr_current();
	if (c == NULL || c->status != CTR_RUNNING)
		return hk_err_set(err, EINVAL, "container not running");
	if (freeze(c, true, err) < 0)
		return -1;
	c->status = CTR_PAUSED;
	return result(out, err, "{}");
}

int ctr_resume(const hk_json *params, char **out, hk_err **err)
{
	struct ctr *c = ctr_current();
	if (c == NULL || c->status != CTR_PAUSED)
		return hk_err_set(err, EINVAL, "container not paused");
	if (freeze(c, false, err) < 0)
		return -1;
	c->status = CTR_RUNNING;
	return result(out, err, "{}");
}

/* One "key value" line of a cgroup file, or one number alone. */
static uint64_t cg_value(const struct ctr *c, const char *file, const char *key)
{
	char path[sizeof(c->cgroup) + 32], line[256];
	uint64_t v = 0;
	snprintf(path, sizeof(path), "%s/%s", c->cgroup, file);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char k[64];
		unsigned long long n;
		if (key == NULL) {
			if (sscanf(line, "%llu", &n) == 1)
				v = n;
			break;
		}
		if (sscanf(line, "%63s %llu", k, &n) == 2 && strcmp(k, key) == 0) {
			v = n;
			break;
		}
	}
	fclose(f);
	return v;
}

int ctr_stats(const hk_json *params, char **out, hk_err **err)
{
	const struct ctr *c = ctr_current();
	if (c == NULL || c->status == CTR_NONE)
		return hk_err_set(err, ENOENT, "no container");
	return result(out, err,
	              "{\"cpu_usage_usec\":%" PRIu64 ",\"cpu_user_usec\":%" PRIu64
	              ",\"cpu_system_usec\":%" PRIu64 ",\"memory_current\":%" PRIu64
	              ",\"memory_max\":%" PRIu64 ",\"pids_current\":%" PRIu64
	              ",\"oom_kill\":%" PRIu64 "}",
	              cg_value(c, "cpu.stat", "usage_usec"), cg_value(c, "cpu.stat", "user_usec"),
	              cg_value(c, "cpu.stat", "system_usec"), cg_value(c, "memory.current", NULL),
	              cg_value(c, "memory.max", NULL), cg_value(c, "pids.current", NULL),
	              cg_value(c, "memory.events", "oom_kill"));
}

int ctr_update(const hk_json *params, char **out, hk_err **err)
{
	const char *text = str_param(params, "resources");
	struct oci_resources *r = NULL;
	struct ctr *c = ctr_current();

	if (c == NULL || c->status == CTR_NONE || c->status == CTR_STOPPED)
		return hk_err_set(err, EINVAL, "container not running");
	if (text == NULL)
		return hk_err_set(err, EINVAL, "update_resources: want resources");
	if (oci_parse(&oci_resources_type, text, strlen(text), (void **)&r, err) < 0)
		return hk_err_wrap(err, "resources");
	int rc = cgroup_apply(c->cgroup, r, err);
	oci_free(&oci_resources_type, r);
	return rc < 0 ? -1 : result(out, err, "{}");
}

char *ctr_exit_json(const struct proc *p)
{
	char *s = NULL;
	int code = WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 0;
	int sig = WIFSIGNALED(p->status) ? WTERMSIG(p->status) : 0;
	bool oom = p->init && sig == SIGKILL && cg_value(p->ctr, "memory.events", "oom_kill") > 0;
	if (asprintf(&s, "{\"exit_code\":%d,\"signal\":%d,\"oom\":%s}", code, sig,
	             oom ? "true" : "false") < 0)
		return NULL;
	return s;
}

void ctr_reap(void (*fn)(struct proc *p, void *arg), void *arg)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (struct ctr *c = agent_ctrs; c; c = c->next) {
			for (struct proc *p = c->procs; p; p = p->next) {
				if (p->pid != pid || p->exited)
					continue;
				p->exited = true;
				p->status = status;
				if (p->init) {
					hk_err *ignore = NULL;
					c->status = CTR_STOPPED;
					/* As runc: when init ends, nothing of the
					 * container stays. */
					if (cgroup_write(c->cgroup, "cgroup.kill", "1", &ignore) <
					    0)
						hk_err_free(&ignore);
				}
				fn(p, arg);
			}
		}
	}
}
