/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "macro.h"
#include "sshdalgs.h"
#include "sshdeval.h"
#include "sshdmatch.h"
#include "strv.h"

/* A copy of the vector L. */
static int strv_copy(char *const *l, char ***ret)
{
	_cleanup_(strv_freep) char **c = calloc(1, sizeof(char *));

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; l && l[i]; i++) {
		int r = strv_push(&c, l[i]);

		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

/* Split a comma-separated LIST into a vector (a newline separates too); KEEP_EMPTY: "" too. */
int sshd_algorithms_split(const char *list, bool keep_empty, char ***ret)
{
	_cleanup_free_ char *copy = strdup(list);
	char **l = calloc(1, sizeof(char *)), *p, *next;
	int r = 0;

	if (!copy || !l) {
		free(l);
		return -ENOMEM;
	}
	for (p = copy; p && r >= 0; p = next) {
		next = p + strcspn(p, ",\n");
		next = *next ? (*next = 0, next + 1) : NULL;
		if (*p || keep_empty)
			r = strv_push(&l, p);
	}
	if (r < 0) {
		strv_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* Append to *LIST each name of ADD not in it yet (kex_names_cat()); ADD ends at an empty name. */
static int names_cat(char ***list, char *const *add)
{
	int r;

	for (size_t i = 0; add && add[i] && *add[i]; i++)
		if ((r = strv_push_unique(list, add[i])) < 0)
			return r;
	return 0;
}

/* Are the names of the list NAMES all known, or patterns that match a known name? */
bool sshd_algorithms_valid(const char *names, char *const *all)
{
	_cleanup_(strv_freep) char **l = NULL;
	_cleanup_free_ char *copy = strdup(names);
	char *p, *next;

	if (!copy || !*copy)
		return false;
	/* sshd stops at an empty name. */
	for (p = copy; p && *p; p = next) {
		bool known = false;

		next = strchr(p, ',');
		if (next)
			*next++ = 0;
		for (size_t i = 0; all[i] && !known; i++)
			known = sshd_match_pattern_list(all[i], p, false) != 0;
		if (!known)
			return false;
	}
	return true;
}

/*
 * The accepted list from RAW (NULL: not set) as kex_assemble_names() makes it against DEF
 * and ALL: "+" appends to the default, "-" takes away from it, "^" puts first; the
 * patterns of the result expand to the names of ALL they match.
 */
int sshd_algorithms_assemble(const char *raw, char *const *def, char *const *all, char ***ret)
{
	_cleanup_(strv_freep) char **list = NULL, **out = calloc(1, sizeof(char *)), **add = NULL;
	int r;

	if (!out)
		return -ENOMEM;
	if (raw && *raw == '-') {
		for (size_t i = 0; def[i]; i++)
			if (sshd_match_pattern_list(def[i], raw + 1, false) != 1 &&
			    (r = strv_push(&out, def[i])) < 0)
				return r;
		/* Nothing left is no list, and sshd assembles again for each connection: the
		 * default. */
		if (out[0]) {
			*ret = TAKE_PTR(out);
			return 0;
		}
	}
	if (!raw || !*raw || *raw == '-')
		return strv_copy(def, ret);
	r = sshd_algorithms_split(*raw == '+' || *raw == '^' ? raw + 1 : raw, true, &add);
	if (r < 0)
		return r;
	if (*raw == '+' && ((r = names_cat(&list, def)) < 0 || (r = names_cat(&list, add)) < 0))
		return r;
	if (*raw == '^' && ((r = names_cat(&list, add)) < 0 || (r = names_cat(&list, def)) < 0))
		return r;
	if (*raw != '+' && *raw != '^')
		list = TAKE_PTR(add);
	for (size_t i = 0; list && list[i]; i++) {
		if (list[i][0] == '!')
			return -EINVAL; /* a negation means nothing here */
		for (size_t j = 0; all[j]; j++)
			if (sshd_match_pattern_list(all[j], list[i], false) == 1 &&
			    (r = strv_push_unique(&out, all[j])) < 0)
				return r;
	}
	if (!out[0])
		return -EINVAL; /* sshd refuses an empty list */
	*ret = TAKE_PTR(out);
	return 0;
}

bool sshd_settings_accepts_algorithm(const struct sshd_settings *s, const char *algorithm)
{
	return strv_contains(s->pubkey_accepted_algorithms, algorithm);
}

int sshd_default_algorithms_from_dump(const char *dump, char **ret)
{
	static const char key[] = "pubkeyacceptedalgorithms ";

	for (const char *p = dump; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, key, sizeof(key) - 1) != 0)
			continue;
		p += sizeof(key) - 1;
		*ret = strndup(p, strcspn(p, "\n"));
		return *ret ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

int sshd_version_parse(const char *text, unsigned *ret)
{
	const char *p = text ? strstr(text, "OpenSSH_") : NULL;
	unsigned major, minor;

	if (!p || sscanf(p, "OpenSSH_%u.%u", &major, &minor) != 2 || minor > 99)
		return -EINVAL;
	*ret = major * 100 + minor;
	return 0;
}
