#include "runtime/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runtime/cgroup.h"
#include "runtime/guestcfg.h"
#include "runtime/hooks.h"
#include "runtime/pod.h"
#include "runtime/selinux.h"
#include "runtime/state.h"

#define READY_TIMEOUT_MS 300000

static int dir_of(const struct rt_ctx *g, const char *id, char *out, size_t len, hk_err **err)
{
	if (rt_id_check(id, err) < 0)
		return -1;
	if ((size_t)snprintf(out, len, "%s/%s", g->root, id) >= len)
		return hk_err_set(err, ENAMETOOLONG, "state directory of `%s`", id);
	return 0;
}

int rt_vsock_path(const struct rt_ctx *g, const char *id, char *out, size_t len)
{
	char dir[PATH_MAX], sandbox[1100];
	/* A pod's container is in its sandbox's VM. */
	if (rt_pod_sandbox_of(g->root, id, sandbox, sizeof(sandbox)) == 0)
		id = sandbox;
	if (snprintf(dir, sizeof(dir), "%s/%s", g->root, id) >= (int)sizeof(dir))
		return -1;
	return hk_sock_path(dir, "vsock.sock", out, len);
}

const char *rt_agent_container(const struct rt_ctx *g, const char *id)
{
	char sandbox[1100];
	return rt_pod_sandbox_of(g->root, id, sandbox, sizeof(sandbox)) == 0 ? id : NULL;
}

static int agent_open(const struct rt_ctx *g, const char *id, struct hk_agent *a, int ms,
                      hk_err **err)
{
	char uds[PATH_MAX];
	a->fd = -1;
	if (rt_vsock_path(g, id, uds, sizeof(uds)) < 0)
		return hk_err_set(err, ENAMETOOLONG, "vsock socket of `%s`", id);
	if (hk_agent_open(a, uds, ms, err) < 0 ||
	    hk_agent_use(a, rt_agent_container(g, id), 5000, err) < 0) {
		hk_agent_close(a);
		return hk_err_wrap(err, "container `%s`", id);
	}
	return 0;
}

int rt_agent_open(const struct rt_ctx *g, const char *id, struct hk_agent *a, hk_err **err)
{
	return agent_open(g, id, a, 10000, err);
}

