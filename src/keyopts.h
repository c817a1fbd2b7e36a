/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The options before a key on an authorized_keys line, checked as sshauthopt_parse() does. */

/* What the options say that matters after parsing. */
struct options_seen {
	bool cert_authority;
	bool principals;
	/* -EKEYREJECTED when sshd reads the options but refuses the key whenever it matches. */
	int refused;
	char refusal[160];
};

/* Where the options starting at P end: the first blank outside quotes. *UNBALANCED: a quote
 * left open. */
const char *keyopts_end(const char *p, bool *unbalanced);

/*
 * Check the options in [P, END) as sshd would. A syntax error is returned at once; a refusal is
 * only noted in SEEN, because a syntax error elsewhere on the line makes sshd ignore it instead.
 */
int keyopts_parse(const char *p, const char *end, struct options_seen *seen, char *why,
		  size_t whylen);

/*
 * The value of option NAME ("from", "expiry-time", "command"; "" for a flag such as
 * "cert-authority") in OPTIONS, the options text of a line key_parse_line() took: 1 with it
 * (malloc'd) in *ret, 0 when the line has none, -ENOMEM.
 */
int keyopts_value(const char *options, const char *name, char **ret);

/* An expiry-time= value (YYYYMMDD[HHMM[SS]][Z|UTC]) as sshd reads it: seconds since the epoch. */
int keyopts_expiry_time(const char *v, int64_t *ret);
