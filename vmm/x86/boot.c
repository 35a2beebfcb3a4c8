/* Loading the guest kernel. Two protocols, both without firmware:
 * - PVH (the fast path): an uncompressed ELF vmlinux whose "Xen" note
 *   XEN_ELFNOTE_PHYS32_ENTRY names a 32-bit entry taking hvm_start_info.
 * - bzImage, 64-bit boot protocol (Documentation/x86/boot.rst): the
 *   protected-mode part at 1 MiB, entered at +0x200 in long mode with a
 *   boot_params page.
 * The kernel file is the operator's, but it is still parsed defensively. */
#include "vmm/x86/boot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/util.h"
#include "vmm/x86/layout.h"

#define MAX_KERNEL (512u << 20)
#define MAX_INITRD (1024u << 20)

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MAGIC                0x336ec578u

#define E820_RAM      1
#define E820_RESERVED 2

/* Boot protocol offsets in the setup header / zero page. */
#define BP_E820_ENTRIES   0x1e8
#define BP_SETUP_SECTS    0x1f1
#define BP_VID_MODE       0x1fa
#define BP_JUMP           0x200
#define BP_HEADER         0x202
#define BP_VERSION        0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS      0x211
#define BP_RAMDISK_IMAGE  0x218
#define BP_RAMDISK_SIZE   0x21c
#define BP_HEAP_END_PTR   0x224
#define BP_CMD_LINE_PTR   0x228
#define BP_INITRD_MAX     0x22c
#define BP_XLOADFLAGS     0x236
#define BP_CMDLINE_SIZE   0x238
#define BP_INIT_SIZE      0x260
#define BP_E820_TABLE     0x2d0
#define HDRS_MAGIC        0x53726448u
#define XLF_KERNEL_64     0x1
#define LOADED_HIGH       0x01
#define CAN_USE_HEAP      0x80

struct mem_range {
	uint64_t addr, size;
	uint32_t type;
};

static unsigned memory_map(const struct vmm_mem *mem, struct mem_range *r)
{
	uint64_t low = vmm_mem_low_size(mem);
	unsigned n = 0;

	r[n++] = (struct mem_range){0, X86_EBDA_START, E820_RAM};
	r[n++] = (struct mem_range){X86_EBDA_START, X86_EBDA_END - X86_EBDA_START, E820_RESERVED};
	r[n++] = (struct mem_range){X86_KERNEL_ADDR, low - X86_KERNEL_ADDR, E820_RAM};
	if (mem->size > low)
		r[n++] = (struct mem_range){VMM_MEM_HIGH_START, mem->size - low, E820_RAM};
	return n;
}

/* The host address of guest range [gpa, gpa+len), or NULL with the error. */
static void *guest_range(struct vmm_mem *mem, uint64_t gpa, uint64_t len, const char *what,
                         hk_err **err)
{
	void *dst = vmm_mem_ptr(mem, gpa, len);

	if (dst == NULL)
		hk_err_set(err, ERANGE, "%s (%llu bytes at %#llx) does not fit in guest memory",
		           what, (unsigned long long)len, (unsigned long long)gpa);
	return dst;
}

/* Copies src to guest memory; with src NULL only checks that the range is
 * RAM: the kernel is loaded once, into a new memfd, which reads as zeros
 * already, and writing them would fault in megabytes the guest may never
 * touch (a bzImage's init_size, a vmlinux's .bss). */
static int put(struct vmm_mem *mem, uint64_t gpa, const void *src, uint64_t len, const char *what,
               hk_err **err)
{
	void *dst = guest_range(mem, gpa, len, what, err);

	if (dst == NULL)
		return -1;
	if (src)
		memcpy(dst, src, len);
	return 0;
}

/* The kernel and initramfs are read where they go: each part straight into
 * guest memory with pread, never the whole file into a buffer first. A
 * vmlinux with its symbols is twice what it loads, and under emulation (the
 * nested lab) the extra copies and page faults cost seconds per boot. */
struct src {
	int fd;
	uint64_t size;
	const char *path;
};

