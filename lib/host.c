#include "lib/host.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static int have(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

enum hk_kvm_kind hk_kvm_kind(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return HK_KVM_NONE;
	close(fd);
	/* The module that registered /dev/kvm tells the kind; PVM first, since
	 * a PVM host may also have the hardware module loaded but unusable. */
	if (have("/sys/module/kvm_pvm"))
		return HK_KVM_PVM;
	if (have("/sys/module/kvm_intel"))
		return HK_KVM_HW_VMX;
	if (have("/sys/module/kvm_amd"))
		return HK_KVM_HW_SVM;
	return HK_KVM_UNKNOWN;
}

const char *hk_kvm_kind_name(enum hk_kvm_kind k)
{
	static const char *const names[] = {"none", "pvm", "hardware-vmx", "hardware-svm",
	                                    "unknown"};
	return names[k];
}
