/* A vCPU's state at the kernel's first instruction: flat segments from a
 * small GDT, and either 32-bit protected mode without paging (PVH) or long
 * mode with identity page tables over the first 4 GiB (bzImage). */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/x86/boot.h"
#include "vmm/x86/layout.h"

#define CR0_PE   0x1ULL
#define CR0_ET   0x10ULL
#define CR0_PG   0x80000000ULL
#define CR4_PAE  0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define MSR_IA32_MISC_ENABLE    0x1a0
#define MISC_ENABLE_FAST_STRING 0x1

#define APIC_LVT_LINT0   0x350
#define APIC_LVT_LINT1   0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

/* GDT entries: flags/type in the 0xf0ff-shaped "access" word, as in the
 * descriptor layout (G, D/B, L, AVL | P, DPL, S, type). */
#define GDT_CODE64 0xa09bu
#define GDT_CODE32 0xc09bu
#define GDT_DATA   0xc093u
#define GDT_TSS    0x808bu

enum { SEL_CODE = 0x10, SEL_DATA = 0x18, SEL_TSS = 0x20 };

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

static struct kvm_segment segment(uint64_t e, uint16_t sel)
{
	uint32_t limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000));
	bool g = (e >> 55) & 1;

	return (struct kvm_segment){
	        .base = (uint32_t)(((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24)),
	        .limit = g ? (limit << 12) | 0xfff : limit,
	        .selector = sel,
	        .type = (uint8_t)((e >> 40) & 0xf),
	        .present = (uint8_t)((e >> 47) & 1),
	        .dpl = (uint8_t)((e >> 45) & 3),
	        .db = (uint8_t)((e >> 54) & 1),
	        .s = (uint8_t)((e >> 44) & 1),
	        .l = (uint8_t)((e >> 53) & 1),
	        .g = g,
	        .avl = (uint8_t)((e >> 52) & 1),
	};
}

static int write_page_tables(struct vmm_mem *mem, hk_err **err)
{
	uint64_t *pml4 = vmm_mem_ptr(mem, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = vmm_mem_ptr(mem, X86_PDPT_ADDR, 4096);
	uint64_t *pd = vmm_mem_ptr(mem, X86_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return hk_err_set(err, ERANGE, "page tables outside guest memory");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | 0x3; /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	return 0;
}

static int set_lint(struct vmm_vcpu *c, hk_err **err)
{
	struct kvm_lapic_state lapic;

	if (ioctl(c->fd, KVM_GET_LAPIC, &lapic) < 0)
		return hk_err_set(err, errno, "KVM_GET_LAPIC");
	uint32_t v;
	memcpy(&v, lapic.regs + APIC_LVT_LINT0, 4);
	v = (v & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(lapic.regs + APIC_LVT_LINT0, &v, 4);
	memcpy(&v, lapic.regs + APIC_LVT_LINT1, 4);
	v = (v & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(lapic.regs + APIC_LVT_LINT1, &v, 4);
	if (ioctl(c->fd, KVM_SET_LAPIC, &lapic) < 0)
		return hk_err_set(err, errno, "KVM_SET_LAPIC");
	return 0;
}

int vmm_boot_setup_vcpu(struct vmm_vcpu *c, const struct vmm_boot *b, hk_err **err)
{
	struct vmm_mem *mem = &c->vm->mem;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 0x2};
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	/* struct kvm_msrs ends in a flexible array: give it room for one. */
	union {
		struct kvm_msrs hdr;
		uint8_t room[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} msrs = {.hdr.nmsrs = 1};
	uint64_t gdt[5] = {
	        0,
	        0,
	        gdt_entry(b->pvh ? GDT_CODE32 : GDT_CODE64, 0, 0xfffff),
	        gdt_entry(GDT_DATA, 0, 0xfffff),
	        gdt_entry(GDT_TSS, 0, 0xfffff),
	};

	msrs.hdr.entries[0] = (struct kvm_msr_entry){.index = MSR_IA32_MISC_ENABLE,
	                                             .data = MISC_ENABLE_FAST_STRING};
	if (set_lint(c, err) < 0)
		return -1;
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return hk_err_set(err, errno, "KVM_SET_FPU");
	if (ioctl(c->fd, KVM_SET_MSRS, &msrs) != 1)
		return hk_err_set(err, errno, "KVM_SET_MSRS");
	/* Application processors wait for INIT/SIPI from the BSP; the
	 * in-kernel LAPIC resets their registers then. */
	if (c->id != 0)
		return 0;

	uint8_t *g = vmm_mem_ptr(mem, X86_GDT_ADDR, sizeof(gdt));
	if (g == NULL)
		return hk_err_set(err, ERANGE, "GDT outside guest memory");
	memcpy(g, gdt, sizeof(gdt));
	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
		return hk_err_set(err, errno, "KVM_GET_SREGS");
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cs = segment(gdt[2], SEL_CODE);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = segment(gdt[3], SEL_DATA);
	sregs.tr = segment(gdt[4], SEL_TSS);
	if (b->pvh) {
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = b->boot_info;
	} else {
		if (write_page_tables(mem, err) < 0)
			return -1;
		sregs.cr3 = X86_PML4_ADDR;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
		regs.rsi = b->boot_info;
	}
	regs.rip = b->entry;
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
		return hk_err_set(err, errno, "KVM_SET_SREGS");
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
		return hk_err_set(err, errno, "KVM_SET_REGS");
	return 0;
}
