#include "lib/thread.h"

#include <stddef.h>

static hk_thread_hook thread_hook;

void hk_thread_set_hook(hk_thread_hook hook)
{
	thread_hook = hook;
}

int hk_thread_enter(enum hk_thread_kind kind, hk_err **err)
{
	return thread_hook ? thread_hook(kind, err) : 0;
}

const char *hk_thread_kind_name(enum hk_thread_kind kind)
{
	static const char *const names[HK_THREAD_KINDS] = {
	        [HK_THREAD_MAIN] = "main",
	        [HK_THREAD_VCPU] = "vcpu",
	        [HK_THREAD_BALANCER] = "balancer",
	        [HK_THREAD_AGENT] = "agent",
	};
	return (unsigned)kind < HK_THREAD_KINDS ? names[kind] : "unknown";
}
