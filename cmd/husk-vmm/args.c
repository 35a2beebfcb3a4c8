#include <string.h>

#include "cmd/husk-vmm/vmm.h"

/* Splits a trailing ",ro" off arg in place. */
static bool take_ro(char *arg)
{
	size_t n = strlen(arg);

	if (n > 3 && strcmp(arg + n - 3, ",ro") == 0) {
		arg[n - 3] = '\0';
		return true;
	}
	return false;
}

int vmm_parse_share(char *arg, struct vmm_share *s, hk_err **err)
{
	s->readonly = take_ro(arg);
	char *eq = strchr(arg, '=');
	if (eq == NULL || eq == arg || eq[1] == '\0')
		return hk_err_set(err, 0, "--fs %s: want TAG=DIR[,ro]", arg);
	if ((size_t)(eq - arg) >= sizeof(s->tag))
		return hk_err_set(err, 0, "--fs %s: tag longer than 36 bytes", arg);
	memcpy(s->tag, arg, (size_t)(eq - arg));
	s->tag[eq - arg] = '\0';
	s->dir = eq + 1;
	return 0;
}

int vmm_parse_blk(char *arg, struct vmm_blk_cfg *b, hk_err **err)
{
	b->readonly = take_ro(arg);
	if (*arg == '\0')
		return hk_err_set(err, 0, "--blk: want FILE[,ro]");
	b->path = arg;
	return 0;
}
