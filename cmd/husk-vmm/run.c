/* Putting one VM together: KVM, guest memory, legacy devices, virtio
 * devices, the kernel; then the vCPUs and the event loop until the guest
 * ends or a signal says stop; then everything is taken down again. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd/husk-vmm/control.h"
#include "cmd/husk-vmm/vmm.h"
#include "lib/cleanup.h"
#include "lib/cpulist.h"
#include "lib/log.h"
#include "lib/thread.h"
#include "vmm/loop.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/fs.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/vsock.h"
#include "vmm/virtio/virtio.h"
#include "vmm/vm.h"
#include "vmm/x86/boot.h"

#include <sys/eventfd.h>

/* Interrupt lines for virtio devices: the ISA lines the machine leaves free
 * (0 timer, 1 keyboard, 2 cascade, 4 serial, 8 RTC are taken or reserved). */
static const unsigned virtio_irqs[] = {5, 6, 7, 9, 10, 11, 12, 13, 14, 15};
#define MAX_VIRTIO    (sizeof(virtio_irqs) / sizeof(virtio_irqs[0]))
/* One page per device keeps each register file on its own page. */
#define VIRTIO_STRIDE 0x1000

/* The base command line: a serial console, a clean way out (reboot=k, and
 * panic=-1 so a panic reboots at once after naming itself), and no probing
 * for hardware a microVM does not have. */
#define BASE_CMDLINE                                                                               \
	"console=ttyS0 reboot=k panic=-1 pci=off nomodules 8250.nr_uarts=1 i8042.noaux "           \
	"i8042.nomux i8042.nopnp i8042.dumbkbd cryptomgr.notests rcupdate.rcu_expedited=1 quiet"

struct vmm_ctx {
	struct vmm_loop loop;
	struct vmm_vm vm;
	int sig_fd;
	int stop_signal;
	struct vmm_control control;
	struct virtio_dev virtio[MAX_VIRTIO];
	int irq_fd[MAX_VIRTIO];
	unsigned nvirtio;
	char devices_cmdline[1024];
	struct virtio_blk blk[VMM_MAX_BLK];
	unsigned nblk;
	struct virtio_vsock vsock;
	bool have_vsock;
	struct virtio_fs fs[VMM_MAX_FS];
	unsigned nfs;
	struct virtio_net net[VMM_MAX_NET];
	unsigned nnet;
	char run_dir[256]; /* private: virtiofsd sockets */
	struct sched sched;
	char vsock_dir[256]; /* bound into the jail for outbound vsock */
};

/* Wires one virtio device: MMIO registers on the bus, an irqfd for its
 * interrupt line, ioeventfds so queue kicks never exit to userspace, and
 * its declaration on the kernel command line. */
static int add_virtio(struct vmm_ctx *x, const struct virtio_dev_ops *ops, void *priv, hk_err **err)
{
	unsigned n = x->nvirtio;
	struct virtio_dev *d = &x->virtio[n];
	uint64_t base = VIRTIO_MMIO_BASE + n * VIRTIO_STRIDE;
	char frag[96];

	if (n == MAX_VIRTIO)
		return hk_err_set(err, ENOSPC, "more than %zu virtio devices", MAX_VIRTIO);
	x->irq_fd[n] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->irq_fd[n] < 0)
		return hk_err_set(err, errno, "virtio-%s: eventfd", ops->name);
	x->nvirtio++;
	if (vmm_irqfd(&x->vm, x->irq_fd[n], virtio_irqs[n], err) < 0 ||
	    virtio_dev_init(d, ops, priv, &x->vm.mem, &x->loop, base, virtio_irqs[n], x->irq_fd[n],
	                    err) < 0 ||
	    vmm_bus_register(&x->vm.mmio, base, VIRTIO_MMIO_SIZE, &virtio_mmio_ops, d, err) < 0)
		return hk_err_wrap(err, "virtio-%s", ops->name);
	for (unsigned q = 0; q < ops->num_queues; q++)
		if (vmm_ioeventfd(&x->vm, d->kick_fd[q], base + 0x50, 4, q, err) < 0)
			return hk_err_wrap(err, "virtio-%s", ops->name);
	if (virtio_cmdline(d, frag, sizeof(frag)) < 0 ||
	    strlen(x->devices_cmdline) + strlen(frag) + 2 > sizeof(x->devices_cmdline))
		return hk_err_set(err, E2BIG, "virtio-%s: command line full", ops->name);
	strcat(x->devices_cmdline, " ");
	strcat(x->devices_cmdline, frag);
	hk_debug("virtio-%s at %#llx irq %u", ops->name, (unsigned long long)base, virtio_irqs[n]);
	return 0;
}

