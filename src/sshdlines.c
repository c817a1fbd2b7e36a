/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "macro.h"
#include "sshdlines.h"
#include "strv.h"

/*
 * Split LINE as sshd does: its words, each NUL-terminated, one after the other in OUT (room for
 * strlen(LINE) + 1 bytes is always enough: a word is never longer than the text it came from,
 * and a blank, a quote or the end ends it). Returns the number of words, or -EBADMSG.
 */
static ssize_t split_words(const char *line, char *out)
{
	const char *p = line;
	ssize_t count = 0;

	for (;;) {
		char quote = 0;

		p += strspn(p, " \t\r\n");
		if (!*p || *p == '#')
			return count;
		for (; *p; p++) {
			if (quote) {
				if (*p == '\\' && (p[1] == quote || p[1] == '\\'))
					*out++ = *++p;
				else if (*p == quote)
					quote = 0;
				else
					*out++ = *p;
			} else if (*p == '"' || *p == '\'') {
				quote = *p;
			} else if (*p == '\\' && p[1]) {
				*out++ = *++p;
			} else if (strchr(" \t\r\n", *p)) {
				break;
			} else {
				*out++ = *p;
			}
		}
		if (quote)
			return -EBADMSG;
		*out++ = 0;
		count++;
	}
}

int sshd_split_args(const char *line, char ***ret)
{
	_cleanup_free_ char *w = malloc(strlen(line) + 1);
	char **l = NULL;
	size_t n = 0;
	ssize_t count;

	if (!w)
		return -ENOMEM;
	count = split_words(line, w);
	if (count < 0)
		return (int)count;
	for (const char *p = w; count-- > 0; p += strlen(p) + 1)
		if (strv_append(&l, &n, p, strlen(p)) < 0)
			goto nomem;
	if (!l && !(l = calloc(1, sizeof(char *))))
		goto nomem;
	*ret = l;
	return 0;
nomem:
	strv_free(l);
	return -ENOMEM;
}

/*
 * The words of a line after its keyword KW, split as sshd does, as one block to free(): the
 * list, NULL-terminated, with KW first, and the text of the words behind it. A line of a
 * thousand words costs one allocation, not a thousand.
 */
static int split_line(const char *kw, const char *rest, char ***ret)
{
	size_t kwlen = strlen(kw) + 1, len = strlen(rest) + 1;
	_cleanup_free_ char *w = malloc(len);
	ssize_t count;
	char **l, *text;

	if (!w)
		return -ENOMEM;
	count = split_words(rest, w);
	if (count < 0)
		return (int)count;
	l = malloc(((size_t)count + 2) * sizeof(char *) + kwlen + len);
	if (!l)
		return -ENOMEM;
	text = (char *)(l + count + 2);
	memcpy(text, kw, kwlen);
	memcpy(text + kwlen, w, len);
	l[0] = text;
	text += kwlen;
	for (ssize_t i = 1; i <= count; i++, text += strlen(text) + 1)
		l[i] = text;
	l[count + 1] = NULL;
	*ret = l;
	return 0;
}

/*
 * Cut LINE into keyword and the rest as sshd does: blanks or one '=' end the keyword.
 * Returns the rest (inside LINE), or NULL for a blank or comment line.
 */
static char *split_keyword(char *line, char **ret_keyword)
{
	size_t n = strlen(line);
	char *kw, *rest;
	bool equals;

	while (n > 0 && strchr(" \t\r\n\f", line[n - 1]))
		line[--n] = 0;
	kw = line + strspn(line, " \t\r\n");
	if (!*kw || *kw == '#')
		return NULL;
	rest = kw + strcspn(kw, " \t\r\n=");
	equals = *rest == '=';
	if (*rest)
		*rest++ = 0;
	rest += strspn(rest, " \t\r\n");
	if (!equals && *rest == '=') {
		rest++;
		rest += strspn(rest, " \t\r\n");
	}
	*ret_keyword = kw;
	return rest;
}

int sshd_cut_text(char *text, struct sshd_cut_file *ret)
{
	struct sshd_cut_file f = {.text = text};
	unsigned lineno = 0;
	char *nl;

	for (char *p = text; p; p = nl ? nl + 1 : NULL) {
		struct sshd_cut_line *l;
		char *kw = NULL, *rest;
		int r;

		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		rest = split_keyword(p, &kw);
		if (!rest)
			continue;
		if (array_room(&f.lines, f.n_lines, sizeof(*f.lines)) < 0) {
			sshd_cut_file_done(&f);
			return -ENOMEM;
		}
		l = &f.lines[f.n_lines++];
		*l = (struct sshd_cut_line){.lineno = lineno, .rest = rest};
		/* The keyword goes first, before the words of the rest. */
		r = split_line(kw, rest, &l->args);
		if (r == -EBADMSG)
			break; /* sshd stops there */
		if (r < 0) {
			sshd_cut_file_done(&f);
			return r;
		}
	}
	*ret = f;
	return 0;
}

void sshd_cut_file_done(struct sshd_cut_file *f)
{
	for (size_t i = 0; i < f->n_lines; i++)
		free(f->lines[i].args);
	free(f->lines);
	free(f->text);
	*f = (struct sshd_cut_file){0};
}
