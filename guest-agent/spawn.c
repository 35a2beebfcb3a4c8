/* From fork to exec: a container process set up in the order runc uses
 * (libcontainer's standard_init and setns_init), so that what a process
 * sees inside a husk VM is what it would see under runc. Every step
 * reports a clear error to the agent through the report pipe, in
 * fixed-size records so that a message is never torn or merged. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest-agent/ctr.h"
#include "guest-agent/procsec.h"
#include "guest-agent/spawn_report.h"
#include "lib/cleanup.h"

static const struct {
	const char *type, *file;
	int flag;
} namespaces[] = {
        /* setns order for exec: user first, mnt last (it changes /proc). */
        {"user", "user", CLONE_NEWUSER}, {"ipc", "ipc", CLONE_NEWIPC},
        {"uts", "uts", CLONE_NEWUTS},    {"network", "net", CLONE_NEWNET},
        {"pid", "pid", CLONE_NEWPID},    {"cgroup", "cgroup", CLONE_NEWCGROUP},
        {"mount", "mnt", CLONE_NEWNS},
};

static void report(int fd, char kind, int32_t pid, const char *msg)
{
	struct spawn_report r = {.kind = kind, .pid = pid};

	if (msg)
		snprintf(r.msg, sizeof(r.msg), "%s", msg);
	(void)!write(fd, &r, sizeof(r));
}

static __attribute__((noreturn)) void die(int fd, hk_err *err)
{
	report(fd, 'E', 0, err ? err->msg : "unknown error");
	_exit(127);
}

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
        {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_CORE", RLIMIT_CORE},
        {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
        {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
};

static int set_rlimits(const struct oci_process *p, hk_err **err)
{
	for (size_t i = 0; i < p->rlimits.n; i++) {
		const struct oci_rlimit *l = &p->rlimits.v[i];
		size_t k = 0;
		while (k < HK_ARRAY_SIZE(rlimit_names) &&
		       strcmp(rlimit_names[k].name, l->type) != 0)
			k++;
		if (k == HK_ARRAY_SIZE(rlimit_names))
			return hk_err_set(err, EINVAL, "process.rlimits[%zu]: unknown type `%s`", i,
			                  l->type);
		struct rlimit rl = {.rlim_cur = l->soft.v, .rlim_max = l->hard.v};
		if (setrlimit(rlimit_names[k].res, &rl) < 0)
			return hk_err_set(err, errno, "process.rlimits[%zu]: setrlimit %s", i,
			                  l->type);
	}
	return 0;
}

static int set_oom_score(const struct oci_process *p, hk_err **err)
{
	char v[32];

	if (!p->oom_score_adj.set)
		return 0;
	snprintf(v, sizeof(v), "%lld", (long long)p->oom_score_adj.v);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, v, strlen(v)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return hk_err_set(err, e, "process.oomScoreAdj %s", v);
	}
	close(fd);
	return 0;
}

static int set_stdio(const struct spawn_req *r, hk_err **err)
{
	if (setsid() < 0)
		return hk_err_set(err, errno, "setsid");
	if (r->tty_slave >= 0) {
		if (ioctl(r->tty_slave, TIOCSCTTY, 0) < 0)
			return hk_err_set(err, errno, "the terminal: TIOCSCTTY");
		for (int i = 0; i < 3; i++)
			if (dup2(r->tty_slave, i) < 0)
				return hk_err_set(err, errno, "the terminal: dup2");
		return 0;
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		int fd = r->stdio[i] >= 0 ? r->stdio[i] : null;
		if (fd < 0)
			return hk_err_set(err, ENOENT, "stdio: no /dev/null");
		if (dup2(fd, i) < 0)
			return hk_err_set(err, errno, "stdio: dup2");
	}
	if (null >= 0)
		close(null);
	return 0;
}

/* setgroups, setgid, setuid (keeping capabilities across it), then the
 * capability sets, as runc's finalizeNamespace does. */
static int set_user(const struct oci_process *p, hk_err **err)
{
	const struct oci_user *u = p->user;
	uid_t uid = u && u->uid.set ? (uid_t)u->uid.v : 0;
	gid_t gid = u && u->gid.set ? (gid_t)u->gid.v : 0;
	gid_t groups[NGROUPS_MAX];
	size_t ng = 0;

	if (u)
		for (; ng < u->additional_gids.n && ng < NGROUPS_MAX; ng++)
			groups[ng] = u->additional_gids.v[ng];
	if (agent_caps_prepare_setuid(p->capabilities, err) < 0)
		return -1;
	if (setgroups(ng, groups) < 0)
		return hk_err_set(err, errno, "process.user.additionalGids: setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return hk_err_set(err, errno, "process.user.gid %u: setgid", gid);
	if (setresuid(uid, uid, uid) < 0)
		return hk_err_set(err, errno, "process.user.uid %u: setuid", uid);
	if (agent_caps_apply(p->capabilities, err) < 0)
		return -1;
	if (u && u->umask.set)
		umask((mode_t)u->umask.v);
	return 0;
}

static const char *env_get(const struct oci_process *p, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < p->env.n; i++)
		if (strncmp(p->env.v[i], name, n) == 0 && p->env.v[i][n] == '=')
			return p->env.v[i] + n + 1;
	return NULL;
}

/* The program to exec: args[0] as a path, or looked up in the process's
 * own PATH (runc's message when it is not found). */
static int find_program(const struct oci_process *p, char *out, size_t len, hk_err **err)
{
	const char *a0;

	if (p->args.n == 0)
		return hk_err_set(err, EINVAL, "process.args: empty");
	a0 = p->args.v[0];
	if (strchr(a0, '/')) {
		snprintf(out, len, "%s", a0);
		if (access(out, X_OK) < 0)
			return hk_err_set(err, errno, "exec: \"%s\"", a0);
		return 0;
	}
	const char *path = env_get(p, "PATH");
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s",
	         path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *save, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		struct stat st;
		snprintf(out, len, "%s/%s", *dir ? dir : ".", a0);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
	}
	return hk_err_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", a0);
}

