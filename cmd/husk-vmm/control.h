#ifndef HUSK_VMM_CONTROL_H
#define HUSK_VMM_CONTROL_H

#include "lib/error.h"
#include "vmm/vm.h"

struct vmm_control {
	struct vmm_vm *vm;
	const char *path;
	int fd;
};

/* Listens on path (replacing a stale socket); removed again by close. */
int vmm_control_open(struct vmm_control *ctl, struct vmm_vm *vm, const char *path, hk_err **err);
void vmm_control_close(struct vmm_control *ctl);

#endif
