/* husk-agent's main: PID 1 must never exit (the kernel panics), so every
 * path ends in agent_poweroff(). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "guest-agent/agent.h"

#define BOOT_TIMER_PORT  0x3f0
#define BOOT_TIMER_MAGIC 123

void agent_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void agent_boot_timer(void)
{
	/* Port I/O needs ioperm; as PID 1 with every capability we have it. */
	if (ioperm(BOOT_TIMER_PORT, 1, 1) < 0) {
		agent_say("husk-agent: boot timer unavailable: %m");
		return;
	}
	outb(BOOT_TIMER_MAGIC, BOOT_TIMER_PORT);
	ioperm(BOOT_TIMER_PORT, 1, 0);
}

const char *agent_cmdline_get(const char *name, char *buf, size_t len)
{
	char line[4096];
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	line[n] = '\0';
	size_t nl = strlen(name);
	for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
		if (strncmp(tok, name, nl) == 0 && tok[nl] == '=') {
			snprintf(buf, len, "%s", tok + nl + 1);
			return buf;
		}
	}
	return NULL;
}

void agent_poweroff(void)
{
	fflush(NULL);
	sync();
	/* RB_AUTOBOOT, not RB_POWER_OFF: without ACPI a power-off only halts
	 * the CPUs, while a reboot reaches the i8042 reset line (reboot=k) and
	 * the monitor ends the VM cleanly. */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

int main(void)
{
	char name[64];
	int rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getpid() != 1)
		agent_say("husk-agent: warning: not PID 1");
	if (agent_switch_root() < 0)
		rc = 1;
	if (agent_mount_basics() < 0)
		rc = 1;
	hk_err *err = NULL;
	if (agent_net_lo(&err) < 0) {
		agent_say("husk-agent: %s", err->msg);
		hk_err_free(&err);
	}
	agent_boot_timer();
	agent_say(AGENT_READY_MARKER);
	if (agent_cmdline_get("husk.selftest", name, sizeof(name)))
		rc |= agent_selftest(name);
	else
		rc |= agent_serve();
	agent_say("husk-agent: powering off (status %d)", rc);
	agent_poweroff();
}