/* The start time of pid (field 22 of /proc/PID/stat), 0 when it is gone
 * or a zombie: a dead monitor's pid may be reused by anything. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return 0;
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return 0;
	/* After ")": state is field 3; starttime is field 22. */
	p += 2;
	for (int f = 3; f < 22 && p; f++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

static int write_state(const char *dir, const char *id, const char *status, pid_t pid,
                       const char *bundle, const struct oci_spec *spec, char **json_out,
                       hk_err **err)
{
	struct oci_state st = {
	        .oci_version = (char *)"1.2.0",
	        .id = (char *)id,
	        .status = (char *)status,
	        .pid = {.set = true, .v = pid},
	        .bundle = (char *)bundle,
	};
	cleanup_free char *json = NULL, *path = NULL;
	size_t len;

	if (spec)
		st.annotations = spec->annotations;
	if (oci_write(&oci_state_type, &st, false, &json, &len, err) < 0)
		return -1;
	if (asprintf(&path, "%s/state.json", dir) < 0)
		return hk_err_set(err, ENOMEM, "state");
	if (hk_write_file_atomic(path, json, len, 0600, err) < 0)
		return -1;
	if (json_out)
		*json_out = hk_steal_ptr(json);
	return 0;
}

static int write_extra(const char *dir, pid_t pid, const struct rt_cgroup *cg, const char *sandbox,
                       hk_err **err)
{
	char path[PATH_MAX + 16], created[40];
	cleanup_buf struct hk_buf b = {0};
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S", &tm);
	hk_buf_printf(&b, "{\"created\":\"%s.%09ldZ\",\"start_time\":%llu,\"cgroup\":", created,
	              ts.tv_nsec, start_time(pid));
	hk_buf_jstr(&b, cg->dir);
	hk_buf_printf(&b, ",\"cgroup_memory\":");
	hk_buf_jstr(&b, cg->mem_dir);
	hk_buf_printf(&b, ",\"cgroup_pids\":");
	hk_buf_jstr(&b, cg->pids_dir);
	hk_buf_printf(&b, ",\"cgroup_v2\":%s", cg->v2 ? "true" : "false");
	if (sandbox) {
		hk_buf_printf(&b, ",\"sandbox\":");
		hk_buf_jstr(&b, sandbox);
	}
	hk_buf_printf(&b, "}\n");
	if (hk_buf_done(&b, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/husk.json", dir);
	return hk_write_file_atomic(path, b.s, b.len, 0600, err);
}

/* The short directory that held the sockets of a deep state directory
 * (hk_sock_path), if there is one. */
static void remove_sock_dir(const char *dir)
{
	char p[PATH_MAX];
	if (hk_sock_path(dir, "vsock.sock", p, sizeof(p)) < 0 ||
	    strncmp(p, HK_SOCK_DIR "/", strlen(HK_SOCK_DIR) + 1) != 0)
		return;
	*strrchr(p, '/') = '\0';
	DIR *d = opendir(p);
	if (d) {
		for (struct dirent *de; (de = readdir(d)) != NULL;)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(p);
}

/* Removes the state directory and what husk put in it (never more: a
 * directory we did not make is left with a warning). */
static void remove_state(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR &&
			    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
				hk_warn("remove `%s/%s`: %s", dir, de->d_name, strerror(errno));
		}
		closedir(d);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		hk_warn("remove `%s`: %s", dir, strerror(errno));
}

/* Sends fd to the engine's console socket, as runc does: SCM_RIGHTS with
 * the name of the terminal as the data. */
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

static int open_pty(int *master, int *slave, hk_err **err)
{
	char name[64];
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, name, sizeof(name)) != 0)
		return hk_err_set(err, errno, "open a pty");
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return hk_err_set(err, errno, "open `%s`", name);
	return 0;
}

/* Reaps our child within ms; false when it is still there. */
static bool reap_within(pid_t pid, int ms)
{
	uint64_t deadline = hk_now_us() + (uint64_t)ms * 1000;

	for (;;) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return true;
		if (hk_now_us() >= deadline)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
}

/* Reads husk-vmm's one line: "ok PID" or "error MESSAGE". */
static int read_ready(int fd, pid_t child, hk_err **err)
{
	char line[1100];
	size_t n = 0;
	uint64_t deadline = hk_now_us() + (uint64_t)READY_TIMEOUT_MS * 1000;

	while (n < sizeof(line) - 1) {
		uint64_t now = hk_now_us();
		if (now >= deadline)
			return hk_err_set(err, ETIMEDOUT, "the VM did not come up in %d s",
			                  READY_TIMEOUT_MS / 1000);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)((deadline - now) / 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t k = read(fd, line + n, sizeof(line) - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (memchr(line, '\n', n))
			break;
	}
	line[n] = '\0';
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	if (strncmp(line, "ok", 2) == 0)
		return 0;
	if (strncmp(line, "error ", 6) == 0)
		return hk_err_set(err, 0, "%s", line + 6);
	int st = 0;
	waitpid(child, &st, 0);
	return hk_err_set(err, 0, "husk-vmm ended during create (%s %d)",
	                  WIFSIGNALED(st) ? "signal" : "status",
	                  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/* The sandbox's agent forgets pod container id, ending what is left of it
 * in the guest; failures are warnings (the sandbox may be gone). */
static void pod_forget(const struct rt_ctx *g, const char *sandbox, const char *id)
{
	char uds[PATH_MAX];
	struct hk_agent a = {.fd = -1};
	struct hk_msg r;
	cleanup_err hk_err *e = NULL;

	if (rt_vsock_path(g, sandbox, uds, sizeof(uds)) < 0)
		return;
	if (hk_agent_open(&a, uds, 5000, &e) < 0 || hk_agent_use(&a, id, 5000, &e) < 0 ||
	    hk_agent_call(&a, HK_M_DELETE_CONTAINER, NULL, 10000, &r, &e) < 0)
		hk_warn("%s: %s", id, e->msg);
	else
		hk_msg_free(&r);
	hk_agent_close(&a);
}

/* A pod's container: its files into the sandbox's share, the config the
 * guest sees into the state directory (husk-vmm --config). */
static int create_in_pod(const struct rt_ctx *g, const char *id, const char *dir,
                         const char *bundle, const char *sandbox, struct oci_spec *spec,
                         pid_t *sandbox_pid, hk_err **err)
{
	struct rt_info si;
	cleanup_free char *json = NULL;
	char path[PATH_MAX + 16];
	size_t len;

	if (rt_info(g, sandbox, &si, err) < 0)
		return hk_err_wrap(err, "the pod's sandbox");
	*sandbox_pid = si.pid;
	rt_info_free(&si);
	snprintf(path, sizeof(path), "%s/guest.json", dir);
	if (write_state(dir, id, "creating", 0, bundle, spec, NULL, err) < 0 ||
	    rt_pod_share(g, id, bundle, sandbox, *sandbox_pid, spec, err) < 0 ||
	    oci_write(&oci_spec_type, spec, false, &json, &len, err) < 0 ||
	    hk_write_file_atomic(path, json, len, 0600, err) < 0)
		return -1;
	return 0;
}

int rt_create(const struct rt_ctx *g, const struct rt_create_opts *o, pid_t *vmm, hk_err **err)
{
	char dir[PATH_MAX], bundle[PATH_MAX], cfgpath[PATH_MAX + 16];
	struct oci_spec *spec = NULL;
	struct rt_guest guest = {0};
	int ready[2] = {-1, -1}, master = -1, slave = -1;
	pid_t pid = -1;
	bool made_dir = false;
	cleanup_free char *state_json = NULL;
	struct rt_cgroup cg = {0};
	struct rt_selinux sv = {0};
	char sandbox[1100] = "", sandbox_uds[PATH_MAX];
	pid_t sandbox_pid = 0;
	bool shared = false;
	int pod = 0;

	*vmm = -1;
	if (dir_of(g, o->id, dir, sizeof(dir), err) < 0)
		return -1;
	if (realpath(o->bundle, bundle) == NULL)
		return hk_err_set(err, errno, "bundle `%s`", o->bundle);
	snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", bundle);
	if (oci_spec_load(cfgpath, &spec, err) < 0)
		return -1;
	bool terminal = spec->process && spec->process->terminal.set && spec->process->terminal.v;
	if (spec->process == NULL) {
		hk_err_set(err, EINVAL, "config.json: process: missing");
		goto fail;
	}
	pod = rt_pod_find(g, o->id, spec, sandbox, sizeof(sandbox), err);
	if (pod < 0 || (pod ? rt_guest_vmm(&guest, err) : rt_guest_config(spec, &guest, err)) < 0)
		goto fail;
	if (terminal && o->console_socket == NULL && !o->foreground) {
		hk_err_set(err, 0,
		           "cannot allocate tty if husk will detach without setting console "
		           "socket");
		goto fail;
	}
	if (!terminal && o->console_socket) {
		hk_err_set(err, 0,
		           "cannot use console socket if husk will not detach or allocate tty");
		goto fail;
	}
	if (hk_mkdir_p(g->root, 0711, err) < 0)
		goto fail;
	if (mkdir(dir, 0711) < 0) {
		if (errno == EEXIST)
			hk_err_set(err, EEXIST, "container with id exists: %s", o->id);
		else
			hk_err_set(err, errno, "state directory `%s`", dir);
		goto fail;
	}
	made_dir = true;
	if (pod) {
		int r = create_in_pod(g, o->id, dir, bundle, sandbox, spec, &sandbox_pid, err);
		shared = sandbox_pid > 0; /* what was shared in part goes too */
		if (r < 0)
			goto fail;
		if (rt_vsock_path(g, sandbox, sandbox_uds, sizeof(sandbox_uds)) < 0) {
			hk_err_set(err, ENAMETOOLONG, "vsock socket of `%s`", sandbox);
			goto fail;
		}
	} else if (rt_selinux_setup(g->root, o->id, spec, &sv, err) < 0 ||
	           write_state(dir, o->id, "creating", 0, bundle, spec, NULL, err) < 0 ||
	           rt_selinux_label_files(&sv, dir, bundle, spec, guest.kernel, guest.initrd, err) <
	                   0) {
		/* sVirt labels are in the state from its first write (rt_delete
		 * frees them after any crash); the files are labelled before the
		 * monitor. */
		goto fail;
	}
	/* The whole sandbox (monitor, virtiofsd) under one cgroup, sized by the
	 * container's cpu resources before anything runs in it; each of the two
	 * in a leaf of its own. */
	const struct oci_linux *lx = spec->linux_;
	if (rt_cgroup_create(lx ? lx->cgroups_path : NULL, o->id, &cg, err) < 0 ||
	    (!pod &&
	     (rt_cgroup_set_cpu(&cg, lx && lx->resources ? lx->resources->cpu : NULL, err) < 0 ||
	      rt_cgroup_set_vm_limits(&cg, guest.memory_mib, guest.vcpus, err) < 0)))
		goto fail;
	/* The monitor pivots into this empty directory once its VM is set up
	 * (policy/jail.h); it stays empty on the host. */
	char jail[PATH_MAX + 16];
	snprintf(jail, sizeof(jail), "%s/jail", dir);
	if (mkdir(jail, 0700) < 0) {
		hk_err_set(err, errno, "mkdir `%s`", jail);
		goto fail;
	}
	if (pipe2(ready, O_CLOEXEC) < 0) {
		hk_err_set(err, errno, "pipe");
		goto fail;
	}
	if (terminal && o->console_socket && open_pty(&master, &slave, err) < 0)
		goto fail;

	char logpath[PATH_MAX + 16], console[PATH_MAX + 16], cpus[16], mem[24];
	if (g->log)
		snprintf(logpath, sizeof(logpath), "%s", g->log);
	else
		snprintf(logpath, sizeof(logpath), "%s/vmm.log", dir);
	snprintf(console, sizeof(console), "%s/console.log", dir);
	snprintf(cpus, sizeof(cpus), "%u", guest.vcpus);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)guest.memory_mib);
	const char *argv[40 + 2 * RT_NSCHED] = {
	        guest.vmm,
	        "--kernel",
	        guest.kernel,
	        "--initrd",
	        guest.initrd,
	        "--cpus",
	        cpus,
	        "--memory",
	        mem,
	        "--container",
	        o->id,
	        "--bundle",
	        bundle,
	        "--state-dir",
	        dir,
	        "--ready-fd",
	        "3",
	        "--console",
	        console,
	        "--log",
	        logpath,
	        "--log-format",
	        g->log_json ? "json" : "text",
	        "--jail",
	        jail,
	};
	size_t argc = 25;
	char guest_cfg[PATH_MAX + 16];
	if (pod) {
		/* No VM: the container's process in its sandbox's VM. */
		snprintf(guest_cfg, sizeof(guest_cfg), "%s/guest.json", dir);
		const char *pargv[] = {guest.vmm,
		                       "--pod-container",
		                       o->id,
		                       "--vsock",
		                       sandbox_uds,
		                       "--config",
		                       guest_cfg,
		                       "--state-dir",
		                       dir,
		                       "--ready-fd",
		                       "3",
		                       "--log",
		                       logpath,
		                       "--log-format",
		                       g->log_json ? "json" : "text",
		                       "--jail",
		                       jail};
		memset(argv, 0, sizeof(argv));
		memcpy(argv, pargv, sizeof(pargv));
		argc = HK_ARRAY_SIZE(pargv);
	}
	char flags[RT_NSCHED][24];
	for (int i = 0; !pod && i < RT_NSCHED; i++) {
		if (guest.sched[i] == NULL)
			continue;
		snprintf(flags[i], sizeof(flags[i]), "--%s", rt_sched_flags[i]);
		argv[argc++] = flags[i];
		argv[argc++] = guest.sched[i];
	}
	char uid[16], gid[16];
	if (!pod && guest.vmm_ids) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)guest.vmm_uid);
		snprintf(gid, sizeof(gid), "%u", (unsigned)guest.vmm_gid);
		argv[argc++] = "--uid";
		argv[argc++] = uid;
		argv[argc++] = "--gid";
		argv[argc++] = gid;
	}
	/* virtiofsd leaves the monitor's cgroup for its own (runtime/cgroup.h). */
	char fs_cg[3][PATH_MAX + 16];
	unsigned nfs_cg = pod ? 0 : rt_cgroup_leaf_dirs(&cg, RT_CGROUP_VIRTIOFSD, fs_cg);
	for (unsigned i = 0; i < nfs_cg; i++) {
		argv[argc++] = "--virtiofsd-cgroup";
		argv[argc++] = fs_cg[i];
	}
	if (g->debug)
		argv[argc++] = "--debug";
	hk_timeline("monitor-exec");
	pid = fork();
	if (pid < 0) {
		hk_err_set(err, errno, "fork");
		goto fail;
	}
	if (pid == 0) {
		if (slave >= 0) {
			setsid();
			ioctl(slave, TIOCSCTTY, 0);
			for (int i = 0; i < 3; i++)
				dup2(slave, i);
		}
		if (dup2(ready[1], 3) < 0)
			_exit(127);
		if (rt_cgroup_join_self(&cg) < 0) {
			fprintf(stderr, "husk: join cgroup `%s`: %s\n", cg.dir, strerror(errno));
			_exit(127);
		}
		if (rt_selinux_exec(&sv) < 0) {
			fprintf(stderr, "husk: exec label `%s`: %s\n", sv.l.exec, strerror(errno));
			_exit(127);
		}
		execv(guest.vmm, (char *const *)argv);
		fprintf(stderr, "husk: exec `%s`: %s\n", guest.vmm, strerror(errno));
		_exit(127);
	}
	*vmm = pid;
	close(ready[1]);
	ready[1] = -1;
	if (slave >= 0)
		close(slave);
	slave = -1;
	if (master >= 0) {
		int r = send_console(o->console_socket, master, err);
		close(master);
		master = -1;
		if (r < 0)
			goto fail;
	}
	/* The monitor's pid is on record before anything can go wrong, so
	 * delete --force after a killed create finds and ends it. */
	if (write_state(dir, o->id, "creating", pid, bundle, spec, &state_json, err) < 0 ||
	    write_extra(dir, pid, &cg, pod ? sandbox : NULL, err) < 0)
		goto fail;
	if (read_ready(ready[0], pid, err) < 0)
		goto fail;
	close(ready[0]);
	ready[0] = -1;
	/* prestart (deprecated, still what Docker uses) and createRuntime
	 * run on the host once the runtime environment exists; they see the
	 * container "creating", with its pid, as runc shows it to them. */
	if (spec->hooks &&
	    (rt_hooks_run(&spec->hooks->prestart, "prestart", state_json, err) < 0 ||
	     rt_hooks_run(&spec->hooks->create_runtime, "createRuntime", state_json, err) < 0))
		goto fail;
	if (write_state(dir, o->id, "created", pid, bundle, spec, NULL, err) < 0)
		goto fail;
	if (o->pid_file) {
		char v[24];
		int n = snprintf(v, sizeof(v), "%d", (int)pid);
		if (hk_write_file_atomic(o->pid_file, v, (size_t)n, 0644, err) < 0)
			goto fail;
	}
	oci_spec_free(spec);
	rt_guest_free(&guest);
	return 0;