static int src_open(struct src *s, const char *path, uint64_t max, hk_err **err)
{
	struct stat st;

	s->path = path;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return hk_err_set(err, errno, "open `%s`", path);
	if (fstat(s->fd, &st) < 0)
		return hk_err_set(err, errno, "stat `%s`", path);
	if (!S_ISREG(st.st_mode))
		return hk_err_set(err, EINVAL, "`%s` is not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return hk_err_set(err, EFBIG, "`%s` is over %llu MiB", path,
		                  (unsigned long long)(max >> 20));
	s->size = (uint64_t)st.st_size;
	return 0;
}

static void src_close(struct src *s)
{
	if (s->fd >= 0)
		close(s->fd);
}

#define cleanup_src __attribute__((cleanup(src_close)))

/* len bytes at off, all of them: a file that shrinks meanwhile is an error. */
static int src_read(const struct src *s, void *dst, uint64_t len, uint64_t off, hk_err **err)
{
	uint8_t *p = dst;

	if (off > s->size || len > s->size - off)
		return hk_err_set(err, 0, "%llu bytes at offset %llu lie outside `%s`",
		                  (unsigned long long)len, (unsigned long long)off, s->path);
	while (len > 0) {
		ssize_t n = pread(s->fd, p, len > (1u << 30) ? (1u << 30) : len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hk_err_set(err, errno, "read `%s`", s->path);
		if (n == 0)
			return hk_err_set(err, EIO, "`%s` shrank while read", s->path);
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Like put, from the file. */
static int load(struct vmm_mem *mem, uint64_t gpa, const struct src *s, uint64_t off, uint64_t len,
                const char *what, hk_err **err)
{
	void *dst = guest_range(mem, gpa, len, what, err);

	return dst ? src_read(s, dst, len, off, err) : -1;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Finds the PVH entry in one PT_NOTE segment. */
static bool pvh_note(const uint8_t *p, uint64_t len, uint64_t *entry)
{
	uint64_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz = rd32(p + off), descsz = rd32(p + off + 4),
		         type = rd32(p + off + 8);
		uint64_t name = off + 12;
		uint64_t desc = name + (((uint64_t)namesz + 3) & ~3ULL);
		uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ULL);
		if (next > len || next <= off)
			return false;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(p + name, "Xen", 4) == 0 && (descsz == 4 || descsz == 8)) {
			*entry = rd32(p + desc);
			return true;
		}
		off = next;
	}
	return false;
}

#define MAX_PHNUM 64
#define MAX_NOTE  (64u << 10)

static int load_elf(struct vmm_mem *mem, const struct src *k, uint64_t *entry, uint64_t *end,
                    hk_err **err)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHNUM];
	bool found = false;

	if (src_read(k, &eh, sizeof(eh), 0, err) < 0)
		return hk_err_wrap(err, "ELF header");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > MAX_PHNUM)
		return hk_err_set(err, 0, "not a 64-bit x86 ELF kernel");
	if (src_read(k, ph, (uint64_t)eh.e_phnum * sizeof(ph[0]), eh.e_phoff, err) < 0)
		return hk_err_wrap(err, "ELF program headers");
	*end = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_offset > k->size || ph[i].p_filesz > k->size - ph[i].p_offset)
			return hk_err_set(err, 0, "ELF segment %u lies outside the file", i);
		if (ph[i].p_type == PT_NOTE && !found && ph[i].p_filesz <= MAX_NOTE) {
			cleanup_free uint8_t *note = malloc(ph[i].p_filesz + 1);
			if (note == NULL)
				return hk_err_set(err, ENOMEM, "ELF note");
			if (src_read(k, note, ph[i].p_filesz, ph[i].p_offset, err) < 0)
				return -1;
			found = pvh_note(note, ph[i].p_filesz, entry);
		}
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz)
			return hk_err_set(err, 0, "ELF segment %u: file size over memory size", i);
		if (load(mem, ph[i].p_paddr, k, ph[i].p_offset, ph[i].p_filesz, "kernel segment",
		         err) < 0 ||
		    put(mem, ph[i].p_paddr + ph[i].p_filesz, NULL, ph[i].p_memsz - ph[i].p_filesz,
		        "kernel segment", err) < 0)
			return -1;
		if (ph[i].p_paddr + ph[i].p_memsz > *end)
			*end = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (!found)
		return hk_err_set(err, 0,
		                  "the ELF kernel has no PVH entry note (build it with "
		                  "CONFIG_PVH, or boot a bzImage)");
	return 0;
}

