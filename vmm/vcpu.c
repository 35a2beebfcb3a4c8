/* vCPU threads: one per vCPU, each in a KVM_RUN loop with one switch over
 * the exit reasons. Port and MMIO exits go to the buses; anything that ends
 * the guest is recorded with vmm_vm_exit(). Stopping sets immediate_exit
 * and signals the thread, so a vCPU about to enter the guest cannot miss
 * it. */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/thread.h"
#include "lib/util.h"
#include "vmm/sched/sched.h"
#include "vmm/vm.h"
#include "vmm/x86/boot.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig; /* only here to interrupt KVM_RUN */
}

int vmm_vcpus_create(struct vmm_vm *vm, hk_err **err)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vmm_vcpu *c = &vm->vcpus[i];
		c->vm = vm;
		c->id = i;
		c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (c->fd < 0)
			return hk_err_set(err, errno, "KVM_CREATE_VCPU %u", i);
		c->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (c->run == MAP_FAILED) {
			c->run = NULL;
			return hk_err_set(err, errno, "map vCPU %u run area", i);
		}
		if (vmm_cpuid_setup(c, err) < 0)
			return hk_err_wrap(err, "vCPU %u", i);
	}
	return 0;
}

static void io_exit(struct vmm_vcpu *c)
{
	struct kvm_run *r = c->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	uint32_t size = r->io.size;

	if (size == 0 || size > 4 ||
	    r->io.data_offset + (uint64_t)size * r->io.count > c->vm->run_size)
		return;
	for (uint32_t i = 0; i < r->io.count; i++, data += size)
		vmm_bus_access(&c->vm->pio, r->io.port, data, size,
		               r->io.direction == KVM_EXIT_IO_OUT);
}

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *c = arg;
	struct vmm_vm *vm = c->vm;
	sigset_t set;

	c->tid = (pid_t)syscall(SYS_gettid);
	/* "vcpuN" in /proc/PID/task/TID/comm is how `husk state` finds them. */
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", c->id);
	pthread_setname_np(pthread_self(), name);
	if (vm->sched) {
		cleanup_err hk_err *err = NULL;
		/* A placement asked for and refused (a priority without the
		 * right to it) ends the VM with the reason, not a warning. */
		if (sched_place(vm->sched, c->id, c->tid, &err) < 0) {
			vmm_vm_exit(vm, VMM_EXIT_DEVICE, "vCPU %u: %s", c->id, err->msg);
			return NULL;
		}
	}
	/* The vCPU's own seccomp filter before the guest runs a single
	 * instruction on this thread. */
	cleanup_err hk_err *perr = NULL;
	if (hk_thread_enter(HK_THREAD_VCPU, &perr) < 0) {
		vmm_vm_exit(vm, VMM_EXIT_DEVICE, "vCPU %u: %s", c->id, perr->msg);
		return NULL;
	}
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (c->id == 0) {
		vm->first_run_us = hk_now_us() - vm->start_us;
		hk_debug("first-kvm-run-us=%llu", (unsigned long long)vm->first_run_us);
		hk_timeline("kernel-entry");
	}
	for (;;) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (__atomic_load_n(&c->run->immediate_exit, __ATOMIC_SEQ_CST))
					return NULL;
				continue;
			}
			vmm_vm_exit(vm, VMM_EXIT_KVM_ERROR, "KVM_RUN on vCPU %u: %s", c->id,
			            strerror(errno));
			return NULL;
		}
		struct kvm_run *r = c->run;
		switch (r->exit_reason) {
		case KVM_EXIT_IO:
			io_exit(c);
			break;
		case KVM_EXIT_MMIO:
			if (r->mmio.len > 8)
				break;
			vmm_bus_access(&vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
			               r->mmio.is_write);
			break;
		case KVM_EXIT_HLT:
			/* With the in-kernel LAPIC a halt never leaves KVM unless
			 * the guest stopped for good. */
			vmm_vm_exit(vm, VMM_EXIT_RESET, "guest halted");
			return NULL;
		case KVM_EXIT_SHUTDOWN:
			vmm_vm_exit(vm, VMM_EXIT_TRIPLE, "guest triple fault on vCPU %u", c->id);
			return NULL;
		case KVM_EXIT_SYSTEM_EVENT:
			vmm_vm_exit(vm, VMM_EXIT_RESET, "guest system event %u",
			            r->system_event.type);
			return NULL;
		case KVM_EXIT_FAIL_ENTRY:
			vmm_vm_exit(
			        vm, VMM_EXIT_KVM_ERROR,
			        "KVM could not enter the guest on vCPU %u (reason %#llx)", c->id,
			        (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
			return NULL;
		case KVM_EXIT_INTERNAL_ERROR:
			vmm_vm_exit(vm, VMM_EXIT_KVM_ERROR, "KVM internal error %u on vCPU %u",
			            r->internal.suberror, c->id);
			return NULL;
		case KVM_EXIT_INTR:
			if (__atomic_load_n(&r->immediate_exit, __ATOMIC_SEQ_CST))
				return NULL;
			break;
		default:
			vmm_vm_exit(vm, VMM_EXIT_KVM_ERROR, "unexpected KVM exit %u on vCPU %u",
			            r->exit_reason, c->id);
			return NULL;
		}
	}
}

int vmm_vcpus_start(struct vmm_vm *vm, hk_err **err)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigset_t set, old;

	/* No SA_RESTART: the signal must make KVM_RUN return EINTR. */
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return hk_err_set(err, errno, "sigaction");
	/* Threads start with the kick signal blocked and unblock it themselves,
	 * so only they ever take it. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vmm_vcpu *c = &vm->vcpus[i];
		int e = pthread_create(&c->thread, NULL, vcpu_thread, c);
		if (e != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return hk_err_set(err, e, "start vCPU %u", i);
		}
		c->started = true;
	}
	return 0;
}

void vmm_vcpus_stop(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vmm_vcpu *c = &vm->vcpus[i];
		if (!c->started)
			continue;
		__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(c->thread, VCPU_KICK_SIGNAL);
	}
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vmm_vcpu *c = &vm->vcpus[i];
		if (!c->started)
			continue;
		/* A thread blocked in a device callback may need a second kick. */
		while (pthread_tryjoin_np(c->thread, NULL) == EBUSY) {
			pthread_kill(c->thread, VCPU_KICK_SIGNAL);
			usleep(1000);
		}
		c->started = false;
	}
}