fail:
	if (pid > 0) {
		kill(pid, SIGKILL);
		if (!reap_within(pid, 10000)) {
			/* Stuck in the kernel (a KVM call that SIGKILL waits on):
			 * keep its record so delete --force can finish the job. */
			hk_warn("the monitor (pid %d) did not end after SIGKILL; its state is kept "
			        "for delete --force",
			        (int)pid);
			made_dir = false;
			cg.dir[0] = '\0';
		}
		*vmm = -1;
	}
	for (int i = 0; i < 2; i++)
		if (ready[i] >= 0)
			close(ready[i]);
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	if (cg.dir[0]) {
		cleanup_err hk_err *e = NULL;
		if (rt_cgroup_remove(&cg, 5000, &e) < 0)
			hk_warn("%s", e->msg);
	}
	if (shared) {
		cleanup_err hk_err *e = NULL;
		/* Its pod-mode process may have made it in the guest. */
		if (pid > 0 || *vmm > 0)
			pod_forget(g, sandbox, o->id);
		if (rt_pod_unshare(sandbox_pid, o->id, &e) < 0)
			hk_warn("%s", e->msg);
	}
	if (made_dir) {
		if (!pod)
			rt_selinux_release(g->root, o->id, &spec->annotations);
		remove_sock_dir(dir);
		remove_state(dir);
	}
	oci_spec_free(spec);
	rt_guest_free(&guest);
	return -1;
}

