/* t0exec CMD ARGS…: notes CLOCK_MONOTONIC in HUSK_VMM_T0_US and execs CMD,
 * so husk-vmm can report its first KVM_RUN and boot time from the exec. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	char buf[32];

	if (argc < 2) {
		fprintf(stderr, "usage: t0exec CMD [ARGS]\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "%llu",
	         (unsigned long long)ts.tv_sec * 1000000ULL +
	                 (unsigned long long)ts.tv_nsec / 1000);
	setenv("HUSK_VMM_T0_US", buf, 1);
	execvp(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
