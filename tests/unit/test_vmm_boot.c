/* Kernel loading and the boot structures, on synthetic kernels in real
 * (memfd) guest memory: no KVM needed. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "vmm/x86/boot.h"
#include "vmm/x86/layout.h"

static char dir[] = "/tmp/husk-test-boot-XXXXXX";

static int write_tmp(const char *name, const void *buf, size_t len, char **path)
{
	cleanup_err hk_err *err = NULL;

	if (asprintf(path, "%s/%s", dir, name) < 0)
		return -1;
	return hk_write_file_atomic(*path, buf, len, 0644, &err);
}

static int vm_with_mem(struct vmm_vm *vm, uint64_t mib)
{
	cleanup_err hk_err *err = NULL;

	memset(vm, 0, sizeof(*vm));
	vm->nvcpus = 2;
	if (vmm_mem_create(&vm->mem, mib << 20, false, &err) < 0) {
		printf("#   %s\n", err->msg);
		return -1;
	}
	return 0;
}

/* An ELF with one PT_LOAD at 16 MiB and a PVH note. */
static size_t make_elf(uint8_t *f, uint64_t paddr, uint32_t entry, bool note)
{
	Elf64_Ehdr *eh = (void *)f;
	Elf64_Phdr *ph = (void *)(f + sizeof(*eh));
	uint8_t *n = f + 0x200, *code = f + 0x400;

	memset(f, 0, 0x1000);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
	                     .p_offset = 0x400,
	                     .p_paddr = paddr,
	                     .p_filesz = 16,
	                     .p_memsz = 4096};
	ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = note ? 20 : 0};
	uint32_t hdr[3] = {4, 4, 18};
	memcpy(n, hdr, 12);
	memcpy(n + 12, "Xen", 4);
	memcpy(n + 16, &entry, 4);
	memset(code, 0x90, 16);
	return 0x1000;
}

static int test_pvh(void)
{
	struct vmm_vm vm;
	struct vmm_boot b;
	cleanup_err hk_err *err = NULL;
	cleanup_free char *kpath = NULL, *ipath = NULL;
	uint8_t f[0x1000];

	CHECK(vm_with_mem(&vm, 64) == 0);
	CHECK(write_tmp("vmlinux", f, make_elf(f, 16 << 20, 0x1000123, true), &kpath) == 0);
	CHECK(write_tmp("initrd", "INITRD-BYTES", 12, &ipath) == 0);
	CHECK(vmm_boot_load(&vm, kpath, ipath, "console=ttyS0 x=1", &b, &err) == 0);
	CHECK(b.pvh && b.entry == 0x1000123 && b.boot_info == X86_BOOT_INFO_ADDR);
	uint8_t *si = vmm_mem_ptr(&vm.mem, X86_BOOT_INFO_ADDR, 56);
	uint32_t magic, nmod, nmap;
	uint64_t cmd, mod, ird, irs;
	memcpy(&magic, si, 4);
	memcpy(&nmod, si + 12, 4);
	memcpy(&mod, si + 16, 8);
	memcpy(&cmd, si + 24, 8);
	memcpy(&nmap, si + 48, 4);
	CHECK(magic == 0x336ec578 && nmod == 1 && nmap == 3);
	CHECK_STR((char *)vmm_mem_ptr(&vm.mem, cmd, 1), "console=ttyS0 x=1");
	memcpy(&ird, vmm_mem_ptr(&vm.mem, mod, 8), 8);
	memcpy(&irs, vmm_mem_ptr(&vm.mem, mod + 8, 8), 8);
	CHECK(irs == 12 && ird % 4096 == 0 && ird + irs <= 64 << 20 && ird >= (16 << 20) + 4096);
	CHECK(memcmp(vmm_mem_ptr(&vm.mem, ird, 12), "INITRD-BYTES", 12) == 0);
	CHECK(*(uint8_t *)vmm_mem_ptr(&vm.mem, 16 << 20, 1) == 0x90);
	/* The MP table: floating pointer and config table with valid sums. */
	uint8_t *fp = vmm_mem_ptr(&vm.mem, X86_MPTABLE_ADDR, 16);
	CHECK(memcmp(fp, "_MP_", 4) == 0);
	uint8_t s = 0;
	for (int i = 0; i < 16; i++)
		s = (uint8_t)(s + fp[i]);
	CHECK(s == 0);
	uint8_t *cfg = vmm_mem_ptr(&vm.mem, X86_MPTABLE_ADDR + 16, 44);
	uint16_t clen;
	memcpy(&clen, cfg + 4, 2);
	s = 0;
	for (int i = 0; i < clen; i++)
		s = (uint8_t)(s + cfg[i]);
	CHECK(memcmp(cfg, "PCMP", 4) == 0 && s == 0);
	CHECK(cfg[44] == 0 && cfg[44 + 1] == 0 && cfg[44 + 20 + 1] == 1); /* two CPUs */
	vmm_mem_destroy(&vm.mem);
	return 0;
}