static int read_extra(const char *dir, char *created, size_t clen, unsigned long long *start,
                      struct rt_cgroup *cg)
{
	char path[PATH_MAX + 16];
	cleanup_free char *buf = NULL;
	size_t len;
	cleanup_json hk_json *j = NULL;

	snprintf(path, sizeof(path), "%s/husk.json", dir);
	if (hk_read_file(path, 65536, &buf, &len, NULL) < 0 ||
	    hk_json_parse(buf, len, NULL, &j, NULL) < 0)
		return -1;
	const hk_json *c = hk_json_get(j, "created"), *s = hk_json_get(j, "start_time");
	if (c && c->type == HJ_STRING)
		snprintf(created, clen, "%s", c->s);
	if (s && s->type == HJ_NUMBER)
		*start = strtoull(s->s, NULL, 10);
	const hk_json *d = hk_json_get(j, "cgroup"), *v2 = hk_json_get(j, "cgroup_v2");
	if (cg && d && d->type == HJ_STRING && strncmp(d->s, "/sys/fs/cgroup/", 15) == 0 &&
	    strlen(d->s) < sizeof(cg->dir)) {
		strcpy(cg->dir, d->s);
		cg->v2 = v2 && v2->type == HJ_BOOL && v2->b;
		/* The v1 memory and pids hierarchies' copies, when made. */
		const hk_json *m = hk_json_get(j, "cgroup_memory");
		const hk_json *p = hk_json_get(j, "cgroup_pids");
		if (m && m->type == HJ_STRING && strncmp(m->s, "/sys/fs/cgroup/", 15) == 0 &&
		    strlen(m->s) < sizeof(cg->mem_dir))
			strcpy(cg->mem_dir, m->s);
		if (p && p->type == HJ_STRING && strncmp(p->s, "/sys/fs/cgroup/", 15) == 0 &&
		    strlen(p->s) < sizeof(cg->pids_dir))
			strcpy(cg->pids_dir, p->s);
	}
	return 0;
}