/* The initramfs goes at the top of low RAM (page aligned), below limit,
 * above the kernel. */
static int load_initrd(struct vmm_vm *vm, const char *path, uint64_t kernel_end, uint64_t limit,
                       uint64_t *addr, uint64_t *size, hk_err **err)
{
	cleanup_src struct src s = {.fd = -1};
	uint64_t top = vmm_mem_low_size(&vm->mem);

	*addr = *size = 0;
	if (path == NULL)
		return 0;
	if (src_open(&s, path, MAX_INITRD, err) < 0)
		return hk_err_wrap(err, "initrd");
	uint64_t len = s.size;
	if (top > limit)
		top = limit;
	if (len > top)
		return hk_err_set(err, ENOMEM, "initrd of %llu bytes does not fit",
		                  (unsigned long long)len);
	uint64_t at = (top - len) & ~0xfffULL;
	if (at < kernel_end)
		return hk_err_set(err, ENOMEM,
		                  "initrd of %llu bytes does not fit above the kernel "
		                  "(give the VM more memory)",
		                  (unsigned long long)len);
	if (load(&vm->mem, at, &s, 0, len, "initrd", err) < 0)
		return -1;
	*addr = at;
	*size = len;
	return 0;
}

static int boot_pvh(struct vmm_vm *vm, const struct src *k, const char *initrd,
                    struct vmm_boot *out, hk_err **err)
{
	uint64_t entry = 0, end = 0, ird, irs;
	struct mem_range map[8];
	uint8_t si[56] = {0}, mod[32] = {0}, mm[24 * 8] = {0};

	if (load_elf(&vm->mem, k, &entry, &end, err) < 0)
		return -1;
	if (load_initrd(vm, initrd, end, UINT64_MAX, &ird, &irs, err) < 0)
		return -1;
	unsigned n = memory_map(&vm->mem, map);
	for (unsigned i = 0; i < n; i++) {
		wr64(mm + 24 * i, map[i].addr);
		wr64(mm + 24 * i + 8, map[i].size);
		wr32(mm + 24 * i + 16, map[i].type);
	}
	wr64(mod, ird);
	wr64(mod + 8, irs);
	wr32(si, PVH_MAGIC);
	wr32(si + 4, 1); /* version 1: has the memory map */
	wr32(si + 12, initrd ? 1 : 0);
	wr64(si + 16, X86_PVH_MODLIST);
	wr64(si + 24, X86_CMDLINE_ADDR);
	wr64(si + 40, X86_PVH_MEMMAP);
	wr32(si + 48, n);
	if (put(&vm->mem, X86_BOOT_INFO_ADDR, si, sizeof(si), "start info", err) < 0 ||
	    put(&vm->mem, X86_PVH_MODLIST, mod, sizeof(mod), "module list", err) < 0 ||
	    put(&vm->mem, X86_PVH_MEMMAP, mm, 24 * n, "memory map", err) < 0)
		return -1;
	*out = (struct vmm_boot){.pvh = true, .entry = entry, .boot_info = X86_BOOT_INFO_ADDR};
	return 0;
}

