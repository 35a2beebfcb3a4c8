/* The agent's containers: their process tables, the methods of the agent
 * protocol (lib/proto.h) that act on them, and the set-up a container
 * process goes through between fork and exec (spawn.c, rootfs.c). The
 * VM's first container is its sandbox (a plain container, or a pod's
 * sandbox); a pod's other containers join it later. A control connection
 * acts on the first container unless use_container bound it to another;
 * each container's processes are keyed by process id ("init" or the exec
 * id). */
#ifndef HUSK_AGENT_CTR_H
#define HUSK_AGENT_CTR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"
#include "lib/json.h"
#include "lib/proto.h"
#include "oci/spec.h"

/* Where the monitor's virtio-fs share (tag "husk") is mounted: it holds the
 * rootfs and the sources of bind mounts, as husk-vmm rewrote config.json. */
#define AGENT_SHARE_TAG "husk"
#define AGENT_SHARE_DIR "/run/husk/share"
#define AGENT_CGROUP    "/sys/fs/cgroup"

enum { STREAM_STDIN, STREAM_STDOUT, STREAM_STDERR, STREAM_TTY, NSTREAMS };

struct ctr;

struct proc {
	char id[128];
	struct ctr *ctr;
	pid_t pid;
	bool exited;
	int status; /* wait(2) status */
	int stream[NSTREAMS];
	int master; /* pty master when the process has a terminal, else -1 */
	bool tty_in_closed;
	bool init;
	struct proc *next;
};

enum ctr_status { CTR_NONE, CTR_CREATED, CTR_RUNNING, CTR_PAUSED, CTR_STOPPED };

struct ctr {
	char id[HK_CTR_ID_MAX + 1];
	struct oci_spec *spec;
	enum ctr_status status;
	char cgroup[HK_CTR_ID_MAX + 32];
	char pts[HK_CTR_ID_MAX + 32]; /* its devpts instance (CTR_PTS/ID), if any */
	int gate;                     /* write end: start_container lets init exec */
	int errfd;                    /* read end: init's exec error, EOF when exec succeeded */
	struct proc *procs;
	struct ctr *next;
};

/* Every container, the first (the sandbox) first. */
extern struct ctr *agent_ctrs;

/* The container the method being served acts on: the one the connection
 * was bound to by use_container ("" for none: the first container). The
 * server sets the binding before each call. */
void ctr_bind(const char *id);
struct ctr *ctr_current(void);
struct ctr *ctr_find(const char *id);

/* Streams named by open_stream wait here until their process is made;
 * container is the binding the stream was opened under ("" for none). */
int ctr_stream_add(const char *container, const char *process, const char *kind, int fd,
                   hk_err **err);

/* The methods; each returns 0 with *result set to a JSON object text
 * (malloced), or -1 with err. wait_process may instead return 1: the reply
 * comes later, through ctr_reap's callback. */
int ctr_create(const hk_json *params, char **result, hk_err **err);
int ctr_start(const hk_json *params, char **result, hk_err **err);
int ctr_exec(const hk_json *params, char **result, hk_err **err);
int ctr_signal(const hk_json *params, char **result, hk_err **err);
int ctr_resize(const hk_json *params, char **result, hk_err **err);
int ctr_state(const hk_json *params, char **result, hk_err **err);
int ctr_ps(const hk_json *params, char **result, hk_err **err);
int ctr_pause(const hk_json *params, char **result, hk_err **err);
int ctr_resume(const hk_json *params, char **result, hk_err **err);
int ctr_stats(const hk_json *params, char **result, hk_err **err);
int ctr_update(const hk_json *params, char **result, hk_err **err);
/* A pod's container, not the sandbox: ends its processes and forgets it. */
int ctr_delete(const hk_json *params, char **result, hk_err **err);

struct proc *ctr_proc_find(const struct ctr *c, const char *id);
/* The JSON of a finished process's exit: {"exit_status":N,"signal":S}. */
char *ctr_exit_json(const struct proc *p);
/* Reaps every child that ended; returns the processes that are new exits
 * one by one through fn. */
void ctr_reap(void (*fn)(struct proc *p, void *arg), void *arg);

/* spawn.c: fork a process set up as the OCI process says. For init
 * (join_pid 0) the child makes the namespaces and the rootfs, reports
 * readiness on the sync pipe and waits at the gate; for exec it joins
 * the namespaces of join_pid. Returns the pid, or -1 with err. */
struct spawn_req {
	const struct oci_spec *spec;
	const struct oci_process *process;
	const char *cgroup;
	const char *pts; /* the container's devpts instance */
	pid_t join_pid;
	int stdio[3];
	int tty_slave; /* -1 without a terminal */
	int gate_rd;   /* init: read end of the start gate */
	int err_wr;    /* write end: error text before exec (CLOEXEC) */
	int rep_rd;    /* its read end: init joining namespaces by path reports
	                * through it from a middle process */
};
pid_t spawn_process(const struct spawn_req *r, hk_err **err);

/* rootfs.c: everything from the mount namespace to pivot_root, masked
 * and read-only paths; hostname, sysctl. Runs in the child. */
int rootfs_setup(const struct oci_spec *spec, int tty_slave, const char *pts, hk_err **err);
/* The container's devpts instance, mounted by the agent at dir (under
 * CTR_PTS) before the container exists with the options of its devpts
 * mount, so that the init's terminal can come from it; rootfs_setup binds
 * it at /dev/pts. */
#define CTR_PTS "/run/husk-pts"
int rootfs_mount_pts(const struct oci_spec *spec, const char *dir, hk_err **err);

/* cgroup.c */
int cgroup_create(const char *path, hk_err **err);
int cgroup_apply(const char *path, const struct oci_resources *r, hk_err **err);
int cgroup_write(const char *path, const char *file, const char *val, hk_err **err);

#endif