int rt_info(const struct rt_ctx *g, const char *id, struct rt_info *info, hk_err **err)
{
	char dir[PATH_MAX];
	unsigned long long start = 0;

	memset(info, 0, sizeof(*info));
	if (dir_of(g, id, dir, sizeof(dir), err) < 0 ||
	    rt_state_load(g->root, id, &info->state, err) < 0)
		return -1;
	info->pid = info->state->pid.set ? (pid_t)info->state->pid.v : 0;
	snprintf(info->bundle, sizeof(info->bundle), "%s",
	         info->state->bundle ? info->state->bundle : "");
	snprintf(info->status, sizeof(info->status), "%s", info->state->status);
	if (strcmp(info->status, "creating") == 0)
		return 0;
	read_extra(dir, info->created, sizeof(info->created), &start, NULL);
	if (info->pid <= 0 || start == 0 || start_time(info->pid) != start) {
		snprintf(info->status, sizeof(info->status), "stopped");
		return 0;
	}
	struct hk_agent a;
	struct hk_msg r;
	cleanup_err hk_err *e2 = NULL;
	if (agent_open(g, id, &a, 2000, &e2) == 0 &&
	    hk_agent_call(&a, HK_M_STATE, NULL, 5000, &r, &e2) == 0) {
		const hk_json *s = hk_json_get(r.result, "status");
		if (s && s->type == HJ_STRING && strcmp(s->s, "none") != 0)
			snprintf(info->status, sizeof(info->status), "%s", s->s);
		hk_msg_free(&r);
	} else {
		/* The monitor lives but its guest does not answer: it is on its
		 * way out. */
		hk_debug("state of `%s`: %s", id, e2 ? e2->msg : "no answer");
		snprintf(info->status, sizeof(info->status), "stopped");
	}
	hk_agent_close(&a);
	return 0;
}

