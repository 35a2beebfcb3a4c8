/* husk-vmm: one microVM. Boots a Linux kernel with its initramfs in a KVM
 * VM, runs the devices on one event loop, and exits with a status that says
 * how the guest ended:
 *   0 guest rebooted or powered off   2 guest kernel panic
 *   1 host-side set-up error          3 triple fault
 *   4 KVM error                       5 device failure
 *   128+N stopped by signal N (SIGTERM, SIGINT)
 * with a one-line reason on stderr (and in --log) for every non-zero one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd/husk-vmm/vmm.h"
#include "lib/cleanup.h"
#include "lib/cpulist.h"
#include "lib/log.h"
#include "lib/thread.h"
#include "lib/util.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: husk-vmm --kernel PATH [options]\n\n"
	        "  --kernel PATH        ELF vmlinux (PVH entry) or bzImage\n"
	        "  --initrd PATH        initramfs\n"
	        "  --cmdline TEXT       appended to the kernel command line\n"
	        "  --cpus N             vCPUs (default 1)\n"
	        "  --memory MIB, -m SIZE guest memory in MiB, or with a unit (512M, 2G)\n"
	        "  --cpu-list LIST, --cpu LIST\n"
	        "                       the host CPUs the vCPU threads may run on (\"1,3-5\")\n"
	        "  --pin set|one-to-one all vCPUs on the list (default), or vCPU i on its i-th "
	        "CPU\n"
	        "  --mems LIST          bind guest memory to these NUMA nodes (default: the\n"
	        "                       nodes of the CPU list)\n"
	        "  --affinity static|adaptive\n"
	        "                       adaptive re-pins a vCPU whose run delay stays high\n"
	        "  --scheduler-policy pinned|steal\n"
	        "                       steal: idle CPUs take delayed vCPUs across sandboxes\n"
	        "  --priority N         0-99 (nice 19 to -20; 50 is nice 0), or the realtime\n"
	        "                       priority with --realtime fifo|rr\n"
	        "  --sched-period MS    balancer period (default 100)\n"
	        "  --hugepages          back guest memory with huge pages\n"
	        "  --console PATH       guest console output (default: stdout; \"none\" drops it)\n"
	        "  --vsock UDS          virtio-vsock, host side on this Unix socket\n"
	        "  --cid N              the guest's vsock CID (default 3)\n"
	        "  --fs TAG=DIR[,ro]    virtio-fs share served by the monitor's own virtiofsd\n"
	        "  --virtiofsd PATH     virtiofsd to run (default: found on this host)\n"
	        "  --virtiofsd-cgroup DIR\n"
	        "                       virtiofsd joins this cgroup (once a hierarchy)\n"
	        "  --blk FILE[,ro]      virtio-blk on a raw image\n"
	        "  --net TAP[,mac=MAC][,mtu=N]\n"
	        "                       virtio-net on this tap (made if absent)\n"
	        "  --no-rng             no virtio-rng\n"
	        "  --control PATH       control socket\n"
	        "  --log FILE           log here instead of stderr; --log-format text|json\n"
	        "  --debug              log debug lines\n\n"
	        "confinement (see README):\n"
	        "  --jail DIR           pivot_root into DIR (absolute, empty) once the VM is\n"
	        "                       set up: a tmpfs holding only the sockets still used\n"
	        "  --uid N, --gid N     run as this user and group from then on\n"
	        "  --no-seccomp         no seccomp filters (debugging only)\n"
	        "  --seccomp-log        filters log what they would kill (finding a missing\n"
	        "                       syscall)\n\n"
	        "container mode (what `husk create` runs):\n"
	        "  --container ID       run the OCI bundle's container in the VM and leave with\n"
	        "                       its status\n"
	        "  --bundle DIR         the bundle (config.json)\n"
	        "  --state-dir DIR      the container's state directory (sockets, share)\n"
	        "  --ready-fd N         write \"ok PID\" or \"error MESSAGE\" here once created\n"
	        "  --pod-container ID   instead: run a pod's container in its sandbox's VM,\n"
	        "                       reached through --vsock, with --config (the guest's\n"
	        "                       config.json) and --state-dir; no VM of its own\n"
	        "  --config FILE        see --pod-container\n");
}

enum {
	O_KERNEL = 256,
	O_INITRD,
	O_CMDLINE,
	O_CPUS,
	O_CPULIST,
	O_PIN,
	O_MEMS,
	O_AFFINITY,
	O_SCHEDPOL,
	O_PRIORITY,
	O_REALTIME,
	O_SCHEDPERIOD,
	O_MEMORY,
	O_HUGE,
	O_CONSOLE,
	O_VSOCK,
	O_CID,
	O_FS,
	O_VIRTIOFSD,
	O_VIRTIOFSD_CG,
	O_BLK,
	O_NORNG,
	O_NET,
	O_CONTROL,
	O_LOG,
	O_LOGFMT,
	O_DEBUG,
	O_HELP,
	O_CONTAINER,
	O_BUNDLE,
	O_STATEDIR,
	O_READYFD,
	O_PODCTR,
	O_CONFIG,
	O_JAIL,
	O_UID,
	O_GID,
	O_NOSECCOMP,
	O_SECCOMPLOG,
};

static struct vmm_container ctr = {.ready_fd = -1};

/* "512", "512M", "2G": MiB. */
static int parse_size_mib(const char *s, uint64_t *mib)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t mul = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	if (num[n - 1] == 'G' || num[n - 1] == 'g')
		mul = 1024, num[n - 1] = '\0';
	else if (num[n - 1] == 'M' || num[n - 1] == 'm')
		num[n - 1] = '\0';
	if (hk_parse_u64(num, mib) < 0 || *mib > (1u << 20))
		return -1;
	*mib *= mul;
	return 0;
}

