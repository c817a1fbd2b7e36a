/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include "sshdeval.h"

/*
 * sshd's pattern rules, as OpenSSH's match.c, addrmatch.c and groupaccess.c decide them.
 * A pattern has '*' (any run) and '?' (any one character) and nothing else; a pattern list
 * is comma-separated, each entry possibly negated by a leading '!', and a negated entry that
 * matches wins over every positive one.
 */

/* Does S match the single PATTERN? */
bool sshd_match_pattern(const char *s, const char *pattern);

/*
 * S against the pattern LIST: 1 a positive entry matched, -1 a negated one did, 0 none.
 * LOWER: the list's entries are lowercased first (host names).
 */
int sshd_match_pattern_list(const char *s, const char *list, bool lower);

/* HOST (lowercased) against the host pattern LIST, as sshd_match_pattern_list(). */
int sshd_match_hostname(const char *host, const char *list);

/*
 * ADDR against LIST, whose entries are addresses, CIDR networks ("10.0.0.0/8") or patterns:
 * 1 match, -1 a negated entry matched, 0 none, -2 LIST is invalid (an empty entry, a mask too
 * long, a network with host bits set). ADDR NULL only checks LIST (0 or -2); an ADDR that is
 * not an address matches nothing.
 */
int sshd_match_addr_list(const char *addr, const char *list);

/*
 * The AllowUsers/DenyUsers PATTERN ("user" or "user@host-or-address-list") against USER
 * connecting from HOST and ADDR: 1 match, 0 no match, -1 PATTERN is invalid. USER, HOST and
 * ADDR all NULL only checks PATTERN (0 or -1).
 */
int sshd_match_user(const char *user, const char *host, const char *addr, const char *pattern);

/* Is one of GROUPS (NULL-terminated) matched by one of PATTERNS (single patterns, no lists)? */
bool sshd_match_groups(const char *const *groups, char *const *patterns);

/*
 * The criteria of one Match line (the words after "Match") against CONN, as the sshd of
 * VERSION (see struct sshd_build) takes them; NULL CONN is sshd's pass without a connection,
 * where only "all" matches. 1 match, 0 no match, -EINVAL with sshd's reason in WHY.
 */
int sshd_match_line(char *const *criteria, const struct sshd_conn *conn, unsigned version,
		    char *why, size_t whylen);