void rt_info_free(struct rt_info *info)
{
	if (info->state)
		oci_free(&oci_state_type, info->state);
	info->state = NULL;
}

static int lock_dir(const char *dir, hk_err **err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hk_err_set(err, errno, "open `%s`", dir);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return hk_err_set(err, e, "lock `%s`", dir);
	}
	return fd;
}

/* poststart: failures are warnings, the container runs on (runtime-spec). */
static void poststart(const char *dir, const char *id, const struct rt_info *info)
{
	struct oci_spec *spec = NULL;
	char cfg[PATH_MAX + 16];
	cleanup_err hk_err *e = NULL;

	snprintf(cfg, sizeof(cfg), "%s/config.json", info->bundle);
	if (oci_spec_load(cfg, &spec, &e) == 0 && spec->hooks && spec->hooks->poststart.n) {
		cleanup_free char *json = NULL;
		if (rt_selinux_keep(&info->state->annotations, spec, &e) < 0 ||
		    write_state(dir, id, "running", info->pid, info->bundle, spec, &json, &e) < 0 ||
		    rt_hooks_run(&spec->hooks->poststart, "poststart", json, &e) < 0)
			hk_warn("%s", e->msg);
	}
	oci_spec_free(spec);
}

int rt_start(const struct rt_ctx *g, const char *id, hk_err **err)
{
	struct rt_info info;
	struct hk_agent a = {.fd = -1};
	struct hk_msg r;
	char dir[PATH_MAX];
	cleanup_close int lock = -1;
	int rc = -1;

	if (dir_of(g, id, dir, sizeof(dir), err) < 0 || rt_info(g, id, &info, err) < 0)
		return -1;
	if ((lock = lock_dir(dir, err)) < 0)
		goto out;
	if (strcmp(info.status, "stopped") == 0) {
		hk_err_set(err, 0, "cannot start a container that has stopped");
		goto out;
	}
	if (strcmp(info.status, "created") != 0) {
		hk_err_set(err, 0, "cannot start an already %s container", info.status);
		goto out;
	}
	if (rt_agent_open(g, id, &a, err) < 0 ||
	    hk_agent_call(&a, HK_M_START_CONTAINER, NULL, 60000, &r, err) < 0)
		goto out;
	hk_msg_free(&r);
	hk_timeline("container-started");
	rc = 0;
	poststart(dir, id, &info);
out:
	hk_agent_close(&a);
	rt_info_free(&info);
	return rc;
}

