/* The Intel MultiProcessor table (MP spec 1.4): without ACPI it is how
 * Linux learns the CPUs, the IOAPIC and how ISA interrupts reach it. */
#include <errno.h>
#include <string.h>

#include "vmm/x86/boot.h"
#include "vmm/x86/layout.h"

#define APIC_ADDR   0xfee00000u
#define IOAPIC_ADDR 0xfec00000u
#define IOAPIC_PINS 24

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return (uint8_t)-s;
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int vmm_mptable_write(struct vmm_mem *mem, unsigned ncpus, hk_err **err)
{
	size_t cfg_len = 44 + 20 * ncpus + 8 + 8 + 8 * IOAPIC_PINS + 8 * 2;
	uint8_t *base = vmm_mem_ptr(mem, X86_MPTABLE_ADDR, 16 + cfg_len);
	uint8_t ioapic_id = (uint8_t)ncpus;

	if (base == NULL || ncpus > 254)
		return hk_err_set(err, ERANGE, "MP table for %u CPUs", ncpus);
	memset(base, 0, 16 + cfg_len);

	uint8_t *fp = base, *cfg = base + 16, *e = cfg + 44;
	memcpy(fp, "_MP_", 4);
	le32(fp + 4, (uint32_t)(X86_MPTABLE_ADDR + 16));
	fp[8] = 1; /* length in 16-byte units */
	fp[9] = 4; /* spec revision 1.4 */

	for (unsigned i = 0; i < ncpus; i++, e += 20) {
		e[0] = MP_PROCESSOR;
		e[1] = (uint8_t)i;                   /* local APIC id */
		e[2] = 0x14;                         /* local APIC version */
		e[3] = (uint8_t)(1 | (i == 0) << 1); /* enabled, BSP */
		le32(e + 4, 0x600);                  /* family 6 signature */
		le32(e + 8, 0x201);                  /* FPU, APIC */
	}
	e[0] = MP_BUS;
	memcpy(e + 2, "ISA   ", 6);
	e += 8;
	e[0] = MP_IOAPIC;
	e[1] = ioapic_id;
	e[2] = 0x11;
	e[3] = 1; /* enabled */
	le32(e + 4, IOAPIC_ADDR);
	e += 8;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++, e += 8) {
		e[0] = MP_INTSRC;
		e[1] = MP_INT;
		e[4] = 0;            /* ISA bus */
		e[5] = (uint8_t)pin; /* bus irq */
		e[6] = ioapic_id;
		e[7] = (uint8_t)pin;
	}
	/* LINT0 takes the legacy PIC (ExtINT), LINT1 the NMI, on every CPU. */
	e[0] = MP_LINTSRC;
	e[1] = MP_EXTINT;
	e[6] = 0xff;
	e[7] = 0;
	e += 8;
	e[0] = MP_LINTSRC;
	e[1] = MP_NMI;
	e[6] = 0xff;
	e[7] = 1;
	e += 8;

	memcpy(cfg, "PCMP", 4);
	le16(cfg + 4, (uint16_t)cfg_len);
	cfg[6] = 4;
	memcpy(cfg + 8, "HUSK    ", 8);
	memcpy(cfg + 16, "MICROVM     ", 12);
	le16(cfg + 34, (uint16_t)(ncpus + 1 + 1 + IOAPIC_PINS + 2));
	le32(cfg + 36, APIC_ADDR);
	cfg[7] = checksum(cfg, cfg_len);
	fp[10] = checksum(fp, 16);
	return 0;
}