static void remove_virtio(struct vmm_ctx *x)
{
	for (unsigned i = 0; i < x->nfs; i++)
		virtio_fs_close(&x->fs[i]);
	x->nfs = 0;
	if (x->run_dir[0])
		rmdir(x->run_dir);
	for (unsigned i = 0; i < x->nvirtio; i++) {
		virtio_dev_fini(&x->virtio[i]);
		close(x->irq_fd[i]);
	}
	x->nvirtio = 0;
	for (unsigned i = 0; i < x->nblk; i++)
		virtio_blk_close(&x->blk[i]);
	if (x->have_vsock)
		virtio_vsock_close(&x->vsock);
	for (unsigned i = 0; i < x->nnet; i++)
		virtio_net_close(&x->net[i]);
	x->nnet = 0;
	x->have_vsock = false;
	x->nblk = 0;
}

static void on_signal(void *arg, uint32_t events)
{
	struct vmm_ctx *x = arg;
	struct signalfd_siginfo si;

	if (read(x->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	x->stop_signal = (int)si.ssi_signo;
	vmm_vm_exit(&x->vm, VMM_EXIT_SIGNAL, "stopped by signal %d", x->stop_signal);
}

static int open_console(const char *path, hk_err **err)
{
	if (path == NULL || strcmp(path, "-") == 0)
		return dup(STDOUT_FILENO);
	if (strcmp(path, "none") == 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return hk_err_set(err, errno, "open console `%s`", path), -2;
	return fd;
}

static int exit_status(const struct vmm_ctx *x)
{
	switch (x->vm.exit_kind) {
	case VMM_EXIT_RESET:
	case VMM_EXIT_NONE:
		return 0;
	case VMM_EXIT_PANIC:
		return 2;
	case VMM_EXIT_TRIPLE:
		return 3;
	case VMM_EXIT_KVM_ERROR:
		return 4;
	case VMM_EXIT_DEVICE:
		return 5;
	case VMM_EXIT_SIGNAL:
		/* A stop through the control socket is as clean as SIGTERM. */
		return 128 + (x->stop_signal ? x->stop_signal : SIGTERM);
	}
	return 1;
}

/* vCPU placement (vmm/sched/), refused up front when the CPU list names a
 * CPU this process may not use (offline, or outside its cpuset); guest
 * memory goes to the NUMA nodes of those CPUs (or of --mems). */
static int set_placement(struct vmm_ctx *x, const struct vmm_config *cfg, hk_err **err)
{
	cpu_set_t nodes;

	if (sched_init(&x->sched, &cfg->sched, x->vm.nvcpus, err) < 0)
		return hk_err_wrap(err, "vCPU placement");
	x->vm.sched = &x->sched;
	if (CPU_COUNT(&cfg->sched.mems) > 0)
		nodes = cfg->sched.mems;
	else if (sched_nodes_of_cpus(&x->sched.cfg.cpus, &nodes, err) < 0)
		return -1;
	return sched_bind_memory(x->vm.mem.host, x->vm.mem.size, &nodes, err);
}

/* Once everything is open: virtiofsd's sockets go (it is connected and
 * never reconnects), then the jailer (policy/jail.h) runs while this is
 * still the only thread. */
static int confine(struct vmm_ctx *x, const struct vmm_config *cfg, hk_err **err)
{
	struct pol_jail j = cfg->jail;

	for (unsigned i = 0; i < x->nfs; i++)
		unlink(x->fs[i].sock);
	if (x->run_dir[0] && rmdir(x->run_dir) == 0)
		x->run_dir[0] = '\0';
	if (j.dir && cfg->vsock_uds && cfg->vsock_outbound) {
		snprintf(x->vsock_dir, sizeof(x->vsock_dir), "%s", cfg->vsock_uds);
		char *slash = strrchr(x->vsock_dir, '/');
		if (slash == NULL || slash == x->vsock_dir)
			return hk_err_set(err, EINVAL,
			                  "--jail: the vsock socket `%s` needs a directory of its "
			                  "own (an absolute path)",
			                  cfg->vsock_uds);
		*slash = '\0';
		if (pol_jail_add_bind(&j, x->vsock_dir, "guest-initiated vsock connections", err) <
		    0)
			return -1;
	}
	j.proc = j.dir && sched_cfg_balances(&cfg->sched);
	j.keep_nice = cfg->sched.rt != SCHED_RT_NONE ||
	              (cfg->sched.priority >= 0 && sched_priority_nice(cfg->sched.priority) < 0);
	return pol_jail_enter(&j, err);
}

int vmm_run(const struct vmm_config *cfg, hk_err **err)
{
	struct vmm_ctx x = {.sig_fd = -1, .control.fd = -1};
	struct vmm_boot boot;
	cleanup_free char *cmdline = NULL;
	int console = -1, status = -1;
	sigset_t sigs;

	if (vmm_loop_init(&x.loop, err) < 0)
		return -1;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if (!cfg->forward_signals) {
		x.sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
		if (x.sig_fd < 0) {
			hk_err_set(err, errno, "signalfd");
			goto out_loop;
		}
		if (vmm_loop_add(&x.loop, x.sig_fd, EPOLLIN, on_signal, &x, err) < 0)
			goto out_loop;
	}
	console = open_console(cfg->console, err);
	if (console == -2)
		goto out_loop;
	if (vmm_vm_create(&x.vm, cfg->cpus, cfg->mem_mib << 20, cfg->hugepages, &x.loop, console,
	                  err) < 0)
		goto out_vm;
	hk_timeline("vm-created");
	x.vm.start_us = cfg->t0_us;
	if (cfg->sched_set && set_placement(&x, cfg, err) < 0)
		goto out_vm;
	if (vmm_legacy_register(&x.vm, err) < 0)
		goto out_vm;
	if (cfg->rng && add_virtio(&x, &virtio_rng_ops, NULL, err) < 0)
		goto out_vm;
	if (cfg->vsock_uds) {
		if (virtio_vsock_open(&x.vsock, cfg->cid, cfg->vsock_uds, &x.loop, err) < 0)
			goto out_vm;
		x.have_vsock = true;
		x.vsock.dev = &x.virtio[x.nvirtio];
		if (add_virtio(&x, &virtio_vsock_ops, &x.vsock, err) < 0)
			goto out_vm;
	}
	if (cfg->nfs) {
		const char *tmp = getenv("TMPDIR");
		snprintf(x.run_dir, sizeof(x.run_dir), "%s/husk-vmm.XXXXXX", tmp ? tmp : "/tmp");
		if (mkdtemp(x.run_dir) == NULL) {
			hk_err_set(err, errno, "create `%s`", x.run_dir);
			x.run_dir[0] = '\0';
			goto out_vm;
		}
	}
	for (unsigned i = 0; i < cfg->nfs; i++) {
		const struct vmm_share *sh = &cfg->fs[i];
		x.nfs++; /* closed on failure, even half started */
		if (virtio_fs_start(&x.fs[i], sh->tag, sh->dir, sh->readonly, &cfg->virtiofsd,
		                    x.run_dir, &x.loop, err) < 0)
			goto out_vm;
		x.fs[i].dev = &x.virtio[x.nvirtio];
		if (add_virtio(&x, &virtio_fs_ops, &x.fs[i], err) < 0)
			goto out_vm;
	}
	for (unsigned i = 0; i < cfg->nnet; i++) {
		const struct vmm_net_cfg *nc = &cfg->net[i];
		/* The tap is the device's from here, whatever happens. */
		if (virtio_net_open(&x.net[i], nc->tap_fd, nc->mac, nc->mtu, &x.loop, err) < 0)
			goto out_vm;
		x.nnet++;
		x.net[i].dev = &x.virtio[x.nvirtio];
		if (add_virtio(&x, &virtio_net_ops, &x.net[i], err) < 0)
			goto out_vm;
	}
	for (unsigned i = 0; i < cfg->nblk; i++) {
		const struct vmm_blk_cfg *b = &cfg->blk[i];
		if (virtio_blk_open(&x.blk[i], b->path, b->readonly, err) < 0)
			goto out_vm;
		x.nblk++;
		if (add_virtio(&x, b->readonly ? &virtio_blk_ro_ops : &virtio_blk_ops, &x.blk[i],
		               err) < 0)
			goto out_vm;
	}
	if (asprintf(&cmdline, "%s%s%s%s", BASE_CMDLINE, x.devices_cmdline,
	             cfg->cmdline_extra ? " " : "",
	             cfg->cmdline_extra ? cfg->cmdline_extra : "") < 0) {
		hk_err_set(err, ENOMEM, "command line");
		goto out_vm;
	}
	if (vmm_vcpus_create(&x.vm, err) < 0)
		goto out_vm;
	if (vmm_boot_load(&x.vm, cfg->kernel, cfg->initrd, cmdline, &boot, err) < 0)
		goto out_vm;
	for (unsigned i = 0; i < x.vm.nvcpus; i++)
		if (vmm_boot_setup_vcpu(&x.vm.vcpus[i], &boot, err) < 0)
			goto out_vm;
	/* virtiofsd started above and got ready while the kernel loaded. */
	for (unsigned i = 0; i < x.nfs; i++)
		if (virtio_fs_connect(&x.fs[i], err) < 0)
			goto out_vm;
	hk_debug("kernel command line: %s", cmdline);
	if (cfg->control && vmm_control_open(&x.control, &x.vm, cfg->control, err) < 0)
		goto out_vm;
	if (confine(&x, cfg, err) < 0)
		goto out_stop;
	if (vmm_vcpus_start(&x.vm, err) < 0)
		goto out_stop;
	if (x.vm.sched && sched_start(x.vm.sched, err) < 0)
		goto out_stop;
	if (cfg->on_start)
		cfg->on_start(&x.vm, cfg->hook_arg);
	/* The loop's filter last: every other thread has its own by now, and
	 * set-up needed more than the loop does. */
	if (hk_thread_enter(HK_THREAD_MAIN, err) < 0)
		goto out_stop;
	if (vmm_loop_run(&x.loop, err) < 0)
		goto out_stop;
	status = exit_status(&x);
	if (status != 0) {
		hk_error("%s", x.vm.exit_reason);
		if (hk_log_to_file())
			fprintf(stderr, "husk-vmm: %s\n", x.vm.exit_reason);
	} else
		hk_debug("%s", x.vm.exit_reason);
out_stop:
	if (cfg->on_start && cfg->on_stop)
		cfg->on_stop(cfg->hook_arg);
	if (x.vm.sched)
		sched_fini(x.vm.sched); /* the balancer before the threads it moves */
	vmm_vcpus_stop(&x.vm);
	vmm_control_close(&x.control);
out_vm:
	if (x.vm.sched)
		sched_fini(x.vm.sched);
	remove_virtio(&x);
	vmm_vm_destroy(&x.vm);
	if (console >= 0)
		close(console);
out_loop:
	if (x.sig_fd >= 0)
		close(x.sig_fd);
	vmm_loop_fini(&x.loop);
	return status;
}
