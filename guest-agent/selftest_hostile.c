/* husk.selftest=hostile: guest root attacks its own monitor.
 *   1. unbinds every virtio-mmio driver, so the registers are the test's;
 *   2. feeds each device the monitor serves malformed virtqueues
 *      (selftest_hostile_virtq.c), each of which must be refused;
 *   3. writes garbage (boundary and pseudo-random values, widths 1, 2, 4
 *      and 8, aligned or not) to every byte of every device's register
 *      window, then to unassigned MMIO: the rest of each device's page,
 *      past the last device, just past RAM, below 4 GiB and far above;
 *      unassigned reads must return all ones;
 *   4. writes garbage to every I/O port, 0 to 0xffff, at widths 1, 2 and 4
 *      and with rep outs, and reads each back.
 * Two things are left out on purpose. The i8042 command port (0x64) never
 * gets 0xfe: that is the reset line, the guest's documented way to end the
 * VM cleanly, and the reboot at the end of the test takes it anyway. The
 * devices KVM emulates in the kernel (PIC, PIT, speaker port, ELCR, LAPIC,
 * IOAPIC) never reach the monitor, and garbage there only breaks the
 * guest's own interrupts and clock. The serial port gets its garbage like
 * any other (a few stray bytes on the console) and its registers are put
 * back afterwards so the result line gets out.
 * The monitor must still be running to print the result, and after the
 * agent's reboot it must exit cleanly; the lab test checks that side. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "guest-agent/agent.h"
#include "guest-agent/hostile.h"
#include "guest-agent/selftest.h"

#define PAGE          4096
#define I8042_CMD     0x64
#define I8042_RESET   0xfe
#define SERIAL_BASE   0x3f8
#define REG_DEVICE_ID 0x008
#define REG_MAGIC     0x000
#define VIRTIO_MAGIC  0x74726976

static uint64_t rng_state;

uint64_t hostile_garbage(void)
{
	static const uint64_t edge[] = {
	        0,          1,      0x7f,       0x80,       0xff,
	        0x7fff,     0x8000, 0xffff,     0x7fffffff, 0x80000000,
	        0xffffffff, ~0ULL,  1ULL << 63, 0x100,      0xfffffffe,
	        0xdeadbeef, 0x3ff,  0x400,      0x401,      0xfffffffffffff000ULL,
	};
	static unsigned n;

	n++;
	if (n % 2)
		return edge[(n / 2) % (sizeof(edge) / sizeof(edge[0]))];
	/* xorshift64: reproducible from the seed the test prints. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

volatile uint8_t *hostile_map(uint64_t pa, size_t len, char *why, size_t why_len)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "open /dev/mem: %s", strerror(errno));
		return NULL;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)pa);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(why, why_len, "map %#llx through /dev/mem: %s", (unsigned long long)pa,
		         strerror(e));
		return NULL;
	}
	return p;
}

void hostile_unmap(volatile uint8_t *p, size_t len)
{
	munmap((void *)(uintptr_t)p, len);
}

/* virtio_mmio.device=SIZE@BASE:IRQ, in command line order, which is the
 * order the kernel numbers its platform devices (virtio-mmio.N). */
static unsigned find_devices(struct hostile_dev *devs)
{
	char line[4096];
	unsigned n = 0;
	FILE *f = fopen("/proc/cmdline", "re");

	if (f == NULL)
		return 0;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	for (char *save = NULL, *w = strtok_r(line, " \n", &save); w && n < HOSTILE_MAX_DEVS;
	     w = strtok_r(NULL, " \n", &save)) {
		unsigned long long size, base;
		if (sscanf(w, "virtio_mmio.device=%lli@%lli", &size, &base) != 2)
			continue;
		devs[n] = (struct hostile_dev){.base = base, .size = size};
		snprintf(devs[n].name, sizeof(devs[n].name), "virtio-mmio.%u", n);
		n++;
	}
	return n;
}

/* The driver lets go of the device (and resets it): the registers, and
 * the region /dev/mem refuses while a driver holds it, are the test's. */
