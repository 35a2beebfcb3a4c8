/* Verbs whose machinery (the microVM monitor and the guest agent) has not
 * landed yet answer with one clear error instead of pretending. */
#include "cmd/husk/husk.h"

int husk_cmd_pending(const struct husk_globals *g, int argc, char **argv, hk_err **err)
{
	return hk_err_set(err, 0,
			  "%s: not yet supported by this husk build: it needs the microVM "
			  "runtime, which is still being built",
			  argv[0]);
}
