/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* The kinds of value sshd's keywords take (servconf.c), as sshdeval.c reads them. */
enum sshd_kind {
	SSHD_USERS,	 /* AllowUsers patterns: every word of every line */
	SSHD_GROUPS,	 /* AllowGroups patterns, the same */
	SSHD_FLAG,	 /* yes or no */
	SSHD_ROOT,	 /* PermitRootLogin's words */
	SSHD_METHODS,	 /* AuthenticationMethods: the words of the first line */
	SSHD_ALGORITHMS, /* one list, with +, - or ^ */
	SSHD_INT,
	SSHD_FILES,	 /* the words of the first line, "none" alone from 10.3 */
	SSHD_COMMAND,	 /* the rest of the line as written */
	SSHD_WORD,	 /* one word */
	SSHD_PATH,	 /* one path, a relative one taken from "/" where sshd starts */
	SSHD_PRINCIPALS, /* one path, relative to the home */
	SSHD_LOG_LEVEL,
};

/*
 * The values of one line for a keyword of KIND, checked as sshd checks them whether the line
 * applies or not, and appended to *RET as sshd keeps them ("without-password" becomes
 * "prohibit-password", a number its decimal). ARGS: the keyword and its words; REST: the text
 * after the keyword; VERSION as struct sshd_build counts it; ALL: every algorithm name.
 * -EINVAL with sshd's reason in WHY.
 */
int sshd_value_parse(enum sshd_kind kind, char *const *args, const char *rest, unsigned version,
		     char *const *all, char ***ret, char *why, size_t whylen);

/*
 * Is LIST ("publickey,password", "keyboard-interactive:pam") made of methods sshd knows?
 * With ON: is each of them enabled, as ON(method, USERDATA) says?
 */
bool sshd_methods_valid(const char *list, bool (*on)(const char *method, void *userdata),
			void *userdata);
