/* The hostile-guest self-test's shared pieces: the virtio-mmio windows the
 * kernel command line declares, physical memory through /dev/mem, and
 * accesses of an exact width (the compiler must not split or merge them:
 * the width is what the monitor is being tested on). */
#ifndef HUSK_AGENT_HOSTILE_H
#define HUSK_AGENT_HOSTILE_H

#include <stddef.h>
#include <stdint.h>

#define HOSTILE_MAX_DEVS 16

struct hostile_dev {
	uint64_t base, size;
	char name[32];          /* the platform device, "virtio-mmio.N" */
	volatile uint8_t *regs; /* base mapped through /dev/mem */
	uint32_t device_id;     /* read once the window is mapped */
};

/* Maps len bytes of physical memory at pa (page aligned) through /dev/mem;
 * NULL with why filled when the kernel refuses. */
volatile uint8_t *hostile_map(uint64_t pa, size_t len, char *why, size_t why_len);
void hostile_unmap(volatile uint8_t *p, size_t len);

static inline void hostile_write(volatile uint8_t *p, unsigned width, uint64_t v)
{
	switch (width) {
	case 1:
		__asm__ volatile("movb %b1, %0" : "=m"(*p) : "q"((uint8_t)v) : "memory");
		break;
	case 2:
		__asm__ volatile("movw %w1, %0" : "=m"(*p) : "r"((uint16_t)v) : "memory");
		break;
	case 4:
		__asm__ volatile("movl %k1, %0" : "=m"(*p) : "r"((uint32_t)v) : "memory");
		break;
	default:
		__asm__ volatile("movq %1, %0" : "=m"(*p) : "r"(v) : "memory");
		break;
	}
}

static inline uint64_t hostile_read(volatile uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	switch (width) {
	case 1: {
		uint8_t b;
		__asm__ volatile("movb %1, %0" : "=q"(b) : "m"(*p) : "memory");
		v = b;
		break;
	}
	case 2: {
		uint16_t w;
		__asm__ volatile("movw %1, %0" : "=r"(w) : "m"(*p) : "memory");
		v = w;
		break;
	}
	case 4: {
		uint32_t l;
		__asm__ volatile("movl %1, %0" : "=r"(l) : "m"(*p) : "memory");
		v = l;
		break;
	}
	default:
		__asm__ volatile("movq %1, %0" : "=r"(v) : "m"(*p) : "memory");
		break;
	}
	return v;
}

/* A garbage value: boundary values and pseudo-random ones in turn. */
uint64_t hostile_garbage(void);

/* Malformed virtqueues fed to every device the monitor serves itself
 * (selftest_hostile_virtq.c); counts the rejected ones in *rejected. */
int hostile_virtqueues(struct hostile_dev *devs, unsigned n, unsigned *rejected, char *why,
                       size_t len);

#endif