static int unbind(const struct hostile_dev *d, char *why, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/driver", d->name);
	if (access(path, F_OK) != 0)
		return 0; /* never bound: no driver took it */
	int fd = open("/sys/bus/platform/drivers/virtio-mmio/unbind", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, d->name, strlen(d->name)) < 0) {
		snprintf(why, len, "unbind %s: %s", d->name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Every width at every offset of the window, aligned or not, each access
 * followed by a read of the same width. */
static void garble(volatile uint8_t *p, uint64_t len)
{
	static const unsigned widths[] = {1, 2, 4, 8};

	for (uint64_t off = 0; off < len; off++)
		for (unsigned w = 0; w < 4; w++) {
			if (off + widths[w] > PAGE)
				continue; /* stays on the mapped page */
			hostile_write(p + off, widths[w], hostile_garbage());
			(void)hostile_read(p + off, widths[w]);
		}
}

/* Unassigned MMIO: writes vanish, reads are all ones. */
static int unassigned(uint64_t pa, char *why, size_t len)
{
	static const unsigned offs[] = {0, 1, 0x7f8, 0xff8};
	volatile uint8_t *p = hostile_map(pa & ~(uint64_t)(PAGE - 1), PAGE, why, len);

	if (p == NULL)
		return -1;
	p += pa & (PAGE - 1);
	for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		if ((pa & (PAGE - 1)) + offs[i] + 8 > PAGE)
			continue;
		for (unsigned w = 1; w <= 8; w *= 2) {
			hostile_write(p + offs[i], w, hostile_garbage());
			uint64_t v = hostile_read(p + offs[i], w);
			uint64_t ones = w == 8 ? ~0ULL : (1ULL << (8 * w)) - 1;
			if (v != ones) {
				snprintf(why, len, "unassigned MMIO %#llx read %#llx",
				         (unsigned long long)(pa + offs[i]), (unsigned long long)v);
				hostile_unmap(p - (pa & (PAGE - 1)), PAGE);
				return -1;
			}
		}
	}
	hostile_unmap(p - (pa & (PAGE - 1)), PAGE);
	return 0;
}

static int mmio(struct hostile_dev *devs, unsigned n, char *why, size_t len)
{
	uint64_t last = 0;

	for (unsigned i = 0; i < n; i++) {
		garble(devs[i].regs, devs[i].size);
		/* The rest of the device's page, which nothing claims. */
		if (unassigned(devs[i].base + devs[i].size, why, len) < 0)
			return -1;
		if (devs[i].base + PAGE > last)
			last = devs[i].base + PAGE;
	}
	long pages = sysconf(_SC_PHYS_PAGES);
	uint64_t ram = (uint64_t)(pages > 0 ? pages : 0) * PAGE;
	/* Past the last device, a page beyond what the kernel reports as RAM
	 * (rounded up to 64 MiB, past anything it keeps for itself), the top
	 * page below 4 GiB free of the APICs, 4 GiB and 64 GiB. */
	const uint64_t holes[] = {last + PAGE,   ((ram >> 26) + 2) << 26,
	                          0xfed00000ULL, 0xffff0000ULL,
	                          1ULL << 32,    1ULL << 36};
	for (unsigned i = 0; i < sizeof(holes) / sizeof(holes[0]); i++)
		if (unassigned(holes[i], why, len) < 0)
			return -1;
	return 0;
}

/* Ports KVM emulates in the kernel: they never reach the monitor. */
static bool in_kernel_port(unsigned port)
{
	return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 ||
	       (port >= 0x40 && port <= 0x43) || port == 0x61 || port == 0x4d0 || port == 0x4d1;
}

static void out_width(unsigned port, unsigned w, uint32_t v)
{
	if (port == I8042_CMD && (v & 0xff) == I8042_RESET)
		v ^= 1; /* not the reset line: see the top of the file */
	if (w == 1)
		outb((uint8_t)v, (uint16_t)port);
	else if (w == 2)
		outw((uint16_t)v, (uint16_t)port);
	else
		outl(v, (uint16_t)port);
}

/* String I/O: one exit carrying many values, which the monitor walks. */
static void rep_out(unsigned port)
{
	uint32_t buf[64];
	uint8_t *bytes = (uint8_t *)buf;

	for (unsigned i = 0; i < 64; i++)
		buf[i] = (uint32_t)hostile_garbage();
	/* outsb sends every byte on its own: none may be the reset. */
	for (unsigned i = 0; port == I8042_CMD && i < sizeof(buf); i++)
		if (bytes[i] == I8042_RESET)
			bytes[i] ^= 1;
	const void *s = buf;
	unsigned long c = 64;
	__asm__ volatile("rep outsb" : "+S"(s), "+c"(c) : "d"((uint16_t)port) : "memory");
	s = buf, c = 32;
	__asm__ volatile("rep outsw" : "+S"(s), "+c"(c) : "d"((uint16_t)port) : "memory");
	s = buf, c = 16;
	__asm__ volatile("rep outsl" : "+S"(s), "+c"(c) : "d"((uint16_t)port) : "memory");
	void *dst = buf;
	c = 64;
	__asm__ volatile("rep insb" : "+D"(dst), "+c"(c) : "d"((uint16_t)port) : "memory");
}

struct uart {
	uint8_t lcr, mcr, ier, dll, dlm;
};

static void uart_save(struct uart *u)
{
	u->lcr = inb(SERIAL_BASE + 3);
	u->mcr = inb(SERIAL_BASE + 4);
	outb(u->lcr | 0x80, SERIAL_BASE + 3);
	u->dll = inb(SERIAL_BASE);
	u->dlm = inb(SERIAL_BASE + 1);
	outb(u->lcr & 0x7f, SERIAL_BASE + 3);
	u->ier = inb(SERIAL_BASE + 1);
}

static void uart_restore(const struct uart *u)
{
	outb(0x80, SERIAL_BASE + 3);
	outb(u->dll, SERIAL_BASE);
	outb(u->dlm, SERIAL_BASE + 1);
	outb(u->lcr & 0x7f, SERIAL_BASE + 3);
	outb(u->mcr, SERIAL_BASE + 4);
	outb(u->ier, SERIAL_BASE + 1);
}

static int pio(char *why, size_t len)
{
	static const unsigned rep_ports[] = {0x80, 0x3f0, SERIAL_BASE, I8042_CMD,
	                                     0x60, 0xcf8, 0xffff};
	struct uart u;

	if (iopl(3) < 0) {
		snprintf(why, len, "iopl(3): %s", strerror(errno));
		return -1;
	}
	/* Whatever the console still has to send goes out before the UART
	 * gets garbage. */
	fflush(stdout);
	tcdrain(STDOUT_FILENO);
	uart_save(&u);
	for (unsigned port = 0; port <= 0xffff; port++) {
		if (in_kernel_port(port))
			continue;
		for (unsigned w = 1; w <= 4; w *= 2)
			if (port + w <= 0x10000)
				out_width(port, w, (uint32_t)hostile_garbage());
		(void)inb((uint16_t)port);
	}
	for (unsigned i = 0; i < sizeof(rep_ports) / sizeof(rep_ports[0]); i++)
		rep_out(rep_ports[i]);
	uart_restore(&u);
	/* Ends whatever partial line the garbage left on the console, so the
	 * result lines start on their own. */
	agent_say("%s", "");
	return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int selftest_hostile(char *why, size_t len)
{
	struct hostile_dev devs[HOSTILE_MAX_DEVS];
	unsigned n = find_devices(devs), rejected = 0;
	char buf[32];
	struct timespec t0;

	if (agent_cmdline_get("husk.hostile.seed", buf, sizeof(buf)))
		rng_state = strtoull(buf, NULL, 0);
	else if (getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state))
		rng_state = (uint64_t)time(NULL);
	if (rng_state == 0)
		rng_state = 1; /* xorshift's one fixed point */
	agent_say("husk-selftest hostile seed=%#llx devices=%u", (unsigned long long)rng_state, n);
	if (n == 0) {
		snprintf(why, len, "no virtio_mmio.device= on the command line");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (unbind(&devs[i], why, len) < 0)
			return -1;
		devs[i].regs = hostile_map(devs[i].base, PAGE, why, len);
		if (devs[i].regs == NULL)
			return -1;
		if (hostile_read(devs[i].regs + REG_MAGIC, 4) != VIRTIO_MAGIC) {
			snprintf(why, len, "%s: no virtio-mmio magic", devs[i].name);
			return -1;
		}
		devs[i].device_id = (uint32_t)hostile_read(devs[i].regs + REG_DEVICE_ID, 4);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (hostile_virtqueues(devs, n, &rejected, why, len) < 0)
		return -1;
	agent_say("husk-selftest hostile virtq refused=%u (%ld ms)", rejected, elapsed_ms(&t0));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mmio(devs, n, why, len) < 0)
		return -1;
	agent_say("husk-selftest hostile mmio garbage done (%ld ms)", elapsed_ms(&t0));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pio(why, len) < 0)
		return -1;
	agent_say("husk-selftest hostile pio garbage done (%ld ms)", elapsed_ms(&t0));
	for (unsigned i = 0; i < n; i++)
		hostile_unmap(devs[i].regs, PAGE);
	return 0;
}
