/* husk check: what this host offers a microVM runtime, one line a fact, and
 * whether husk can run containers here. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cmd/husk/husk.h"
#include "lib/host.h"

static void line(const char *what, const char *value, const char *note)
{
	printf("%-12s %-16s %s\n", what, value, note);
}

static const char *virtiofsd_path(void)
{
	static const char *const candidates[] = {"/usr/lib/qemu/virtiofsd",
	                                         "/usr/libexec/virtiofsd", "/usr/bin/virtiofsd"};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

int husk_cmd_check(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	enum hk_kvm_kind k = hk_kvm_kind();
	struct utsname u;
	const char *vfs = virtiofsd_path();
	int ok = 1;

	uname(&u);
	line("kernel", u.release, "");
	switch (k) {
	case HK_KVM_HW_VMX:
	case HK_KVM_HW_SVM:
		line("kvm", hk_kvm_kind_name(k), "boots standard guest kernels");
		break;
	case HK_KVM_PVM:
		line("kvm", "pvm",
		     "PVM: boots only PVM-enabled guest kernels; the standard guest needs a "
		     "nested KVM host (tests/lab)");
		ok = 0;
		break;
	case HK_KVM_UNKNOWN:
		line("kvm", "unknown", "/dev/kvm opens, but its module is not one husk knows");
		break;
	case HK_KVM_NONE:
		line("kvm", "none", "no usable /dev/kvm");
		ok = 0;
		break;
	}
	line("virtiofsd", vfs ? vfs : "missing",
	     vfs ? "" : "install qemu-system-common or virtiofsd");
	ok &= vfs != NULL;
	line("tun", access("/dev/net/tun", R_OK | W_OK) == 0 ? "yes" : "no",
	     "for container networking");
	line("selinux", access("/sys/fs/selinux/enforce", R_OK) == 0 ? "enabled" : "disabled",
	     "labels are allocated either way; applied only when enabled");
	printf("%s\n", ok ? "husk can run containers on this host"
	                  : "husk cannot run standard guests directly on this host");
	return ok ? 0 : 1;
}
