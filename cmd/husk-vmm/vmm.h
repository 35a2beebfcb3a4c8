/* husk-vmm's configuration and its one entry point. */
#ifndef HUSK_VMM_H
#define HUSK_VMM_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "policy/jail.h"
#include "policy/seccomp.h"
#include "vmm/sched/sched.h"
#include "vmm/virtio/fs.h"

struct vmm_vm;

#define VMM_MAX_FS  8
#define VMM_MAX_BLK 8
#define VMM_MAX_NET 4

struct vmm_share {
	char tag[37]; /* virtio-fs tags are at most 36 bytes */
	const char *dir;
	bool readonly;
};

struct vmm_blk_cfg {
	const char *path;
	bool readonly;
};

/* A NIC: an open tap (owned by the monitor from here) and what the guest's
 * side of it looks like. */
struct vmm_net_cfg {
	int tap_fd;
	uint8_t mac[6];
	uint16_t mtu;
};

struct vmm_config {
	const char *kernel, *initrd, *cmdline_extra;
	unsigned cpus;
	struct sched_cfg sched; /* --cpu-list, --affinity, --priority, …: vmm/sched/ */
	bool sched_set;         /* any of those given */
	uint64_t mem_mib;
	bool hugepages;
	const char *console;
	const char *vsock_uds;
	uint64_t cid;
	struct vmm_share fs[VMM_MAX_FS];
	unsigned nfs;
	struct virtio_fs_daemon virtiofsd; /* --virtiofsd, --virtiofsd-cgroup */
	struct vmm_blk_cfg blk[VMM_MAX_BLK];
	unsigned nblk;
	struct vmm_net_cfg net[VMM_MAX_NET];
	unsigned nnet;
	bool rng;
	const char *control;
	uint64_t t0_us; /* CLOCK_MONOTONIC when the caller exec'd us (benchmarks) */
	const char *log;
	bool log_json, debug;
	/* The jailer's settings (--jail, --uid, --gid) and the seccomp mode
	 * (--no-seccomp, --seccomp-log): policy/. */
	struct pol_jail jail;
	enum pol_seccomp_mode seccomp;
	/* Guest-initiated vsock connections reach <uds>_<port> on the host;
	 * a container's guest has no such need, and its jail holds only the
	 * socket itself. */
	bool vsock_outbound;
	/* A container's monitor (container.c): signals go to the container,
	 * not to stopping the VM, and these run beside the VM. */
	bool forward_signals;
	void (*on_start)(struct vmm_vm *vm, void *arg);
	void (*on_stop)(void *arg);
	void *hook_arg;
};

/* "TAG=DIR[,ro]" and "FILE[,ro]". The strings stay owned by argv. */
int vmm_parse_share(char *arg, struct vmm_share *s, hk_err **err);
int vmm_parse_blk(char *arg, struct vmm_blk_cfg *b, hk_err **err);
/* "TAP[,mac=MAC][,mtu=N]": opens (or creates) the tap. */
int vmm_parse_net(char *arg, struct vmm_net_cfg *n, hk_err **err);

/* Boots and runs the VM until it ends; returns the exit status (see
 * main.c), or -1 with err set when the VM could not be set up. */
int vmm_run(const struct vmm_config *cfg, hk_err **err);

/* Container networking (net.c): joins the container's network namespace,
 * adds a NIC per interface found there to cfg, and returns the agent's
 * description of them (a JSON array; NULL when the guest gets no NIC). */
struct oci_spec;
int vmm_net_setup(const struct oci_spec *spec, const char *state_dir, struct vmm_config *cfg,
                  char **agent_json, hk_err **err);
/* Takes the redirects away (the taps went with the VM). */
void vmm_net_teardown(struct vmm_config *cfg);

/* Container mode (--container): the OCI bundle's container runs in the VM
 * and the monitor is its process: it relays stdio, forwards signals, and
 * exits with the container's status. */
struct vmm_container {
	const char *id, *bundle, *state_dir;
	int ready_fd;
	/* --pod-container: a pod's container in its sandbox's VM (--vsock),
	 * with the config husk wrote for the guest (--config); no VM here. */
	bool pod;
	const char *config;
};
/* Sets the VM up for the container (share, config), runs it, and returns
 * the wait(2)-style status to leave with, or -1 with err. */
int vmm_container_run(struct vmm_config *cfg, const struct vmm_container *c, hk_err **err);

#endif
