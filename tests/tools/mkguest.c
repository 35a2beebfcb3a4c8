/* mkguest: writes tiny PVH "kernels" (32-bit code behind an ELF with the
 * PVH note) that exercise the monitor without booting Linux, so its exits,
 * console, boot timer and signals are tested natively on any KVM, PVM too.
 *
 *   mkguest ok OUT       boot timer, then i8042 reset (a clean exit)
 *   mkguest hello OUT    prints "hello from the guest" on the console, resets
 *   mkguest panic OUT    prints a kernel-panic line, resets
 *   mkguest spin OUT     loops forever (for signals and timeouts)
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LOAD 0x1000000u

static size_t emit_out_str(uint8_t *c, const char *s)
{
	size_t n = 0;
	/* mov edx, 0x3f8 */
	c[n++] = 0xba;
	c[n++] = 0xf8;
	c[n++] = 0x03;
	c[n++] = 0;
	c[n++] = 0;
	for (; *s; s++) {
		c[n++] = 0xb0; /* mov al, imm8 */
		c[n++] = (uint8_t)*s;
		c[n++] = 0xee; /* out dx, al */
	}
	return n;
}

static size_t emit_reset(uint8_t *c)
{
	static const uint8_t r[] = {0xb0, 0xfe, 0xe6, 0x64, 0xf4}; /* out 0x64, 0xfe; hlt */
	memcpy(c, r, sizeof(r));
	return sizeof(r);
}

int main(int argc, char **argv)
{
	static uint8_t f[0x2000];
	uint8_t *code = f + 0x400;
	size_t n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: mkguest ok|hello|panic|spin OUT\n");
		return 1;
	}
	if (strcmp(argv[1], "ok") == 0) {
		/* mov al, 123; mov edx, 0x3f0; out dx, al */
		static const uint8_t t[] = {0xb0, 123, 0xba, 0xf0, 0x03, 0, 0, 0xee};
		memcpy(code, t, sizeof(t));
		n = sizeof(t);
		n += emit_reset(code + n);
	} else if (strcmp(argv[1], "hello") == 0) {
		n = emit_out_str(code, "hello from the guest\n");
		n += emit_reset(code + n);
	} else if (strcmp(argv[1], "panic") == 0) {
		n = emit_out_str(code,
		                 "[    1.0] Kernel panic - not syncing: synthetic test panic\n");
		n += emit_reset(code + n);
	} else if (strcmp(argv[1], "spin") == 0) {
		code[n++] = 0xeb; /* jmp $ */
		code[n++] = 0xfe;
	} else {
		fprintf(stderr, "mkguest: unknown guest `%s`\n", argv[1]);
		return 1;
	}

	Elf64_Ehdr *eh = (void *)f;
	Elf64_Phdr *ph = (void *)(f + sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = LOAD;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
	                     .p_flags = PF_R | PF_X,
	                     .p_offset = 0x400,
	                     .p_vaddr = LOAD,
	                     .p_paddr = LOAD,
	                     .p_filesz = n,
	                     .p_memsz = n,
	                     .p_align = 0x1000};
	ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 20, .p_align = 4};
	/* The Xen PVH entry note: namesz 4 "Xen", descsz 4, type 18. */
	uint32_t note[5] = {4, 4, 18, 0, LOAD};
	memcpy(&note[3], "Xen", 4);
	memcpy(f + 0x200, note, sizeof(note));

	FILE *o = fopen(argv[2], "wb");
	if (o == NULL || fwrite(f, 1, 0x400 + n, o) != 0x400 + n || fclose(o) != 0) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