static int join_cgroup(const char *cgroup, hk_err **err)
{
	return cgroup ? cgroup_write(cgroup, "cgroup.procs", "0", err) : 0;
}

static bool wants_ns(const struct oci_spec *s, const char *type)
{
	/* The VM is the container's network namespace: its stack holds the
	 * NICs the monitor wired to the engine's (a path names a namespace
	 * on the host, not here). */
	if (s->linux_ == NULL || strcmp(type, "network") == 0)
		return false;
	for (size_t i = 0; i < s->linux_->namespaces.n; i++)
		if (strcmp(s->linux_->namespaces.v[i].type, type) == 0)
			return true;
	return false;
}

/* The steps every container process takes after its namespaces. */
static __attribute__((noreturn)) void finish(const struct spawn_req *r, bool at_gate)
{
	const struct oci_process *p = r->process;
	bool nnp = p->no_new_privileges.set && p->no_new_privileges.v;
	const struct oci_seccomp *sc = r->spec->linux_ ? r->spec->linux_->seccomp : NULL;
	char prog[PATH_MAX];
	hk_err *err = NULL;

	if (set_rlimits(p, &err) < 0 || set_oom_score(p, &err) < 0)
		die(r->err_wr, err);
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		hk_err_set(&err, errno, "no_new_privs");
		die(r->err_wr, err);
	}
	if (sc && !nnp && agent_seccomp_load(sc, &err) < 0)
		die(r->err_wr, err);
	if (set_user(p, &err) < 0)
		die(r->err_wr, err);
	if (p->cwd && chdir(p->cwd) < 0) {
		hk_err_set(&err, errno, "process.cwd `%s`", p->cwd);
		die(r->err_wr, err);
	}
	if (find_program(p, prog, sizeof(prog), &err) < 0)
		die(r->err_wr, err);
	if (at_gate) {
		char go;
		report(r->err_wr, 'R', getpid(), NULL);
		if (read(r->gate_rd, &go, 1) != 1)
			_exit(0); /* deleted before start */
		close(r->gate_rd);
	}
	if (sc && nnp && agent_seccomp_load(sc, &err) < 0)
		die(r->err_wr, err);
	execve(prog, p->args.v, p->env.v);
	hk_err_set(&err, errno, "exec `%s`", prog);
	die(r->err_wr, err);
}

static __attribute__((noreturn)) void init_child(const struct spawn_req *r)
{
	hk_err *err = NULL;

	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (join_cgroup(r->cgroup, &err) < 0)
		die(r->err_wr, err);
	if (wants_ns(r->spec, "cgroup") && unshare(CLONE_NEWCGROUP) < 0) {
		hk_err_set(&err, errno, "cgroup namespace");
		die(r->err_wr, err);
	}
	if (set_stdio(r, &err) < 0 || rootfs_setup(r->spec, r->tty_slave, r->pts, &err) < 0)
		die(r->err_wr, err);
	finish(r, true);
}

/* exec: join init's namespaces, then fork once more so that the process
 * is inside the pid namespace too; the middle process reports its pid
 * and leaves, and the agent (PID 1) inherits the grandchild. */