static int boot_bzimage(struct vmm_vm *vm, const struct src *k, const uint8_t *f,
                        const char *initrd, size_t cmdlen, struct vmm_boot *out, hk_err **err)
{
	uint8_t bp[4096] = {0};
	struct mem_range map[8];
	uint64_t len = k->size;

	if (len < 0x1000 || rd32(f + BP_HEADER) != HDRS_MAGIC)
		return hk_err_set(err, 0, "neither an ELF vmlinux nor a bzImage");
	if (rd16(f + BP_VERSION) < 0x020c || !(rd16(f + BP_XLOADFLAGS) & XLF_KERNEL_64))
		return hk_err_set(err, 0, "bzImage without the 64-bit entry (boot protocol %#x)",
		                  rd16(f + BP_VERSION));
	size_t hdr_end = BP_HEADER + f[BP_JUMP + 1];
	if (f[BP_JUMP] != 0xeb || hdr_end > 0x300)
		return hk_err_set(err, 0, "bzImage setup header is malformed");
	memcpy(bp + BP_SETUP_SECTS, f + BP_SETUP_SECTS, hdr_end - BP_SETUP_SECTS);
	unsigned sects = f[BP_SETUP_SECTS] ? f[BP_SETUP_SECTS] : 4;
	size_t koff = ((size_t)sects + 1) * 512;
	if (koff >= len)
		return hk_err_set(err, 0, "bzImage is truncated");
	uint64_t init_size = rd32(f + BP_INIT_SIZE);
	if (init_size < len - koff)
		init_size = len - koff;
	/* The kernel decompresses in place up to init_size: keep it all RAM. */
	if (put(&vm->mem, X86_KERNEL_ADDR, NULL, init_size, "kernel (init_size)", err) < 0 ||
	    load(&vm->mem, X86_KERNEL_ADDR, k, koff, len - koff, "kernel", err) < 0)
		return -1;
	if (cmdlen + 1 > rd32(f + BP_CMDLINE_SIZE) + 1u)
		return hk_err_set(err, E2BIG,
		                  "kernel command line longer than the kernel takes (%u)",
		                  rd32(f + BP_CMDLINE_SIZE));
	uint64_t ird, irs;
	if (load_initrd(vm, initrd, X86_KERNEL_ADDR + init_size,
	                (uint64_t)rd32(f + BP_INITRD_MAX) + 1, &ird, &irs, err) < 0)
		return -1;
	wr16(bp + BP_VID_MODE, 0xffff);
	bp[BP_TYPE_OF_LOADER] = 0xff;
	bp[BP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	wr16(bp + BP_HEAP_END_PTR, 0xfe00);
	wr32(bp + BP_CMD_LINE_PTR, (uint32_t)X86_CMDLINE_ADDR);
	wr32(bp + BP_RAMDISK_IMAGE, (uint32_t)ird);
	wr32(bp + BP_RAMDISK_SIZE, (uint32_t)irs);
	unsigned n = memory_map(&vm->mem, map);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		wr64(bp + BP_E820_TABLE + 20 * i, map[i].addr);
		wr64(bp + BP_E820_TABLE + 20 * i + 8, map[i].size);
		wr32(bp + BP_E820_TABLE + 20 * i + 16, map[i].type);
	}
	if (put(&vm->mem, X86_BOOT_INFO_ADDR, bp, sizeof(bp), "boot params", err) < 0)
		return -1;
	*out = (struct vmm_boot){
	        .pvh = false, .entry = X86_KERNEL_ADDR + 0x200, .boot_info = X86_BOOT_INFO_ADDR};
	return 0;
}

int vmm_boot_load(struct vmm_vm *vm, const char *kernel, const char *initrd, const char *cmdline,
                  struct vmm_boot *out, hk_err **err)
{
	cleanup_src struct src k = {.fd = -1};
	uint8_t head[0x1000] = {0};
	size_t cmdlen = strlen(cmdline);
	int r;

	if (cmdlen >= X86_CMDLINE_MAX)
		return hk_err_set(err, E2BIG, "kernel command line of %zu bytes is too long",
		                  cmdlen);
	if (src_open(&k, kernel, MAX_KERNEL, err) < 0 ||
	    src_read(&k, head, k.size < sizeof(head) ? k.size : sizeof(head), 0, err) < 0)
		return hk_err_wrap(err, "kernel");
	if (k.size >= 4 && memcmp(head, ELFMAG, SELFMAG) == 0)
		r = boot_pvh(vm, &k, initrd, out, err);
	else
		r = boot_bzimage(vm, &k, head, initrd, cmdlen, out, err);
	if (r < 0)
		return hk_err_wrap(err, "load `%s`", kernel);
	if (put(&vm->mem, X86_CMDLINE_ADDR, cmdline, cmdlen + 1, "command line", err) < 0)
		return -1;
	return vmm_mptable_write(&vm->mem, vm->nvcpus, err);
}
