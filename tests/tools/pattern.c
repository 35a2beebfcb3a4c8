/* pattern FILE BYTES: writes byte[i] = i % 251, the pattern the guest's blk
 * self-test expects (251 is prime, so no power-of-two stride repeats it). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	FILE *f;
	unsigned long long n;

	if (argc != 3 || (n = strtoull(argv[2], NULL, 0)) == 0) {
		fprintf(stderr, "usage: pattern FILE BYTES\n");
		return 1;
	}
	f = fopen(argv[1], "wb");
	if (f == NULL) {
		perror(argv[1]);
		return 1;
	}
	for (unsigned long long i = 0; i < n; i++)
		putc((int)(i % 251), f);
	return fclose(f) == 0 ? 0 : 1;
}
