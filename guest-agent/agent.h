/* husk-agent: PID 1 of every husk guest. This first version brings the
 * guest up (mounts, boot timer, ready marker), runs a self-test named on the
 * kernel command line, and powers the VM off; the vsock server and OCI
 * process set-up grow from here. Static, no libc surprises: it must work
 * with nothing but the kernel and the initramfs. */
#ifndef HUSK_AGENT_H
#define HUSK_AGENT_H

#include "lib/error.h"

#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define AGENT_READY_MARKER "husk-agent: ready"

/* Mounts /proc /sys /dev /dev/pts /dev/shm /run /tmp and cgroup2 at
 * /sys/fs/cgroup. Returns 0, or -1 after printing what failed. */
int agent_mount_basics(void);

/* Writes 123 to port 0x3f0: the monitor logs the boot time. */
void agent_boot_timer(void);

/* The value of name=VALUE on the kernel command line, or NULL. */
const char *agent_cmdline_get(const char *name, char *buf, size_t len);

/* Runs the named self-test; prints "husk-selftest: PASS name" or
 * "husk-selftest: FAIL name: why". Returns 0 when it passed. */
int agent_selftest(const char *name);

/* Ends the VM: sync, then reboot(2), which the monitor takes as the clean
 * way out (i8042 reset with reboot=k). Never returns. */
void agent_poweroff(void) __attribute__((noreturn));

/* The vsock server (server.c): serves the host until it asks for a
 * shutdown; returns the status to power off with. */
int agent_serve(void);

/* Moves / from the initramfs onto a tmpfs, so that containers can
 * pivot_root away from it (the initial rootfs cannot be pivoted). */
int agent_switch_root(void);

/* The guest's network (net.c): lo up at boot; the container's NICs as
 * the monitor describes them (an array of {mac, mtu, addrs, routes}). */
struct hk_json;
int agent_net_lo(hk_err **err);
int agent_net_apply(const struct hk_json *nics, hk_err **err);

/* printf to the console with a trailing newline. */
void agent_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
