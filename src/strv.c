/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "macro.h"
#include "strv.h"

size_t strv_length(char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

int strv_push(char ***l, const char *s)
{
	size_t n = strv_length(*l);
	char **nl;
	char *c = strdup(s);

	if (!c)
		return -ENOMEM;
	nl = realloc(*l, (n + 2) * sizeof(char *));
	if (!nl) {
		free(c);
		return -ENOMEM;
	}
	nl[n] = c;
	nl[n + 1] = NULL;
	*l = nl;
	return 0;
}

/* The room strv_append() gives a list of USED slots, the NULL included. */
static size_t room(size_t used)
{
	size_t c = 8;

	while (c < used)
		c *= 2;
	return c;
}

int strv_append(char ***l, size_t *n, const char *s, size_t len)
{
	char *c = strndup(s, len);

	if (!c)
		return -ENOMEM;
	if (!*l || room(*n + 2) != room(*n + 1)) {
		char **nl = realloc(*l, room(*n + 2) * sizeof(char *));

		if (!nl) {
			free(c);
			return -ENOMEM;
		}
		*l = nl;
	}
	(*l)[(*n)++] = c;
	(*l)[*n] = NULL;
	return 0;
}

int strv_push_unique(char ***l, const char *s)
{
	return strv_contains(*l, s) ? 0 : strv_push(l, s);
}

bool strv_contains(char *const *l, const char *s)
{
	for (size_t i = 0; l && l[i]; i++)
		if (strcmp(l[i], s) == 0)
			return true;
	return false;
}

void strv_free(char **l)
{
	for (size_t i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

int strv_split_ws(char ***ret, const char *s)
{
	char **l = NULL;
	const char *p = s;

	while (*p) {
		size_t n;
		int r;

		p += strspn(p, " \t\r\n");
		n = strcspn(p, " \t\r\n");
		if (n == 0)
			break;
		{
			_cleanup_free_ char *w = strndup(p, n);
			if (!w) {
				strv_free(l);
				return -ENOMEM;
			}
			r = strv_push(&l, w);
		}
		if (r < 0) {
			strv_free(l);
			return r;
		}
		p += n;
	}
	if (!l) {
		l = calloc(1, sizeof(char *));
		if (!l)
			return -ENOMEM;
	}
	*ret = l;
	return 0;
}
