/* CPUID as KVM supports it on this host, with what is per-vCPU filled in:
 * the APIC ids (leaf 1 EBX, leaves 0xb/0x1f EDX) and the hypervisor bit. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "lib/cleanup.h"
#include "vmm/x86/boot.h"

#define CPUID_HYPERVISOR (1u << 31)

int vmm_cpuid_setup(struct vmm_vcpu *c, hk_err **err)
{
	int nent = 128;
	cleanup_free struct kvm_cpuid2 *cpuid = NULL;

	for (;;) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) + (size_t)nent * sizeof(struct kvm_cpuid_entry2));
		if (cpuid == NULL)
			return hk_err_set(err, ENOMEM, "CPUID table");
		cpuid->nent = (uint32_t)nent;
		if (ioctl(c->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG || nent >= 4096)
			return hk_err_set(err, errno, "KVM_GET_SUPPORTED_CPUID");
		nent *= 2;
	}
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (c->vm->nvcpus << 16) | (c->id << 24);
			e->ecx |= CPUID_HYPERVISOR;
			break;
		case 0xb:
		case 0x1f:
			e->edx = c->id;
			break;
		default:
			break;
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		return hk_err_set(err, errno, "KVM_SET_CPUID2");
	return 0;
}