static int parse_args(int argc, char **argv, struct vmm_config *cfg, hk_err **err)
{
	static const struct option opts[] = {
	        {"kernel", required_argument, NULL, O_KERNEL},
	        {"initrd", required_argument, NULL, O_INITRD},
	        {"cmdline", required_argument, NULL, O_CMDLINE},
	        {"cpus", required_argument, NULL, O_CPUS},
	        {"memory", required_argument, NULL, O_MEMORY},
	        {"cpu-list", required_argument, NULL, O_CPULIST},
	        {"cpu", required_argument, NULL, O_CPULIST},
	        {"mems", required_argument, NULL, O_MEMS},
	        {"affinity", required_argument, NULL, O_AFFINITY},
	        {"scheduler-policy", required_argument, NULL, O_SCHEDPOL},
	        {"priority", required_argument, NULL, O_PRIORITY},
	        {"realtime", required_argument, NULL, O_REALTIME},
	        {"sched-period", required_argument, NULL, O_SCHEDPERIOD},
	        {"pin", required_argument, NULL, O_PIN},
	        {"hugepages", no_argument, NULL, O_HUGE},
	        {"console", required_argument, NULL, O_CONSOLE},
	        {"vsock", required_argument, NULL, O_VSOCK},
	        {"cid", required_argument, NULL, O_CID},
	        {"fs", required_argument, NULL, O_FS},
	        {"virtiofsd", required_argument, NULL, O_VIRTIOFSD},
	        {"virtiofsd-cgroup", required_argument, NULL, O_VIRTIOFSD_CG},
	        {"blk", required_argument, NULL, O_BLK},
	        {"no-rng", no_argument, NULL, O_NORNG},
	        {"net", required_argument, NULL, O_NET},
	        {"control", required_argument, NULL, O_CONTROL},
	        {"log", required_argument, NULL, O_LOG},
	        {"log-format", required_argument, NULL, O_LOGFMT},
	        {"debug", no_argument, NULL, O_DEBUG},
	        {"help", no_argument, NULL, O_HELP},
	        {"container", required_argument, NULL, O_CONTAINER},
	        {"bundle", required_argument, NULL, O_BUNDLE},
	        {"state-dir", required_argument, NULL, O_STATEDIR},
	        {"ready-fd", required_argument, NULL, O_READYFD},
	        {"pod-container", required_argument, NULL, O_PODCTR},
	        {"config", required_argument, NULL, O_CONFIG},
	        {"jail", required_argument, NULL, O_JAIL},
	        {"uid", required_argument, NULL, O_UID},
	        {"gid", required_argument, NULL, O_GID},
	        {"no-seccomp", no_argument, NULL, O_NOSECCOMP},
	        {"seccomp-log", no_argument, NULL, O_SECCOMPLOG},
	        {0},
	};
	bool uid_set = false, gid_set = false;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
		switch (c) {
		case O_KERNEL:
			cfg->kernel = optarg;
			break;
		case O_INITRD:
			cfg->initrd = optarg;
			break;
		case O_CMDLINE:
			cfg->cmdline_extra = optarg;
			break;
		case O_CPUS:
			if (hk_parse_u64(optarg, &v) < 0 || v == 0 || v > 64)
				return hk_err_set(err, 0, "--cpus %s: want 1 to 64", optarg);
			cfg->cpus = (unsigned)v;
			break;
		case O_MEMORY:
			if (hk_parse_u64(optarg, &v) < 0 || v < 16 || v > (1u << 20))
				return hk_err_set(err, 0, "--memory %s: want 16 to 1048576 MiB",
				                  optarg);
			cfg->mem_mib = v;
			break;
		case 'm':
			if (parse_size_mib(optarg, &v) < 0 || v < 16 || v > (1u << 20))
				return hk_err_set(err, 0, "-m %s: want 16M to 1024G", optarg);
			cfg->mem_mib = v;
			break;
		case O_CPULIST:
			if (hk_cpulist_parse(optarg, &cfg->sched.cpus, err) < 0)
				return hk_err_wrap(err, "--cpu-list");
			cfg->sched_set = true;
			break;
		case O_MEMS:
			if (hk_cpulist_parse(optarg, &cfg->sched.mems, err) < 0)
				return hk_err_wrap(err, "--mems");
			cfg->sched_set = true;
			break;
		case O_PIN:
			if (strcmp(optarg, "set") != 0 && strcmp(optarg, "one-to-one") != 0)
				return hk_err_set(err, 0, "--pin %s: set or one-to-one", optarg);
			cfg->sched.one_to_one = strcmp(optarg, "one-to-one") == 0;
			cfg->sched_set = true;
			break;
		case O_AFFINITY:
		case O_SCHEDPOL:
		case O_PRIORITY:
		case O_REALTIME:
			if ((c == O_AFFINITY   ? sched_parse_affinity(optarg, &cfg->sched, err)
			     : c == O_SCHEDPOL ? sched_parse_policy(optarg, &cfg->sched, err)
			     : c == O_PRIORITY ? sched_parse_priority(optarg, &cfg->sched, err)
			                       : sched_parse_rt(optarg, &cfg->sched, err)) < 0)
				return hk_err_wrap(err, "--%s",
				                   c == O_AFFINITY   ? "affinity"
				                   : c == O_SCHEDPOL ? "scheduler-policy"
				                   : c == O_PRIORITY ? "priority"
				                                     : "realtime");
			cfg->sched_set = true;
			break;
		case O_SCHEDPERIOD:
			if (hk_parse_u64(optarg, &v) < 0 || v < 10 || v > 60000)
				return hk_err_set(err, 0, "--sched-period %s: want 10 to 60000 ms",
				                  optarg);
			cfg->sched.period_ms = (unsigned)v;
			break;
		case O_HUGE:
			cfg->hugepages = true;
			break;
		case O_CONSOLE:
			cfg->console = optarg;
			break;
		case O_VSOCK:
			cfg->vsock_uds = optarg;
			break;
		case O_CID:
			if (hk_parse_u64(optarg, &v) < 0 || v < 3 || v > UINT32_MAX)
				return hk_err_set(err, 0, "--cid %s: want 3 to 4294967295", optarg);
			cfg->cid = v;
			break;
		case O_FS:
			if (cfg->nfs == VMM_MAX_FS)
				return hk_err_set(err, 0, "at most %d --fs shares", VMM_MAX_FS);
			if (vmm_parse_share(optarg, &cfg->fs[cfg->nfs++], err) < 0)
				return -1;
			break;
		case O_VIRTIOFSD:
			cfg->virtiofsd.path = optarg;
			break;
		case O_VIRTIOFSD_CG:
			if (cfg->virtiofsd.ncgroups == VIRTIO_FS_MAX_CGROUPS)
				return hk_err_set(err, 0, "at most %d --virtiofsd-cgroup",
				                  VIRTIO_FS_MAX_CGROUPS);
			if (optarg[0] != '/')
				return hk_err_set(err, 0,
				                  "--virtiofsd-cgroup %s: want an absolute path",
				                  optarg);
			cfg->virtiofsd.cgroup[cfg->virtiofsd.ncgroups++] = optarg;
			break;
		case O_BLK:
			if (cfg->nblk == VMM_MAX_BLK)
				return hk_err_set(err, 0, "at most %d --blk devices", VMM_MAX_BLK);
			if (vmm_parse_blk(optarg, &cfg->blk[cfg->nblk++], err) < 0)
				return -1;
			break;
		case O_NORNG:
			cfg->rng = false;
			break;
		case O_NET:
			if (cfg->nnet == VMM_MAX_NET)
				return hk_err_set(err, 0, "at most %d --net devices", VMM_MAX_NET);
			if (vmm_parse_net(optarg, &cfg->net[cfg->nnet], err) < 0)
				return -1;
			cfg->nnet++;
			break;
		case O_CONTROL:
			cfg->control = optarg;
			break;
		case O_LOG:
			cfg->log = optarg;
			break;
		case O_LOGFMT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
				return hk_err_set(err, 0, "--log-format %s: text or json", optarg);
			cfg->log_json = strcmp(optarg, "json") == 0;
			break;
		case O_DEBUG:
			cfg->debug = true;
			break;
		case O_CONTAINER:
			ctr.id = optarg;
			break;
		case O_BUNDLE:
			ctr.bundle = optarg;
			break;
		case O_STATEDIR:
			ctr.state_dir = optarg;
			break;
		case O_PODCTR:
			ctr.id = optarg;
			ctr.pod = true;
			break;
		case O_CONFIG:
			ctr.config = optarg;
			break;
		case O_READYFD:
			if (hk_parse_u64(optarg, &v) < 0 || v < 3 || v > 1024)
				return hk_err_set(err, 0, "--ready-fd %s: want 3 to 1024", optarg);
			ctr.ready_fd = (int)v;
			break;
		case O_JAIL:
			cfg->jail.dir = optarg;
			break;
		case O_UID:
		case O_GID:
			if (hk_parse_u64(optarg, &v) < 0 || v >= UINT32_MAX)
				return hk_err_set(err, 0, "--%s %s: want a number",
				                  c == O_UID ? "uid" : "gid", optarg);
			if (c == O_UID)
				cfg->jail.uid = (uid_t)v, uid_set = true;
			else
				cfg->jail.gid = (gid_t)v, gid_set = true;
			break;
		case O_NOSECCOMP:
			cfg->seccomp = POL_SECCOMP_OFF;
			break;
		case O_SECCOMPLOG:
			cfg->seccomp = POL_SECCOMP_LOG;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return hk_err_set(err, 0, "bad arguments");
		}
	}
	if (optind != argc)
		return hk_err_set(err, 0, "unexpected argument `%s`", argv[optind]);
	if (ctr.pod && (ctr.config == NULL || ctr.state_dir == NULL || cfg->vsock_uds == NULL))
		return hk_err_set(err, 0,
		                  "--pod-container needs --config, --state-dir and --vsock");
	if (cfg->kernel == NULL && !ctr.pod)
		return hk_err_set(err, 0, "--kernel is required");
	if (ctr.id && !ctr.pod && (ctr.bundle == NULL || ctr.state_dir == NULL))
		return hk_err_set(err, 0, "--container needs --bundle and --state-dir");
	if (uid_set != gid_set)
		return hk_err_set(err, 0, "--uid and --gid go together");
	cfg->jail.drop_ids = uid_set;
	if (pol_jail_check(&cfg->jail, err) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct vmm_config cfg = {.cpus = 1,
	                         .mem_mib = 256,
	                         .cid = 3,
	                         .rng = true,
	                         .seccomp = POL_SECCOMP_KILL,
	                         .vsock_outbound = true};

	sched_cfg_init(&cfg.sched);
	cleanup_err hk_err *err = NULL;
	const char *t0 = getenv("HUSK_VMM_T0_US");
	int status;

	/* Times are measured from our start, or from the exec a benchmark
	 * noted for us. */
	cfg.t0_us = hk_now_us();
	if (t0)
		(void)hk_parse_u64(t0, &cfg.t0_us);

	if (parse_args(argc, argv, &cfg, &err) < 0) {
		fprintf(stderr, "husk-vmm: %s\n", err->msg);
		return 1;
	}
	/* Engines leak descriptors into runtimes; the monitor keeps only stdio
	 * and the pipe to `husk create`. */
	hk_close_fds_from(3, &ctr.ready_fd, ctr.ready_fd >= 0 ? 1 : 0);
	if (ctr.ready_fd >= 0 && hk_fd_set_cloexec(ctr.ready_fd, true, NULL) < 0)
		return 1;
	if (hk_log_open(cfg.log, cfg.log_json ? HK_LOG_JSON : HK_LOG_TEXT,
	                cfg.debug ? HK_LOG_DEBUG : HK_LOG_INFO, &err) < 0) {
		fprintf(stderr, "husk-vmm: %s\n", err->msg);
		return 1;
	}
	hk_timeline("monitor-main");
	if (!pol_seccomp_supported() && cfg.seccomp != POL_SECCOMP_OFF) {
		hk_debug("seccomp: off in this sanitizer build");
		cfg.seccomp = POL_SECCOMP_OFF;
	}
	/* glibc reads /etc/localtime at the first time conversion (a log
	 * line's gmtime_r too); done here, no filtered thread ever opens it. */
	tzset();
	/* Compiled now, while anything may still be allocated and opened;
	 * each thread installs its kind's filter as it starts. */
	if (pol_seccomp_compile(cfg.seccomp, &err) < 0) {
		hk_error("%s", err->msg);
		return 1;
	}
	hk_thread_set_hook(pol_seccomp_install);
	if (ctr.id) {
		status = vmm_container_run(&cfg, &ctr, &err);
		if (status < 0) {
			hk_error("%s", err->msg);
			return 1;
		}
		if (status & 0x7f) {
			/* Die by the container's signal, as shells and shims expect,
			 * without a core dump of the monitor. */
			struct rlimit no_core = {0, 0};
			sigset_t one;
			setrlimit(RLIMIT_CORE, &no_core);
			signal(status & 0x7f, SIG_DFL);
			sigemptyset(&one);
			sigaddset(&one, status & 0x7f);
			sigprocmask(SIG_UNBLOCK, &one, NULL);
			raise(status & 0x7f);
			return 128 + (status & 0x7f);
		}
		return (status >> 8) & 0xff;
	}
	status = vmm_run(&cfg, &err);
	if (status < 0) {
		hk_error("%s", err->msg);
		if (hk_log_to_file())
			fprintf(stderr, "husk-vmm: %s\n", err->msg);
		return 1;
	}
	return status;
}