static int test_bad_kernels(void)
{
	struct vmm_vm vm;
	struct vmm_boot b;
	cleanup_err hk_err *err = NULL;
	cleanup_free char *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = NULL;
	uint8_t f[0x1000];

	CHECK(vm_with_mem(&vm, 32) == 0);
	/* No PVH note. */
	CHECK(write_tmp("nonote", f, make_elf(f, 16 << 20, 1, false), &p1) == 0);
	CHECK(vmm_boot_load(&vm, p1, NULL, "", &b, &err) < 0);
	CHECK(strstr(err->msg, "no PVH entry note") != NULL);
	hk_err_free(&err);
	/* A segment beyond guest memory. */
	CHECK(write_tmp("far", f, make_elf(f, 1ULL << 35, 1, true), &p2) == 0);
	CHECK(vmm_boot_load(&vm, p2, NULL, "", &b, &err) < 0);
	CHECK(strstr(err->msg, "does not fit in guest memory") != NULL);
	hk_err_free(&err);
	/* Cut short: the program headers lie past the end. */
	make_elf(f, 16 << 20, 1, true);
	CHECK(write_tmp("short", f, 80, &p4) == 0);
	CHECK(vmm_boot_load(&vm, p4, NULL, "", &b, &err) < 0);
	CHECK(strstr(err->msg, "lie outside") != NULL);
	hk_err_free(&err);
	/* Neither ELF nor bzImage. */
	memset(f, 'x', sizeof(f));
	CHECK(write_tmp("junk", f, sizeof(f), &p3) == 0);
	CHECK(vmm_boot_load(&vm, p3, NULL, "", &b, &err) < 0);
	CHECK(strstr(err->msg, "neither an ELF vmlinux nor a bzImage") != NULL);
	vmm_mem_destroy(&vm.mem);
	return 0;
}

static int test_bzimage(void)
{
	struct vmm_vm vm;
	struct vmm_boot b;
	cleanup_err hk_err *err = NULL;
	cleanup_free char *p = NULL;
	size_t len = 0x3000;
	cleanup_free uint8_t *f = calloc(1, len);

	CHECK(f && vm_with_mem(&vm, 64) == 0);
	f[0x1f1] = 1; /* one setup sector: kernel at 0x400 */
	f[0x200] = 0xeb;
	f[0x201] = 0x66;
	memcpy(f + 0x202, "HdrS", 4);
	f[0x206] = 0x0f; /* protocol 2.15 */
	f[0x207] = 0x02;
	f[0x236] = 1; /* XLF_KERNEL_64 */
	uint32_t cmdsz = 2047, imax = 0x7fffffff, isz = 0x10000;
	memcpy(f + 0x238, &cmdsz, 4);
	memcpy(f + 0x22c, &imax, 4);
	memcpy(f + 0x260, &isz, 4);
	f[0x400] = 0xcc;
	CHECK(write_tmp("bzImage", f, len, &p) == 0);
	CHECK(vmm_boot_load(&vm, p, NULL, "root=/dev/vda", &b, &err) == 0);
	CHECK(!b.pvh && b.entry == 0x100200);
	uint8_t *bp = vmm_mem_ptr(&vm.mem, X86_BOOT_INFO_ADDR, 4096);
	uint32_t cmd;
	memcpy(&cmd, bp + 0x228, 4);
	CHECK(cmd == X86_CMDLINE_ADDR && bp[0x210] == 0xff && bp[0x1e8] == 3);
	CHECK(*(uint8_t *)vmm_mem_ptr(&vm.mem, 0x100000, 1) == 0xcc);
	vmm_mem_destroy(&vm.mem);
	return 0;
}

static int test_mem_ptr_bounds(void)
{
	struct vmm_vm vm;

	CHECK(vm_with_mem(&vm, 16) == 0);
	CHECK(vmm_mem_ptr(&vm.mem, 0, 16 << 20) != NULL);
	CHECK(vmm_mem_ptr(&vm.mem, 1, 16 << 20) == NULL);
	CHECK(vmm_mem_ptr(&vm.mem, (16 << 20) - 1, 1) != NULL);
	CHECK(vmm_mem_ptr(&vm.mem, UINT64_MAX, 2) == NULL); /* wraps */
	CHECK(vmm_mem_ptr(&vm.mem, VMM_MEM_HIGH_START, 1) == NULL);
	vmm_mem_destroy(&vm.mem);
	return 0;
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN_TEST(test_pvh);
	RUN_TEST(test_bad_kernels);
	RUN_TEST(test_bzimage);
	RUN_TEST(test_mem_ptr_bounds);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	TAP_DONE();
}
