/* The legacy devices a Linux guest needs on the port bus: an 8250 UART at
 * 0x3f8 for the console, the i8042 controller's reset line (reboot=k is
 * the guest's clean way out), and the boot timer at 0x3f0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmm/vm.h"

#define SERIAL_BASE 0x3f8
#define SERIAL_IRQ  4
#define I8042_DATA  0x60
#define I8042_CMD   0x64
#define I8042_RESET 0xfe
#define BOOT_TIMER  0x3f0
#define BOOT_MAGIC  123

/* 8250 registers (offsets from the base) and bits. */
enum {
	UART_RX_TX = 0, /* DLL when LCR.DLAB */
	UART_IER = 1,   /* DLM when LCR.DLAB */
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};
#define UART_LCR_DLAB   0x80
#define UART_IER_THRI   0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI   0x02
#define UART_IIR_FIFO   0xc0
#define UART_LSR_IDLE   0x60 /* THR empty, transmitter empty */
#define UART_MCR_LOOP   0x10
#define UART_MSR_IDLE   0xb0 /* DCD, DSR, CTS */
#define PANIC_MARK      "Kernel panic - not syncing: "

/* Remembers the console line that names a panic: the reset that follows
 * then reports it instead of a clean exit. */
static void serial_track_line(struct vmm_vm *vm, uint8_t c)
{
	struct vmm_serial *s = &vm->serial;

	if (c != '\n') {
		if (s->line_len < sizeof(s->line) - 1)
			s->line[s->line_len++] = (char)c;
		return;
	}
	s->line[s->line_len] = '\0';
	const char *p = strstr(s->line, PANIC_MARK);
	if (p && vm->panic[0] == '\0') {
		pthread_mutex_lock(&vm->exit_lock);
		snprintf(vm->panic, sizeof(vm->panic), "%s", p + strlen(PANIC_MARK));
		pthread_mutex_unlock(&vm->exit_lock);
		hk_debug("guest console: %s", s->line);
	}
	s->line_len = 0;
}

static void serial_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	struct vmm_vm *vm = ctx;
	struct vmm_serial *s = &vm->serial;
	uint8_t v = 0;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RX_TX:
		v = s->lcr & UART_LCR_DLAB ? s->dll : 0;
		break;
	case UART_IER:
		v = s->lcr & UART_LCR_DLAB ? s->dlm : s->ier;
		break;
	case UART_IIR_FCR:
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (s->thre_pending && (s->ier & UART_IER_THRI)) {
			v = UART_IIR_THRI;
			s->thre_pending = false;
		} else {
			v = UART_IIR_NO_INT;
		}
		v |= UART_IIR_FIFO;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = UART_LSR_IDLE;
		break;
	case UART_MSR:
		/* In loopback the modem inputs mirror the outputs, which is how
		 * the kernel's probe tells a UART is there. */
		if (s->mcr & UART_MCR_LOOP)
			v = (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) |
			              ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		else
			v = UART_MSR_IDLE;
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

static void serial_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct vmm_vm *vm = ctx;
	struct vmm_serial *s = &vm->serial;
	uint8_t v = *(const uint8_t *)data;
	bool irq = false;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RX_TX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = v;
			break;
		}
		/* The console log is plain text: the guest's tty adds \r before
		 * every \n, which only terminals want. */
		if (!(s->mcr & UART_MCR_LOOP) && v != '\r') {
			if (s->out_fd >= 0)
				(void)hk_write_all(s->out_fd, &v, 1, NULL);
			serial_track_line(vm, v);
		}
		/* We transmit at once, so the holding register is empty again. */
		if (s->ier & UART_IER_THRI) {
			s->thre_pending = true;
			irq = true;
		}
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = v;
			break;
		}
		if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI)) {
			s->thre_pending = true;
			irq = true;
		}
		s->ier = v & 0x0f;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break; /* FCR, LSR, MSR: nothing to keep */
	}
	pthread_mutex_unlock(&s->lock);
	if (irq)
		(void)vmm_irq_pulse(vm, SERIAL_IRQ);
}

static const struct vmm_io_ops serial_ops = {.read = serial_read, .write = serial_write};

static void i8042_read(void *ctx, uint64_t off, void *data, uint32_t len)
{
	/* Status 0: output buffer empty, input buffer empty, so the kernel's
	 * wait-for-ready loop before the reset command ends at once. */
	memset(data, 0, len);
}

static void i8042_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct vmm_vm *vm = ctx;

	if (*(const uint8_t *)data == I8042_RESET)
		vmm_vm_exit(vm, VMM_EXIT_RESET, "guest reset through the i8042 controller");
}

static const struct vmm_io_ops i8042_cmd_ops = {.read = i8042_read, .write = i8042_write};
static const struct vmm_io_ops i8042_data_ops = {.read = i8042_read};

static void timer_write(void *ctx, uint64_t off, const void *data, uint32_t len)
{
	struct vmm_vm *vm = ctx;

	if (*(const uint8_t *)data != BOOT_MAGIC)
		return;
	if (__atomic_exchange_n(&vm->boot_timed, true, __ATOMIC_SEQ_CST))
		return;
	vm->boot_time_us = hk_now_us() - vm->start_us;
	hk_info("boot-time-us=%llu", (unsigned long long)vm->boot_time_us);
	hk_timeline("agent-ready");
}

static const struct vmm_io_ops timer_ops = {.write = timer_write};

int vmm_legacy_register(struct vmm_vm *vm, hk_err **err)
{
	if (vmm_bus_register(&vm->pio, SERIAL_BASE, 8, &serial_ops, vm, err) < 0 ||
	    vmm_bus_register(&vm->pio, I8042_CMD, 1, &i8042_cmd_ops, vm, err) < 0 ||
	    vmm_bus_register(&vm->pio, I8042_DATA, 1, &i8042_data_ops, vm, err) < 0 ||
	    vmm_bus_register(&vm->pio, BOOT_TIMER, 1, &timer_ops, vm, err) < 0)
		return hk_err_wrap(err, "legacy devices");
	return 0;
}
