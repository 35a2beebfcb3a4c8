/* Cleanup attributes: a variable declared with one of these is released when
 * it leaves scope, so error paths need no goto ladders. Hand ownership on with
 * hk_steal_ptr()/hk_steal_fd(). */
#ifndef HK_CLEANUP_H
#define HK_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/error.h"

static inline void hk_freep(void *p)
{
	void **pp = p;
	free(*pp);
}

static inline void hk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno; /* close must not clobber the errno being reported */
		close(*fd);
		errno = saved;
	}
}

static inline void hk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void hk_strvfreep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define cleanup_free  __attribute__((cleanup(hk_freep)))
#define cleanup_close __attribute__((cleanup(hk_closep)))
#define cleanup_file  __attribute__((cleanup(hk_fclosep)))
#define cleanup_strv  __attribute__((cleanup(hk_strvfreep)))
#define cleanup_err   __attribute__((cleanup(hk_err_free)))

static inline void *hk_steal_ptr_(void **p)
{
	void *v = *p;
	*p = NULL;
	return v;
}
#define hk_steal_ptr(p) hk_steal_ptr_((void **)&(p))

static inline int hk_steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#define HK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
