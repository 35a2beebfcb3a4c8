/* mkcpio: writes a newc cpio archive (the initramfs format) from a file
 * list, without root and byte-for-byte the same for the same inputs: fixed
 * owner (0:0), fixed mtime (0), inode numbers by position, entries sorted.
 *
 * List lines (# comments and blank lines ignored):
 *   dir   /path MODE
 *   file  /path SOURCE MODE
 *   nod   /path MODE c|b MAJOR MINOR
 *   slink /path TARGET MODE
 * usage: mkcpio LIST OUT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ENTRIES 4096

struct entry {
	char path[256];
	char arg[512]; /* source file or link target */
	unsigned mode;
	unsigned rmaj, rmin;
};

static struct entry entries[MAX_ENTRIES];

static int cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static void pad4(FILE *o, unsigned long n)
{
	static const char zero[4];
	fwrite(zero, 1, (4 - (n & 3)) & 3, o);
}

static int header(FILE *o, unsigned ino, unsigned mode, unsigned long size, unsigned rmaj,
                  unsigned rmin, const char *name)
{
	size_t nlen = strlen(name) + 1;
	int n = fprintf(o, "070701%08X%08X%08X%08X%08X%08X%08lX%08X%08X%08X%08X%08zX%08X", ino,
	                mode, 0u, 0u, 1u, 0u, size, 0u, 0u, rmaj, rmin, nlen, 0u);
	fwrite(name, 1, nlen, o);
	pad4(o, (unsigned long)n + nlen);
	return 0;
}

static int add_file(FILE *o, unsigned ino, const struct entry *e, const char *name)
{
	FILE *in = fopen(e->arg, "rb");
	char *buf;
	long size;

	if (in == NULL || fseek(in, 0, SEEK_END) < 0 || (size = ftell(in)) < 0 ||
	    fseek(in, 0, SEEK_SET) < 0) {
		fprintf(stderr, "mkcpio: %s: %s\n", e->arg, strerror(errno));
		return -1;
	}
	buf = malloc((size_t)size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, in) != (size_t)size) {
		fprintf(stderr, "mkcpio: read %s failed\n", e->arg);
		return -1;
	}
	fclose(in);
	header(o, ino, S_IFREG | e->mode, (unsigned long)size, 0, 0, name);
	fwrite(buf, 1, (size_t)size, o);
	pad4(o, (unsigned long)size);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	FILE *list, *o;
	char line[1024];
	size_t n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: mkcpio LIST OUT\n");
		return 1;
	}
	list = fopen(argv[1], "r");
	if (list == NULL) {
		perror(argv[1]);
		return 1;
	}
	for (unsigned lineno = 1; fgets(line, sizeof(line), list); lineno++) {
		char kind[8], path[256], a[512] = "", b[16] = "";
		unsigned mode, maj = 0, min = 0;
		if (line[0] == '#' || line[strspn(line, " \t\n")] == '\0')
			continue;
		if (n == MAX_ENTRIES || sscanf(line, "%7s %255s", kind, path) != 2 ||
		    path[0] != '/')
			goto bad;
		struct entry *e = &entries[n];
		if (strcmp(kind, "dir") == 0 && sscanf(line, "%*s %*s %o", &mode) == 1) {
			e->mode = S_IFDIR | mode;
		} else if (strcmp(kind, "file") == 0 &&
		           sscanf(line, "%*s %*s %511s %o", a, &mode) == 2) {
			e->mode = mode; /* S_IFREG added when written */
		} else if (strcmp(kind, "slink") == 0 &&
		           sscanf(line, "%*s %*s %511s %o", a, &mode) == 2) {
			e->mode = S_IFLNK | mode;
		} else if (strcmp(kind, "nod") == 0 &&
		           sscanf(line, "%*s %*s %o %15s %u %u", &mode, b, &maj, &min) == 4 &&
		           (b[0] == 'c' || b[0] == 'b') && b[1] == '\0') {
			e->mode = (b[0] == 'c' ? S_IFCHR : S_IFBLK) | mode;
			e->rmaj = maj;
			e->rmin = min;
		} else {
			goto bad;
		}
		snprintf(e->path, sizeof(e->path), "%s", path + 1);
		snprintf(e->arg, sizeof(e->arg), "%s", a);
		n++;
		continue;
	bad:
		fprintf(stderr, "mkcpio: %s:%u: cannot read: %s", argv[1], lineno, line);
		return 1;
	}
	fclose(list);
	/* Sorted paths put every directory before what it holds. */
	qsort(entries, n, sizeof(entries[0]), cmp);

	o = fopen(argv[2], "wb");
	if (o == NULL) {
		perror(argv[2]);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &entries[i];
		unsigned ino = (unsigned)i + 1;
		if ((e->mode & S_IFMT) == 0) {
			if (add_file(o, ino, e, e->path) < 0)
				return 1;
		} else if (S_ISLNK(e->mode)) {
			size_t l = strlen(e->arg);
			header(o, ino, e->mode, l, 0, 0, e->path);
			fwrite(e->arg, 1, l, o);
			pad4(o, l);
		} else {
			header(o, ino, e->mode, 0, e->rmaj, e->rmin, e->path);
		}
	}
	header(o, 0, 0, 0, 0, 0, "TRAILER!!!");
	if (fclose(o) != 0) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
