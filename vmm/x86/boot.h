/* Direct kernel boot: an ELF vmlinux through its PVH entry (the fast path,
 * no decompression) or a bzImage through the 64-bit boot protocol. */
#ifndef VMM_X86_BOOT_H
#define VMM_X86_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "vmm/vm.h"

struct vmm_boot {
	bool pvh;           /* 32-bit PVH entry, ebx = start info */
	uint64_t entry;     /* first instruction */
	uint64_t boot_info; /* hvm_start_info or boot_params */
};

/* Loads kernel (ELF with a PVH note, or bzImage) and initrd (may be NULL)
 * into guest memory, writes the command line, memory map and MP table. The
 * memory must be fresh (all zeros): .bss and the like are not written. */
int vmm_boot_load(struct vmm_vm *vm, const char *kernel, const char *initrd, const char *cmdline,
                  struct vmm_boot *out, hk_err **err);

/* Registers, segments, FPU, MSRs and LAPIC of one vCPU for that boot. */
int vmm_boot_setup_vcpu(struct vmm_vcpu *c, const struct vmm_boot *b, hk_err **err);

/* CPUID for one vCPU, from KVM_GET_SUPPORTED_CPUID with its APIC id. */
int vmm_cpuid_setup(struct vmm_vcpu *c, hk_err **err);

/* The MP table that tells Linux (no ACPI) about the CPUs and IOAPIC. */
int vmm_mptable_write(struct vmm_mem *mem, unsigned ncpus, hk_err **err);

#endif
