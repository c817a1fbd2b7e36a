/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>

/*
 * A file of sshd's configuration cut into lines and words as sshd cuts them (servconf.c,
 * misc.c argv_split()): once per file, however many times an Include meets it.
 */

/* One line with a keyword (blank and comment lines are left out). */
struct sshd_cut_line {
	unsigned lineno;
	char **args;	  /* the keyword, then the words; NULL: an unbalanced quote */
	const char *rest; /* the text after the keyword, as written */
};

struct sshd_cut_file {
	char *text; /* the file's text, which REST points into */
	struct sshd_cut_line *lines;
	size_t n_lines; /* up to and with the first line of an unbalanced quote */
};

/*
 * Cut TEXT (NUL-terminated; it ends at its first NUL, as sshd reads it), which *RET takes
 * over, and frees whatever happens.
 */
int sshd_cut_text(char *text, struct sshd_cut_file *ret);
void sshd_cut_file_done(struct sshd_cut_file *f);

/* Split a line as sshd does: blanks separate, quotes group, '#' starts a comment. */
int sshd_split_args(const char *line, char ***ret);
