/* The KVM VM: /dev/kvm, guest RAM slots, in-kernel irqchip and PIT, and
 * the bookkeeping of how the VM ended. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

/* Where KVM may put its private pages (Intel needs them below 4 GiB and
 * outside RAM); they sit in the hole under the LAPIC/IOAPIC. */
#define KVM_TSS_ADDR          0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

static int set_slot(struct vmm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
                    hk_err **err)
{
	struct kvm_userspace_memory_region r = {
	        .slot = slot,
	        .guest_phys_addr = gpa,
	        .memory_size = size,
	        .userspace_addr = (uint64_t)(uintptr_t)host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return hk_err_set(err, errno, "KVM_SET_USER_MEMORY_REGION slot %u", slot);
	return 0;
}

int vmm_vm_create(struct vmm_vm *vm, unsigned nvcpus, uint64_t mem_bytes, bool hugepages,
                  struct vmm_loop *loop, int console_fd, hk_err **err)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	vm->mem.fd = -1;
	vm->loop = loop;
	vm->nvcpus = nvcpus;
	vm->serial.out_fd = console_fd;
	vm->start_us = hk_now_us();
	pthread_mutex_init(&vm->exit_lock, NULL);
	pthread_mutex_init(&vm->serial.lock, NULL);
	if (nvcpus == 0 || nvcpus > VMM_MAX_VCPUS)
		return hk_err_set(err, EINVAL, "%u vCPUs: want 1 to %d", nvcpus, VMM_MAX_VCPUS);

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return hk_err_set(err, errno, "open /dev/kvm");
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		return hk_err_set(err, 0, "KVM API version %d, want %d", api, KVM_API_VERSION);
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
	        {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
	        {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
	        {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
	        {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
	        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	        {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
			return hk_err_set(err, 0, "KVM lacks %s", needed[i].name);
	int rs = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (rs < (int)sizeof(struct kvm_run))
		return hk_err_set(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)rs;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return hk_err_set(err, errno, "KVM_CREATE_VM");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return hk_err_set(err, errno, "KVM_SET_TSS_ADDR");
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return hk_err_set(err, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return hk_err_set(err, errno, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return hk_err_set(err, errno, "KVM_CREATE_PIT2");

	if (vmm_mem_create(&vm->mem, mem_bytes, hugepages, err) < 0)
		return -1;
	uint64_t low = vmm_mem_low_size(&vm->mem);
	if (set_slot(vm, 0, 0, low, vm->mem.host, err) < 0)
		return -1;
	if (vm->mem.size > low &&
	    set_slot(vm, 1, VMM_MEM_HIGH_START, vm->mem.size - low, vm->mem.host + low, err) < 0)
		return -1;
	return 0;
}

void vmm_vm_destroy(struct vmm_vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vmm_vcpu *c = &vm->vcpus[i];
		if (c->run)
			munmap(c->run, vm->run_size);
		if (c->fd > 0)
			close(c->fd);
		c->run = NULL;
		c->fd = -1;
	}
	vmm_mem_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

void vmm_vm_exit(struct vmm_vm *vm, enum vmm_exit_kind kind, const char *fmt, ...)
{
	va_list ap;
	bool first = false;

	pthread_mutex_lock(&vm->exit_lock);
	/* A panic seen on the console explains the reset that follows it. */
	if (kind == VMM_EXIT_RESET && vm->panic[0] != '\0') {
		pthread_mutex_unlock(&vm->exit_lock);
		vmm_vm_exit(vm, VMM_EXIT_PANIC, "guest kernel panic: %s", vm->panic);
		return;
	}
	if (vm->exit_kind == VMM_EXIT_NONE) {
		vm->exit_kind = kind;
		va_start(ap, fmt);
		vsnprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, ap);
		va_end(ap);
		first = true;
	}
	pthread_mutex_unlock(&vm->exit_lock);
	if (first && vm->loop)
		vmm_loop_stop(vm->loop, (int)kind);
}

int vmm_irq_pulse(struct vmm_vm *vm, unsigned gsi)
{
	struct kvm_irq_level l = {.irq = gsi, .level = 1};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -1;
	l.level = 0;
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

int vmm_irqfd(struct vmm_vm *vm, int fd, unsigned gsi, hk_err **err)
{
	struct kvm_irqfd f = {.fd = (uint32_t)fd, .gsi = gsi};

	if (ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0)
		return hk_err_set(err, errno, "KVM_IRQFD gsi %u", gsi);
	return 0;
}

int vmm_ioeventfd(struct vmm_vm *vm, int fd, uint64_t addr, uint32_t len, uint64_t datamatch,
                  hk_err **err)
{
	struct kvm_ioeventfd e = {
	        .datamatch = datamatch,
	        .addr = addr,
	        .len = len,
	        .fd = fd,
	        .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &e) < 0)
		return hk_err_set(err, errno, "KVM_IOEVENTFD at %#llx", (unsigned long long)addr);
	return 0;
}