static __attribute__((noreturn)) void join_child(const struct spawn_req *r)
{
	int fds[HK_ARRAY_SIZE(namespaces)];
	hk_err *err = NULL;
	char path[64];

	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (size_t i = 0; i < HK_ARRAY_SIZE(namespaces); i++) {
		fds[i] = -1;
		if (!wants_ns(r->spec, namespaces[i].type))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", r->join_pid, namespaces[i].file);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			hk_err_set(&err, errno, "the container's %s namespace", namespaces[i].type);
			die(r->err_wr, err);
		}
	}
	if (join_cgroup(r->cgroup, &err) < 0)
		die(r->err_wr, err);
	for (size_t i = 0; i < HK_ARRAY_SIZE(namespaces); i++) {
		if (fds[i] >= 0 && setns(fds[i], namespaces[i].flag) < 0) {
			hk_err_set(&err, errno, "join the container's %s namespace",
			           namespaces[i].type);
			die(r->err_wr, err);
		}
		if (fds[i] >= 0)
			close(fds[i]);
	}
	pid_t pid = fork();
	if (pid < 0) {
		hk_err_set(&err, errno, "fork");
		die(r->err_wr, err);
	}
	if (pid > 0) {
		report(r->err_wr, 'P', pid, NULL);
		_exit(0);
	}
	if (set_stdio(r, &err) < 0)
		die(r->err_wr, err);
	finish(r, false);
}

/* The path of a namespace init joins rather than makes (a pod's container
 * joining its sandbox's), or NULL. */
static const char *ns_path(const struct oci_spec *s, const char *type)
{
	for (size_t i = 0; s->linux_ && i < s->linux_->namespaces.n; i++) {
		const struct oci_namespace *ns = &s->linux_->namespaces.v[i];
		if (strcmp(ns->type, type) == 0 && ns->path && ns->path[0])
			return ns->path;
	}
	return NULL;
}

/* init joining namespaces by path: a middle process joins them (a pid
 * namespace only takes the joiner's children), clones init into the rest,
 * reports init's pid on its own pipe and leaves; the agent, PID 1,
 * inherits init. */
static __attribute__((noreturn)) void middle(const struct spawn_req *r, unsigned long flags,
                                             int mid_wr)
{
	hk_err *err = NULL;

	for (size_t i = 0; i < HK_ARRAY_SIZE(namespaces); i++) {
		const char *path = wants_ns(r->spec, namespaces[i].type)
		                           ? ns_path(r->spec, namespaces[i].type)
		                           : NULL;
		if (path == NULL)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, namespaces[i].flag) < 0) {
			hk_err_set(&err, errno, "join the %s namespace `%s`", namespaces[i].type,
			           path);
			die(mid_wr, err);
		}
		close(fd);
	}
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0) {
		hk_err_set(&err, errno, "clone");
		die(mid_wr, err);
	}
	if (pid == 0) {
		close(mid_wr);
		init_child(r);
	}
	report(mid_wr, 'P', pid, NULL);
	_exit(0);
}

/* Runs middle() and returns init's pid from its report. */
static pid_t spawn_through_middle(const struct spawn_req *r, unsigned long flags, hk_err **err)
{
	int mid[2];
	struct spawn_report rep;
	int st;

	if (pipe2(mid, O_CLOEXEC) < 0)
		return hk_err_set(err, errno, "pipe");
	pid_t m = fork();
	if (m == 0) {
		close(mid[0]);
		middle(r, flags, mid[1]);
	}
	close(mid[1]);
	if (m < 0) {
		close(mid[0]);
		return hk_err_set(err, errno, "fork");
	}
	while (waitpid(m, &st, 0) < 0 && errno == EINTR)
		;
	/* Written before the middle left: there, or never. */
	ssize_t k = read(mid[0], &rep, sizeof(rep));
	close(mid[0]);
	if (k != (ssize_t)sizeof(rep))
		return hk_err_set(err, EPROTO, "the container process ended during set-up");
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	if (rep.kind != 'P')
		return hk_err_set(err, 0, "%s", rep.msg);
	return rep.pid;
}

pid_t spawn_process(const struct spawn_req *r, hk_err **err)
{
	unsigned long flags = SIGCHLD;
	bool by_path = false;

	if (r->join_pid == 0) {
		for (size_t i = 0; i < HK_ARRAY_SIZE(namespaces); i++) {
			if (!wants_ns(r->spec, namespaces[i].type))
				continue;
			if (namespaces[i].flag == CLONE_NEWUSER)
				return hk_err_set(
				        err, ENOTSUP,
				        "linux.namespaces: user namespaces are not supported "
				        "yet inside husk VMs");
			if (ns_path(r->spec, namespaces[i].type)) {
				by_path = true;
				continue;
			}
			/* The cgroup namespace is made after joining the cgroup. */
			if (namespaces[i].flag != CLONE_NEWCGROUP)
				flags |= (unsigned long)namespaces[i].flag;
		}
		if (by_path)
			return spawn_through_middle(r, flags, err);
	}
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0)
		return hk_err_set(err, errno, "clone");
	if (pid == 0) {
		if (r->join_pid == 0)
			init_child(r);
		join_child(r);
	}
	return pid;
}
