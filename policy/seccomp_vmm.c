/* husk-vmm's allow-lists, one per thread kind (lib/thread.h), plus the
 * share every thread needs. Each entry says why it is there; an argument
 * filter narrows it where the argument is what makes a call dangerous:
 * ioctl request numbers (only the KVM and tap requests the thread makes),
 * socket families (Unix only), memory protections (never executable), and
 * open flags (read-only, for the one thread that opens files at all).
 *
 * Found by reading the code paths that run after set-up and by booting
 * containers under `strace -f` with the filters in log mode
 * (--seccomp-log). Everything that opens devices, creates the VM, spawns
 * virtiofsd or configures taps runs before any filter is installed. */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "lib/cleanup.h"
#include "policy/seccomp.h"

#define ALLOW(n, w)                                                                                \
	{                                                                                          \
		.name = n, .cmp = POL_ANY, .why = w                                                \
	}
#define ALLOW_IF(n, a, v, w)                                                                       \
	{                                                                                          \
		.name = n, .cmp = POL_EQ, .arg = a, .value = (uint64_t)(v), .why = w               \
	}
#define ALLOW_MASKED(n, a, m, v, w)                                                                \
	{                                                                                          \
		.name = n, .cmp = POL_MASKED_EQ, .arg = a, .mask = (uint64_t)(m),                  \
		.value = (uint64_t)(v), .why = w                                                   \
	}

/* What glibc, logging and thread life need wherever they run. */
static const struct pol_rule common[] = {
        ALLOW("read", "eventfds, sockets, the signalfd"),
        ALLOW("write", "log lines, eventfds (kicks, irqfds, the loop's stop), sockets"),
        ALLOW("close", "connections and their descriptors as they end"),
        ALLOW("futex", "mutexes, condition variables, pthread_join"),
        ALLOW("exit", "a thread's end"),
        ALLOW("exit_group", "the monitor's end"),
        ALLOW("rt_sigprocmask", "pthread_sigmask; glibc blocks signals around thread exit"),
        ALLOW("rt_sigreturn", "return from the vCPU kick handler"),
        ALLOW("clock_gettime", "timestamps and deadlines when the vDSO is not used"),
        ALLOW("clock_nanosleep", "retry pauses (nanosleep, usleep)"),
        ALLOW("nanosleep", "retry pauses on older glibc"),
        ALLOW("getpid", "log lines, raise()"),
        ALLOW("gettid", "raise(), the scheduler's thread ids"),
        ALLOW("sched_yield", "glibc's lock back-off"),
        ALLOW("getrandom", "virtio-rng; malloc's tcache randomisation"),
        ALLOW("newfstatat", "stdio buffering decisions (fstat)"),
        ALLOW("fstat", "stdio buffering decisions on older glibc"),
        ALLOW("brk", "malloc's main arena"),
        ALLOW_MASKED("mmap", 2, PROT_EXEC, 0, "malloc arenas and large blocks, never executable"),
        ALLOW_MASKED("mprotect", 2, PROT_EXEC, 0, "malloc arenas grow, never executable"),
        ALLOW("munmap", "large frees; guest memory at the end"),
        ALLOW("mremap", "realloc of large blocks"),
        ALLOW("madvise", "free() returns memory; glibc frees a finished thread's stack"),
        ALLOW("restart_syscall", "a sleep resumed after a signal"),
};

/* The event loop: every device's back end (virtqueue work arrives through
 * ioeventfds), the control socket, the signalfd, and the way out. */
static const struct pol_rule main_loop[] = {
        ALLOW("epoll_wait", "the loop"),
        ALLOW("epoll_pwait", "the loop (glibc's epoll_wait on some versions)"),
        ALLOW("epoll_ctl", "connections and queues come and go"),
        ALLOW("readv", "virtio-net: frames from the tap"),
        ALLOW("writev", "virtio-net: frames to the tap"),
        ALLOW("preadv", "virtio-blk reads"),
        ALLOW("pwritev", "virtio-blk writes"),
        ALLOW("fdatasync", "virtio-blk flush"),
        ALLOW("fallocate", "virtio-blk discard and write-zeroes"),
        ALLOW("accept4", "control clients; host-initiated vsock connections"),
        ALLOW("recvfrom", "control requests; vsock data from the host side"),
        ALLOW("sendto", "control replies; vsock data to the host side"),
        ALLOW("recvmsg", "vhost-user replies"),
        ALLOW("sendmsg", "vhost-user requests"),
        ALLOW_IF("socket", 0, AF_UNIX, "a guest-initiated vsock connection to <uds>_<port>"),
        ALLOW("connect", "a guest-initiated vsock connection"),
        ALLOW("shutdown", "vsock half-close"),
        ALLOW("getsockopt", "SO_ERROR of a vsock connection"),
        ALLOW("fcntl", "non-blocking flags of new connections"),
        ALLOW("poll", "vhost-user replies wait with a deadline"),
        ALLOW("ppoll", "poll() on some glibc versions"),
        ALLOW_IF("ioctl", 1, KVM_IRQ_LINE, "legacy interrupts (serial)"),
        ALLOW_IF("ioctl", 1, TUNSETOFFLOAD, "virtio-net offloads follow the guest's features"),
        ALLOW_IF("ioctl", 1, TCSETS, "the container's terminal restored at the end"),
        ALLOW_IF("ioctl", 1, TCSETSW, "tcsetattr variants"),
        ALLOW_IF("ioctl", 1, TCGETS, "isatty() in stdio"),
        ALLOW("tgkill", "kicks out of KVM_RUN (pthread_kill); raise()"),
        ALLOW_IF("kill", 1, SIGTERM, "virtiofsd told to stop when it outlives its socket"),
        ALLOW_IF("kill", 1, SIGKILL, "virtiofsd ended when SIGTERM did not do"),
        ALLOW("wait4", "virtiofsd reaped"),
        ALLOW("pidfd_open", "virtiofsd's exit awaited with a deadline"),
        ALLOW("rt_sigaction", "the container's signal restored before the monitor dies by it"),
        ALLOW_IF("prlimit64", 1, RLIMIT_CORE, "no core dump when dying by a signal"),
        ALLOW("unlink", "sockets the monitor made"),
        ALLOW("rmdir", "the monitor's private socket directory"),
        ALLOW("timerfd_settime", "device timers"),
        ALLOW("flock", "steal mode: the monitor's slots cleared from the shared table at the end"),
};

