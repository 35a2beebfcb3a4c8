/* The machine: a KVM VM with its RAM, in-kernel irqchip and PIT, the two
 * buses, the legacy devices (serial, i8042, boot timer) and one thread per
 * vCPU. How it ended is recorded in `exit` for the monitor's exit status. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/error.h"
#include "vmm/bus.h"
#include "vmm/loop.h"
#include "vmm/mem.h"

#define VMM_MAX_VCPUS 64

enum vmm_exit_kind {
	VMM_EXIT_NONE,
	VMM_EXIT_RESET,     /* the guest rebooted or powered off: clean */
	VMM_EXIT_PANIC,     /* the guest kernel panicked (seen on its console) */
	VMM_EXIT_TRIPLE,    /* triple fault / KVM_EXIT_SHUTDOWN */
	VMM_EXIT_KVM_ERROR, /* KVM refused to run the guest */
	VMM_EXIT_DEVICE,    /* a device failed on the host side */
	VMM_EXIT_SIGNAL,    /* the monitor was asked to stop */
};

struct vmm_vm;

struct vmm_vcpu {
	struct vmm_vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	pid_t tid;
};

struct vmm_serial {
	pthread_mutex_t lock;
	int out_fd; /* where the console goes; -1 drops it */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool thre_pending;
	/* The last console line, to recognise "Kernel panic - not syncing". */
	char line[256];
	size_t line_len;
};

struct vmm_vm {
	int kvm_fd, vm_fd;
	size_t run_size;
	struct vmm_mem mem;
	struct vmm_bus pio, mmio;
	struct vmm_loop *loop;
	unsigned nvcpus;
	struct vmm_vcpu vcpus[VMM_MAX_VCPUS];
	struct vmm_serial serial;
	/* vCPU placement (vmm/sched/); NULL leaves the threads where they start. */
	struct sched *sched;
	uint64_t start_us; /* monitor start, for the boot timer */
	bool boot_timed;
	uint64_t first_run_us; /* first KVM_RUN of vCPU 0 */
	uint64_t boot_time_us;

	pthread_mutex_t exit_lock;
	char panic[200]; /* "Kernel panic - not syncing: …" as the console showed it */
	enum vmm_exit_kind exit_kind;
	char exit_reason[256];
};

int vmm_vm_create(struct vmm_vm *vm, unsigned nvcpus, uint64_t mem_bytes, bool hugepages,
                  struct vmm_loop *loop, int console_fd, hk_err **err);
void vmm_vm_destroy(struct vmm_vm *vm);

/* Records why the VM ends (first caller wins) and stops the event loop. */
void vmm_vm_exit(struct vmm_vm *vm, enum vmm_exit_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Per-vCPU register set-up for the chosen boot protocol (vmm/x86/boot.c). */
int vmm_vcpus_create(struct vmm_vm *vm, hk_err **err);
int vmm_vcpus_start(struct vmm_vm *vm, hk_err **err);
/* Kicks every vCPU out of KVM_RUN and joins the threads. */
void vmm_vcpus_stop(struct vmm_vm *vm);

/* Interrupt lines of the in-kernel irqchip. */
int vmm_irq_pulse(struct vmm_vm *vm, unsigned gsi);
int vmm_irqfd(struct vmm_vm *vm, int fd, unsigned gsi, hk_err **err);
int vmm_ioeventfd(struct vmm_vm *vm, int fd, uint64_t addr, uint32_t len, uint64_t datamatch,
                  hk_err **err);

/* Legacy devices on the port bus. */
int vmm_legacy_register(struct vmm_vm *vm, hk_err **err);

#endif
