/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
/* The plural ending of a count's noun: "1 key", "2 keys". */
#define PLURAL(n) ((n) == 1 ? "" : "s")

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/*
 * Make room for element N of the array *P (elements of SIZE bytes, N of them so far, built by
 * this alone): the room doubles whenever N reaches a power of two, so that a long list costs its
 * length to build, not its square. 0 or -ENOMEM.
 */
static inline int array_room(void *p, size_t n, size_t size)
{
	void *np;

	if (n & (n - 1))
		return 0;
	np = realloc(*(void **)p, (n ? n * 2 : 1) * size);
	if (!np)
		return -ENOMEM;
	*(void **)p = np;
	return 0;
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Hand a pointer or descriptor over to the caller: *ret = x; x = NULL. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