/* A vCPU: KVM_RUN and the exits it returns. MMIO and PIO exits run device
 * register handlers here, which may start a device (vhost-user messages,
 * tap offloads, queues joining the loop) and raise interrupts. */
static const struct pol_rule vcpu[] = {
        ALLOW_IF("ioctl", 1, KVM_RUN, "run the guest"),
        ALLOW_IF("ioctl", 1, KVM_IRQ_LINE, "legacy interrupts (serial, i8042)"),
        ALLOW_IF("ioctl", 1, TUNSETOFFLOAD, "virtio-net offloads set as the driver starts"),
        ALLOW("epoll_ctl", "a device's queues join the loop as the driver starts it"),
        ALLOW("sendmsg", "vhost-user requests as virtio-fs starts"),
        ALLOW("recvfrom", "vhost-user replies"),
        ALLOW("poll", "vhost-user replies wait with a deadline"),
        ALLOW("ppoll", "poll() on some glibc versions"),
        ALLOW("tgkill", "the other vCPUs kicked when the guest ends"),
        ALLOW("writev", "virtio-net frames sent from a register write"),
};

/* vmm/sched/: run figures from /proc, then re-pins. */
static const struct pol_rule balancer[] = {
        ALLOW("poll", "the balancer's period"),
        ALLOW_MASKED("openat", 2, O_ACCMODE | O_CREAT, O_RDONLY,
                     "/proc/stat and /proc/PID/task/TID/{stat,schedstat}, read-only"),
        ALLOW("lseek", "stdio reads"),
        ALLOW("sched_setaffinity", "re-pin a vCPU"),
        ALLOW("sched_getaffinity", "the CPUs this process may use"),
        ALLOW("setpriority", "a re-pinned vCPU keeps its priority"),
        ALLOW("sched_setscheduler", "a re-pinned vCPU keeps its realtime policy"),
        ALLOW("flock", "steal mode: the table shared with other monitors, locked a step"),
        ALLOW_IF("kill", 1, 0, "steal mode: whether a slot's monitor still lives (signal 0)"),
};

/* A container's monitor: the agent client and the stdio relay. */
static const struct pol_rule agent[] = {
        ALLOW_IF("socket", 0, AF_UNIX, "connections to the agent through the vsock socket"),
        ALLOW("connect", "connections to the agent"),
        ALLOW("poll", "the relay and the agent calls"),
        ALLOW("ppoll", "poll() on some glibc versions"),
        ALLOW("recvfrom", "agent replies"),
        ALLOW("sendto", "agent requests"),
        ALLOW("shutdown", "stdin closed"),
        ALLOW("fcntl", "non-blocking stdio"),
        ALLOW("pwrite64", "the container's final statistics, into a file opened before"),
        ALLOW_IF("ioctl", 1, TIOCGWINSZ, "the terminal's size for the container's tty"),
        ALLOW("splice", "stdio relayed without copies"),
};

#define TABLE(t)                                                                                   \
	{                                                                                          \
#t, t, HK_ARRAY_SIZE(t)                                                            \
	}
static const struct pol_table t_common = TABLE(common), t_main = TABLE(main_loop),
                              t_vcpu = TABLE(vcpu), t_balancer = TABLE(balancer),
                              t_agent = TABLE(agent);

static const struct pol_table *const kinds[HK_THREAD_KINDS][2] = {
        [HK_THREAD_MAIN] = {&t_common, &t_main},
        [HK_THREAD_VCPU] = {&t_common, &t_vcpu},
        [HK_THREAD_BALANCER] = {&t_common, &t_balancer},
        [HK_THREAD_AGENT] = {&t_common, &t_agent},
};

const struct pol_table *const *pol_seccomp_tables(enum hk_thread_kind kind, size_t *n)
{
	if ((unsigned)kind >= HK_THREAD_KINDS) {
		*n = 0;
		return NULL;
	}
	*n = HK_ARRAY_SIZE(kinds[kind]);
	return kinds[kind];
}
