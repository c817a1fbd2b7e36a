/* SPDX-License-Identifier: Apache-2.0 */
#include "sshdlog.h"
#include <string.h>
#include "macro.h"

/*
 * sshd's sentences as OpenSSH 9.x and 10.x log them (auth.c, auth2.c, auth2-pubkey.c,
 * auth2-pubkeyfile.c, misc.c safe_path(), packet.c, sshd-session.c), in the order they are
 * tried. sshd's log.c writes "error: " before a line of level error; a line of the pre-auth
 * process ends with " [preauth]"; sshd-session.c writes the function name before some.
 */
#define LEVEL_PREFIXES                                                                             \
	{                                                                                          \
		"error: ", "fatal: ", "debug1: "                                                   \
	}
#define PREAUTH_SUFFIX " [preauth]"
#define SSHD_COMMS                                                                                 \
	{                                                                                          \
		"sshd", "sshd-session", "sshd-auth"                                                \
	}

struct view {
	const char *p;
	const char *end;
};

/* A view whose end came before its start (two finds that overlap) is empty. */
static size_t view_len(const struct view *v)
{
	return v->end > v->p ? (size_t)(v->end - v->p) : 0;
}

static bool eat(struct view *v, const char *lit)
{
	size_t n = strlen(lit);

	if (view_len(v) < n || memcmp(v->p, lit, n) != 0)
		return false;
	v->p += n;
	return true;
}

static bool eat_end(struct view *v, const char *lit)
{
	size_t n = strlen(lit);

	if (view_len(v) < n || memcmp(v->end - n, lit, n) != 0)
		return false;
	v->end -= n;
	return true;
}

/* The first (or with LAST, the last) occurrence of LIT in V, or NULL. */
static const char *find(const struct view *v, const char *lit, bool last)
{
	size_t n = strlen(lit);
	const char *hit = NULL;

	if (view_len(v) < n)
		return NULL;
	for (const char *q = v->p; q + n <= v->end; q++)
		if (memcmp(q, lit, n) == 0) {
			hit = q;
			if (!last)
				break;
		}
	return hit;
}

