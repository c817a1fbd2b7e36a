/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdio.h>
#include "cli.h"
#include "whymodel.h"

/*
 * sshmend why USER [--key FILE|-] [--from ADDR] [--json]: would sshd accept a key login as
 * USER, and if not, why, in sshd's words, and what to do.
 */

/* The largest --key file read. */
#define WHY_KEY_MAX (64u << 10)

int why_command(const struct cli_options *o, int argc, char **argv);

/*
 * The public key of --key: the first key line of PATH ("-": standard input); what is wrong with
 * it said on standard error.
 */
int why_read_key(const char *path, struct key_line *ret);

/* The answer, for a person or as one JSON object. */
void why_print_human(FILE *out, const char *user, const struct why *w);
void why_print_json(FILE *out, const char *user, const struct why *w);
