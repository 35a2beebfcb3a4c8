/* The kinds of thread husk-vmm runs, and one hook each calls as it starts.
 * The monitor's policy (a seccomp filter per kind: policy/seccomp.h) is
 * installed through this hook, so vmm/ names the moment a thread begins to
 * serve the guest without depending on policy/. */
#ifndef HK_THREAD_H
#define HK_THREAD_H

#include "lib/error.h"

enum hk_thread_kind {
	HK_THREAD_MAIN,     /* the event loop: devices, control socket, signals */
	HK_THREAD_VCPU,     /* one per vCPU: KVM_RUN and the exits it returns */
	HK_THREAD_BALANCER, /* vmm/sched/: re-pins vCPUs from /proc figures */
	HK_THREAD_AGENT,    /* a container's agent client and stdio relay */
	HK_THREAD_KINDS,
};

typedef int (*hk_thread_hook)(enum hk_thread_kind kind, hk_err **err);

/* Set once, before any thread starts; NULL (the default) does nothing. */
void hk_thread_set_hook(hk_thread_hook hook);
/* Called by a thread of this kind before it does its work; a failure means
 * the thread must not go on. */
int hk_thread_enter(enum hk_thread_kind kind, hk_err **err);
const char *hk_thread_kind_name(enum hk_thread_kind kind);

#endif
