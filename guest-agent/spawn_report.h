/* What a spawned child tells the agent through its report pipe: 'R' ready
 * at the start gate, 'P' the pid of an exec'd grandchild, 'E' an error
 * before exec. Fixed size and below PIPE_BUF, so each is one atomic write
 * and one read. */
#ifndef HUSK_AGENT_SPAWN_REPORT_H
#define HUSK_AGENT_SPAWN_REPORT_H

#include <stdint.h>

struct spawn_report {
	char kind;
	int32_t pid;
	char msg[500];
};

#endif