/* Copy [P, END) into BUF of SIZE bytes; false (BUF "") when it does not fit or is empty. */
static bool put(char *buf, size_t size, const char *p, const char *end)
{
	size_t n = end > p ? (size_t)(end - p) : 0;

	buf[0] = '\0';
	if (n == 0 || n >= size)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

/* A decimal port in [P, END), or -1. */
static int parse_port(const char *p, const char *end)
{
	long v = 0;

	if (p >= end || end - p > 5)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v <= 65535 ? (int)v : -1;
}

/* V is "ADDR port N" exactly: the address and the port. */
static bool addr_port(struct view v, struct sshdlog_line *l)
{
	const char *sp = find(&v, " port ", true);

	if (!sp)
		return false;
	l->port = parse_port(sp + strlen(" port "), v.end);
	if (l->port < 0 || !put(l->addr, sizeof(l->addr), v.p, sp))
		return false;
	return memchr(l->addr, ' ', strlen(l->addr)) == NULL;
}

/* V is "USER from ADDR port N" (the last " from "): all three. */
static bool user_from(struct view v, struct sshdlog_line *l)
{
	const char *f = find(&v, " from ", true);

	if (!f || !put(l->user, sizeof(l->user), v.p, f))
		return false;
	return addr_port((struct view){f + strlen(" from "), v.end}, l);
}

/* "TYPE FP" at the end of a Failed or Accepted line. */
static void key_of(struct view v, struct sshdlog_line *l)
{
	const char *sp = find(&v, " ", false);

	if (!sp || !put(l->key_type, sizeof(l->key_type), v.p, sp))
		return;
	if (!put(l->fingerprint, sizeof(l->fingerprint), sp + 1, v.end))
		l->key_type[0] = '\0';
}

/* "[invalid user |authenticating user |user ]" before a user's name. */
static enum sshdlog_who eat_who(struct view *v)
{
	if (eat(v, "invalid user "))
		return SSHDLOG_WHO_INVALID;
	if (eat(v, "authenticating user "))
		return SSHDLOG_WHO_AUTHENTICATING;
	if (eat(v, "user "))
		return SSHDLOG_WHO_USER;
	return SSHDLOG_WHO_NONE;
}

/* "METHOD for [invalid user ]USER from ADDR port N ssh2[: TYPE FP]" */
static bool method_line(struct view v, struct sshdlog_line *l)
{
	const char *f = find(&v, " for ", false);
	const char *ssh2 = find(&v, " ssh2", true);

	if (!f || !ssh2 || ssh2 < f + strlen(" for ") || !put(l->method, sizeof(l->method), v.p, f))
		return false;
	struct view rest = {f + strlen(" for "), ssh2};
	l->who = eat_who(&rest);
	if (!user_from(rest, l))
		return false;
	struct view tail = {ssh2 + strlen(" ssh2"), v.end};
	if (eat(&tail, ": "))
		key_of(tail, l);
	return true;
}

/* "[invalid user |authenticating user |user ]USER ADDR port N[:...]": the end of a connection. */
static bool who_addr_port(struct view v, struct sshdlog_line *l)
{
	const char *colon = find(&v, ":", false);
	/* An IPv6 address holds colons too: the reason after it follows " port N". */
	const char *port = find(&v, " port ", true);

	if (port && colon && colon > port)
		v.end = colon;
	l->who = eat_who(&v);
	if (l->who == SSHDLOG_WHO_NONE)
		return addr_port(v, l);
	const char *sp = port ? port : v.end;
	while (sp > v.p && sp[-1] != ' ')
		sp--;
	if (sp <= v.p || !put(l->user, sizeof(l->user), v.p, sp - 1))
		return false;
	return addr_port((struct view){sp, v.end}, l);
}

static bool parse_end(struct view v, struct sshdlog_line *l)
{
	static const char *const ends[] = {
	    "Connection closed by ", "Connection reset by ",
	    "Disconnected from ",    "Timeout before authentication for ",
	    "Disconnecting ",
	};

	for (size_t i = 0; i < ELEMENTSOF(ends); i++)
		if (eat(&v, ends[i])) {
			l->kind = SSHDLOG_END;
			return who_addr_port(v, l);
		}
	return false;
}

/* "User U from A not allowed because ...", "User U not allowed because ...". */
static bool parse_user_not_allowed(struct view v, struct sshdlog_line *l)
{
	const char *b = find(&v, " not allowed because ", false);

	if (!eat(&v, "User ") || !b || b < v.p)
		return false;
	struct view who = {v.p, b};
	struct view why = {b + strlen(" not allowed because "), v.end};
	const char *f = find(&who, " from ", true);
	if (!put(l->user, sizeof(l->user), who.p, f ? f : who.end))
		return false;
	if (f)
		put(l->addr, sizeof(l->addr), f + strlen(" from "), who.end);
	put(l->detail, sizeof(l->detail), why.p, why.end);
	if (eat(&why, "account is locked"))
		l->kind = SSHDLOG_ACCOUNT_LOCKED;
	else if (eat(&why, "shell "))
		l->kind = SSHDLOG_SHELL;
	else
		l->kind = SSHDLOG_NOT_ALLOWED;
	return true;
}

/* The lines about the key or the keys files. */
static bool parse_key_lines(struct view v, struct sshdlog_line *l)
{
	const char *p;

	if (eat(&v, "Authentication refused: ")) {
		l->kind = SSHDLOG_STRICT_MODES;
		put(l->detail, sizeof(l->detail), v.p, v.end);
		return true;
	}
	if (eat(&v, "Could not open user '")) {
		l->kind = SSHDLOG_KEYS_UNREADABLE;
		p = find(&v, "' authorized keys '", false);
		if (!p || !put(l->user, sizeof(l->user), v.p, p))
			return false;
		put(l->detail, sizeof(l->detail), p + strlen("' authorized keys '"), v.end);
		return true;
	}
	if (eat(&v, "Authentication key ")) {
		l->kind = SSHDLOG_KEY_REVOKED;
		p = find(&v, " revoked by file ", false);
		if (!p)
			return false;
		key_of((struct view){v.p, p}, l);
		put(l->detail, sizeof(l->detail), p + strlen(" revoked by file "), v.end);
		return true;
	}
	if (eat(&v, "Accepted key ")) {
		l->kind = SSHDLOG_KEY_FOUND;
		p = find(&v, " found at ", false);
		if (!p)
			return false;
		key_of((struct view){v.p, p}, l);
		put(l->detail, sizeof(l->detail), p + strlen(" found at "), v.end);
		return true;
	}
	if ((p = find(&v, ": Authentication tried for ", false))) {
		struct view u = {p + strlen(": Authentication tried for "), v.end};
		const char *w = find(&u, " with correct key but not from a permitted host", false);
		if (!w)
			return false;
		l->kind = SSHDLOG_KEY_OPTION;
		put(l->detail, sizeof(l->detail), v.p, p);
		return put(l->user, sizeof(l->user), u.p, w);
	}
	return false;
}

/* A line that may start with sshd's function name ("userauth_pubkey: "). */
static bool parse_func_lines(struct view v, struct sshdlog_line *l)
{
	const char *p = find(&v, ": ", false);
	const char *a;

	if (p && !find(&(struct view){v.p, p}, " ", false))
		v.p = p + 2;
	if ((a = find(&v, " not in PubkeyAcceptedAlgorithms", false)) &&
	    (eat(&v, "signature algorithm ") || eat(&v, "key type "))) {
		l->kind = SSHDLOG_KEY_TYPE;
		return put(l->key_type, sizeof(l->key_type), v.p, a);
	}
	if (eat(&v, "refusing ") && (a = find(&v, " key", false))) {
		l->kind = SSHDLOG_KEY_TOO_SMALL;
		return put(l->key_type, sizeof(l->key_type), v.p, a);
	}
	if (eat(&v, "Refused by key options")) {
		l->kind = SSHDLOG_KEY_OPTION;
		return true;
	}
	if (eat(&v, "maximum authentication attempts exceeded for ")) {
		const char *ssh2 = find(&v, " ssh2", true);
		l->kind = SSHDLOG_TOO_MANY;
		if (ssh2)
			v.end = ssh2;
		l->who = eat_who(&v);
		return user_from(v, l);
	}
	return false;
}

static bool parse_view(struct view v, struct sshdlog_line *l)
{
	if (eat(&v, "Connection from ")) {
		const char *on = find(&v, " on ", false);
		l->kind = SSHDLOG_CONNECTION;
		return on && addr_port((struct view){v.p, on}, l);
	}
	struct view keep = v;
	if (!eat(&keep, "Accepted key ") && eat(&v, "Accepted ")) {
		l->kind = SSHDLOG_ACCEPTED;
		return method_line(v, l);
	}
	if (eat(&v, "Failed ")) {
		l->kind = SSHDLOG_FAILED;
		return method_line(v, l);
	}
	if (eat(&v, "Partial ")) {
		l->kind = SSHDLOG_PARTIAL;
		return method_line(v, l);
	}
	if (eat(&v, "Invalid user ")) {
		l->kind = SSHDLOG_INVALID_USER;
		l->who = SSHDLOG_WHO_INVALID;
		return user_from(v, l);
	}
	if (eat(&v, "ROOT LOGIN REFUSED FROM ")) {
		l->kind = SSHDLOG_ROOT_REFUSED;
		strcpy(l->user, "root");
		return addr_port(v, l);
	}
	if (eat(&v, "Account ") && eat_end(&v, " has expired")) {
		l->kind = SSHDLOG_ACCOUNT_EXPIRED;
		return put(l->user, sizeof(l->user), v.p, v.end);
	}
	return parse_end(v, l) || parse_user_not_allowed(v, l) || parse_key_lines(v, l) ||
	       parse_func_lines(v, l);
}

enum sshdlog_kind sshdlog_parse(pid_t pid, const char *message, size_t len,
				struct sshdlog_line *ret)
{
	static const char *const levels[] = LEVEL_PREFIXES;
	struct view v = {message, message + len};

	memset(ret, 0, sizeof(*ret));
	ret->port = -1;
	while (v.end > v.p && (v.end[-1] == '\n' || v.end[-1] == '\r'))
		v.end--;
	if (memchr(v.p, '\0', view_len(&v)))
		return SSHDLOG_OTHER;
	for (size_t i = 0; i < ELEMENTSOF(levels); i++)
		if (eat(&v, levels[i]))
			break;
	eat_end(&v, PREAUTH_SUFFIX);
	if (!parse_view(v, ret)) {
		memset(ret, 0, sizeof(*ret));
		ret->port = -1;
		return SSHDLOG_OTHER;
	}
	ret->pid = pid;
	return ret->kind;
}

bool sshdlog_is_sshd_comm(const char *comm, size_t len)
{
	static const char *const comms[] = SSHD_COMMS;

	for (size_t i = 0; i < ELEMENTSOF(comms); i++)
		if (strlen(comms[i]) == len && memcmp(comms[i], comm, len) == 0)
			return true;
	return false;
}

const char *sshdlog_kind_to_string(enum sshdlog_kind kind)
{
	static const char *const names[_SSHDLOG_KIND_MAX] = {
	    [SSHDLOG_OTHER] = "other",
	    [SSHDLOG_CONNECTION] = "connection",
	    [SSHDLOG_ACCEPTED] = "accepted",
	    [SSHDLOG_FAILED] = "failed",
	    [SSHDLOG_PARTIAL] = "partial",
	    [SSHDLOG_KEY_FOUND] = "key-found",
	    [SSHDLOG_INVALID_USER] = "invalid-user",
	    [SSHDLOG_NOT_ALLOWED] = "not-allowed",
	    [SSHDLOG_ACCOUNT_LOCKED] = "account-locked",
	    [SSHDLOG_ACCOUNT_EXPIRED] = "account-expired",
	    [SSHDLOG_SHELL] = "shell",
	    [SSHDLOG_ROOT_REFUSED] = "root-refused",
	    [SSHDLOG_STRICT_MODES] = "strict-modes",
	    [SSHDLOG_KEYS_UNREADABLE] = "keys-unreadable",
	    [SSHDLOG_KEY_TYPE] = "key-type",
	    [SSHDLOG_KEY_TOO_SMALL] = "key-too-small",
	    [SSHDLOG_KEY_REVOKED] = "key-revoked",
	    [SSHDLOG_KEY_OPTION] = "key-option",
	    [SSHDLOG_TOO_MANY] = "too-many",
	    [SSHDLOG_END] = "end",
	};

	return kind < _SSHDLOG_KIND_MAX ? names[kind] : NULL;
}