int rt_kill(const struct rt_ctx *g, const char *id, int sig, bool all, hk_err **err)
{
	struct rt_info info;
	struct hk_agent a = {.fd = -1};
	struct hk_msg r;
	char p[64];
	int rc = -1;

	if (rt_info(g, id, &info, err) < 0)
		return -1;
	if (strcmp(info.status, "stopped") == 0 || strcmp(info.status, "creating") == 0) {
		hk_err_set(err, 0, "container not running");
		goto out;
	}
	snprintf(p, sizeof(p), "{\"signal\":%d,\"all\":%s}", sig, all ? "true" : "false");
	if (rt_agent_open(g, id, &a, err) < 0 ||
	    hk_agent_call(&a, HK_M_SIGNAL_PROCESS, p, 10000, &r, err) < 0) {
		if (sig != SIGKILL)
			goto out;
		/* No agent to ask: SIGKILL ends the VM itself. */
		hk_err_free(err);
		if (kill(info.pid, SIGKILL) < 0) {
			hk_err_set(err, errno, "kill");
			goto out;
		}
	} else
		hk_msg_free(&r);
	rc = 0;
out:
	hk_agent_close(&a);
	rt_info_free(&info);
	return rc;
}

/* Waits for pid to end (or become a zombie), at most timeout_ms. */
static int wait_gone(pid_t pid, unsigned long long start, int timeout_ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	uint64_t deadline = hk_now_us() + (uint64_t)timeout_ms * 1000;

	while (start_time(pid) == start && start != 0) {
		uint64_t now = hk_now_us();
		if (now >= deadline) {
			if (pfd >= 0)
				close(pfd);
			return -1;
		}
		if (pfd >= 0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};
			poll(&p, 1, (int)((deadline - now) / 1000) + 1);
		} else {
			struct timespec t = {0, 5000000};
			nanosleep(&t, NULL);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return 0;
}

/* A pod's container, its process gone: the sandbox's agent forgets it
 * (ending what is left of it in the guest) and its files leave the share.
 * Nothing to do once the sandbox has ended; failures are warnings. */
static void leave_pod(const struct rt_ctx *g, const char *id)
{
	char sandbox[1100];
	struct rt_info si;
	cleanup_err hk_err *e = NULL;

	if (rt_pod_sandbox_of(g->root, id, sandbox, sizeof(sandbox)) < 0 ||
	    rt_info(g, sandbox, &si, &e) < 0)
		return;
	if (strcmp(si.status, "stopped") != 0 && si.pid > 0) {
		pod_forget(g, sandbox, id);
		if (rt_pod_unshare(si.pid, id, &e) < 0)
			hk_warn("%s: %s", id, e->msg);
	}
	rt_info_free(&si);
}

int rt_delete(const struct rt_ctx *g, const char *id, bool force, hk_err **err)
{
	struct rt_info info;
	char dir[PATH_MAX], created[40];
	unsigned long long start = 0;
	cleanup_close int lock = -1;

	if (dir_of(g, id, dir, sizeof(dir), err) < 0)
		return -1;
	if (!rt_exists(g->root, id)) {
		if (force)
			return 0; /* what shims expect after a failed create */
		return hk_err_set(err, 0, "container `%s` does not exist", id);
	}
	if ((lock = lock_dir(dir, err)) < 0)
		return -1;
	if (rt_info(g, id, &info, err) < 0) {
		if (!force)
			return -1;
		/* A half-written state: nothing to ask, remove what is there. */
		struct rt_cgroup cg = {0};
		hk_err_free(err);
		read_extra(dir, created, sizeof(created), &start, &cg);
		if (rt_cgroup_remove(&cg, 10000, err) < 0) {
			hk_warn("%s", (*err)->msg);
			hk_err_free(err);
		}
		remove_state(dir);
		rt_selinux_reclaim(g->root); /* its labels, if it recorded them */
		return 0;
	}
	struct rt_cgroup cg = {0};
	read_extra(dir, created, sizeof(created), &start, &cg);
	if (strcmp(info.status, "stopped") != 0) {
		if (!force) {
			hk_err_set(err, 0, "cannot delete container %s that is not stopped: %s", id,
			           info.status);
			rt_info_free(&info);
			return -1;
		}
		if (info.pid > 0 && start && start_time(info.pid) == start) {
			kill(info.pid, SIGKILL);
			if (wait_gone(info.pid, start, 10000) < 0) {
				hk_err_set(err, 0, "the monitor of `%s` (pid %d) did not end", id,
				           (int)info.pid);
				rt_info_free(&info);
				return -1;
			}
		}
	}
	leave_pod(g, id);
	/* poststop: runs once the container is gone; failures are warnings. */
	struct oci_spec *spec = NULL;
	char cfg[PATH_MAX + 16];
	cleanup_err hk_err *e2 = NULL;
	snprintf(cfg, sizeof(cfg), "%s/config.json", info.bundle);
	if (oci_spec_load(cfg, &spec, &e2) == 0 && spec->hooks && spec->hooks->poststop.n) {
		cleanup_free char *json = NULL;
		if (rt_selinux_keep(&info.state->annotations, spec, &e2) < 0 ||
		    write_state(dir, id, "stopped", info.pid, info.bundle, spec, &json, &e2) < 0 ||
		    rt_hooks_run(&spec->hooks->poststop, "poststop", json, &e2) < 0)
			hk_warn("%s", e2->msg);
	}
	oci_spec_free(spec);
	/* Whatever the monitor left (a virtiofsd after a SIGKILL) ends here. */
	cleanup_err hk_err *e3 = NULL;
	if (rt_cgroup_remove(&cg, 10000, &e3) < 0) {
		hk_warn("%s", e3->msg);
		hk_err_free(&e3);
	}
	if (rt_net_cleanup(dir, &e3) < 0)
		hk_warn("%s", e3->msg);
	rt_selinux_release(g->root, id, &info.state->annotations);
	remove_sock_dir(dir);
	remove_state(dir);
	rt_selinux_reclaim(g->root);
	rt_info_free(&info);
	return 0;
}

int rt_final_ooms(const struct rt_ctx *g, const char *id, uint64_t *n)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	cleanup_free char *buf = NULL;
	cleanup_json hk_json *j = NULL;
	size_t len;

	*n = 0;
	if (dir_of(g, id, dir, sizeof(dir), NULL) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/final-stats.json", dir);
	if (hk_read_file(path, 4096, &buf, &len, NULL) < 0 ||
	    hk_json_parse(buf, len, NULL, &j, NULL) < 0)
		return -1;
	const hk_json *v = hk_json_get(j, "oom_kill");
	if (v == NULL || v->type != HJ_NUMBER || hk_parse_u64(v->s, n) < 0)
		return -1;
	return 0;
}

int rt_update_host(const struct rt_ctx *g, const char *id, const struct oci_resources *r,
                   hk_err **err)
{
	char dir[PATH_MAX], created[40];
	unsigned long long start = 0;
	struct rt_cgroup cg = {0};

	if (dir_of(g, id, dir, sizeof(dir), err) < 0)
		return -1;
	if (!rt_exists(g->root, id))
		return hk_err_set(err, 0, "container `%s` does not exist", id);
	if (read_extra(dir, created, sizeof(created), &start, &cg) < 0)
		return hk_err_set(err, 0, "container `%s`: no state to update", id);
	return rt_cgroup_set_cpu(&cg, r->cpu, err);
}

static const char *const signames[] = {
        [SIGHUP] = "HUP",   [SIGINT] = "INT",       [SIGQUIT] = "QUIT", [SIGILL] = "ILL",
        [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",   [SIGFPE] = "FPE",
        [SIGKILL] = "KILL", [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",     [SIGTERM] = "TERM", [SIGSTKFLT] = "STKFLT",
        [SIGCHLD] = "CHLD", [SIGCONT] = "CONT",     [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",
        [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU",     [SIGURG] = "URG",   [SIGXCPU] = "XCPU",
        [SIGXFSZ] = "XFSZ", [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH",
        [SIGIO] = "IO",     [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

int rt_parse_signal(const char *s, int *sig, hk_err **err)
{
	uint64_t v;
	if (hk_parse_u64(s, &v) == 0) {
		if (v == 0 || v > 64)
			return hk_err_set(err, 0, "invalid signal `%s`", s);
		*sig = (int)v;
		return 0;
	}
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 1; i < sizeof(signames) / sizeof(signames[0]); i++) {
		if (signames[i] && strcasecmp(signames[i], name) == 0) {
			*sig = (int)i;
			return 0;
		}
	}
	return hk_err_set(err, 0, "unknown signal `%s`", s);
}
