#include "lib/cpulist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

static int number(const char *s, size_t len, unsigned *out)
{
	char buf[16];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (hk_parse_u64(buf, &v) < 0 || v >= CPU_SETSIZE)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int hk_cpulist_parse(const char *s, cpu_set_t *set, hk_err **err)
{
	const char *p = s;

	CPU_ZERO(set);
	if (*s == '\0')
		return hk_err_set(err, 0, "empty CPU list");
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *dash = memchr(p, '-', n);
		unsigned a, b;
		if (dash ? number(p, (size_t)(dash - p), &a) < 0 ||
		                    number(dash + 1, n - (size_t)(dash - p) - 1, &b) < 0 || a > b
		         : number(p, n, &a) < 0)
			return hk_err_set(
			        err, 0, "CPU list `%s`: bad element `%.*s` (want N or N-M, N < %d)",
			        s, (int)n, p, CPU_SETSIZE);
		if (!dash)
			b = a;
		for (unsigned c = a; c <= b; c++)
			CPU_SET(c, set);
		p += n;
		if (*p == ',' && *++p == '\0')
			return hk_err_set(err, 0, "CPU list `%s`: trailing comma", s);
	}
	return 0;
}

int hk_cpulist_nth(const cpu_set_t *set, unsigned n)
{
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set) && n-- == 0)
			return c;
	return -1;
}
