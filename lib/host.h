/* What kind of host this is, for `husk check`, the lab and the tests: which
 * KVM /dev/kvm is (hardware VMX/SVM, the PVM software hypervisor, none). */
#ifndef HK_HOST_H
#define HK_HOST_H

enum hk_kvm_kind {
	HK_KVM_NONE,    /* no usable /dev/kvm */
	HK_KVM_PVM,     /* kvm_pvm: boots only PVM-enabled guest kernels */
	HK_KVM_HW_VMX,  /* kvm_intel */
	HK_KVM_HW_SVM,  /* kvm_amd */
	HK_KVM_UNKNOWN, /* /dev/kvm works but its module is not one we know */
};

enum hk_kvm_kind hk_kvm_kind(void);
const char *hk_kvm_kind_name(enum hk_kvm_kind k);

#endif
