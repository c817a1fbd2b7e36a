/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "macro.h"
#include "sshdeval.h"
#include "sshdmatch.h"
#include "strv.h"

/*
 * sshd reads its configuration twice (servconf.c): once without a connection, where only
 * "Match all" blocks apply, and once for the connection, where only Match blocks count. In
 * each pass the first value of a keyword wins (AllowUsers and its kin accumulate instead),
 * and a value the connection's pass found replaces the first pass's. Both passes are made
 * here in one walk over the files: each file's state holds both passes' Match state.
 */

enum kw {
	KW_ALLOW_USERS,
	KW_DENY_USERS,
	KW_ALLOW_GROUPS,
	KW_DENY_GROUPS,
	KW_PERMIT_ROOT,
	KW_PUBKEY,
	KW_METHODS,
	KW_ALGORITHMS,
	KW_RSA_SIZE,
	KW_KEYS_FILE,
	KW_KEYS_COMMAND,
	KW_KEYS_COMMAND_USER,
	KW_CA_KEYS,
	KW_PRINCIPALS_FILE,
	KW_REVOKED,
	KW_STRICT_MODES,
	KW_USE_PAM,
	KW_LOG_LEVEL,
	/* Only for the check that AuthenticationMethods can be satisfied. */
	KW_PASSWORD,
	KW_KBDINT,
	KW_HOSTBASED,
	KW_GSSAPI,
	KW_MAX
};

enum kind {
	K_USERS,   /* AllowUsers patterns: every word of every line */
	K_GROUPS,  /* AllowGroups patterns, the same */
	K_FLAG,	   /* yes or no */
	K_ROOT,	   /* PermitRootLogin's words */
	K_METHODS, /* the words of the first line */
	K_ALGORITHMS /* one list, with +, - or ^ */,
	K_INT,
	K_FILES,      /* the words of the first line */
	K_COMMAND,    /* the rest of the line as written */
	K_WORD,	      /* one word */
	K_PATH,	      /* one path, a relative one taken from "/" where sshd starts */
	K_PRINCIPALS, /* one path, relative to the home */
	K_LOG_LEVEL,
};

struct keyword {
	const char *name;
	enum kw kw;
	enum kind kind;
	bool in_match; /* allowed in a Match block */
};

/* sshd's names for the keywords that decide a public key login (servconf.c keywords[]). */
static const struct keyword keywords[] = {
    {"allowusers", KW_ALLOW_USERS, K_USERS, true},
    {"denyusers", KW_DENY_USERS, K_USERS, true},
    {"allowgroups", KW_ALLOW_GROUPS, K_GROUPS, true},
    {"denygroups", KW_DENY_GROUPS, K_GROUPS, true},
    {"permitrootlogin", KW_PERMIT_ROOT, K_ROOT, true},
    {"pubkeyauthentication", KW_PUBKEY, K_FLAG, true},
    {"dsaauthentication", KW_PUBKEY, K_FLAG, false},
    {"authenticationmethods", KW_METHODS, K_METHODS, true},
    {"pubkeyacceptedalgorithms", KW_ALGORITHMS, K_ALGORITHMS, true},
    {"pubkeyacceptedkeytypes", KW_ALGORITHMS, K_ALGORITHMS, true},
    {"requiredrsasize", KW_RSA_SIZE, K_INT, true},
    {"authorizedkeysfile", KW_KEYS_FILE, K_FILES, true},
    {"authorizedkeyscommand", KW_KEYS_COMMAND, K_COMMAND, true},
    {"authorizedkeyscommanduser", KW_KEYS_COMMAND_USER, K_WORD, true},
    {"trustedusercakeys", KW_CA_KEYS, K_PATH, true},
    {"revokedkeys", KW_REVOKED, K_PATH, true},
    {"authorizedprincipalsfile", KW_PRINCIPALS_FILE, K_PRINCIPALS, true},
    {"strictmodes", KW_STRICT_MODES, K_FLAG, false},
    {"usepam", KW_USE_PAM, K_FLAG, false},
    {"loglevel", KW_LOG_LEVEL, K_LOG_LEVEL, true},
    {"passwordauthentication", KW_PASSWORD, K_FLAG, true},
    {"kbdinteractiveauthentication", KW_KBDINT, K_FLAG, true},
    {"challengeresponseauthentication", KW_KBDINT, K_FLAG, true},
    {"skeyauthentication", KW_KBDINT, K_FLAG, true},
    {"hostbasedauthentication", KW_HOSTBASED, K_FLAG, true},
    {"gssapiauthentication", KW_GSSAPI, K_FLAG, true},
};

/* sshd's defaults for what is not set (fill_default_server_options()). */
static const char *const defaults[KW_MAX] = {
    [KW_PERMIT_ROOT] = "prohibit-password",
    [KW_PUBKEY] = "yes",
    [KW_RSA_SIZE] = "1024",
    [KW_KEYS_FILE] = SSHD_DEFAULT_AUTHORIZED_KEYS,
    [KW_STRICT_MODES] = "yes",
    [KW_USE_PAM] = "no",
    [KW_LOG_LEVEL] = "INFO",
    [KW_PASSWORD] = "yes",
    [KW_KBDINT] = "yes",
    [KW_HOSTBASED] = "no",
    [KW_GSSAPI] = "no",
};

static const char *const root_words[] = {"yes", "prohibit-password", "without-password",
					 "forced-commands-only", "no"};
/* sshd's log levels; DEBUG1 is DEBUG, and Debian's sshd also takes SILENT for QUIET. */
static const char *const log_levels[] = {"QUIET", "FATAL",  "ERROR",  "INFO",	"VERBOSE",
					 "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", "SILENT"};
/* The methods AuthenticationMethods may name, and the keyword that enables each. */
static const struct {
	const char *name;
	int kw; /* -1: always enabled */
} methods[] = {
    {"none", -1},
    {"publickey", KW_PUBKEY},
    {"gssapi-with-mic", KW_GSSAPI},
    {"password", KW_PASSWORD},
    {"keyboard-interactive", KW_KBDINT},
    {"hostbased", KW_HOSTBASED},
};

/* One pass's values: NULL not set; FROM the FILE:LINE of the first. */
struct pass {
	char **v[KW_MAX];
	char *from[KW_MAX];
};

/* A file's state, for both passes: active, and sshd's flags for Include. */
#define G_ACTIVE 0x01u
#define G_NEVER 0x02u
#define M_ACTIVE 0x04u
#define M_NEVER 0x08u
#define M_ONLY 0x10u

struct eval {
	const struct sshd_conn *conn;
	struct pass g, m;
	char **def, **all; /* the default accepted algorithms; every name sshd knows */
	char *err;
	size_t errlen;
};

static int fail(struct eval *e, const struct sshd_line *l, const char *fmt, ...) _printf_(3, 4);
static int fail(struct eval *e, const struct sshd_line *l, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (l)
		snprintf(e->err, e->errlen, "%s:%u: %s", l->file, l->line, why);
	else
		snprintf(e->err, e->errlen, "%s", why);
	return -EINVAL;
}

static const struct keyword *keyword_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(keywords); i++)
		if (strcasecmp(name, keywords[i].name) == 0)
			return &keywords[i];
	return NULL;
}

static int word_index(const char *const *words, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(words[i], w) == 0)
			return (int)i;
	return -1;
}

/* Is the method list LIST valid (auth2_methods_valid())? With ENABLED: is every method on? */
static bool methods_valid(const char *list, const struct pass *g, bool enabled)
{
	_cleanup_free_ char *copy = strdup(list);
	char *m, *next;

	if (!copy || !*copy)
		return false;
	for (m = copy; m; m = next) {
		size_t i;

		next = strchr(m, ',');
		if (next)
			*next++ = 0;
		m[strcspn(m, ":")] = 0;
		for (i = 0; i < ELEMENTSOF(methods); i++)
			if (strcmp(m, methods[i].name) == 0)
				break;
		if (i == ELEMENTSOF(methods))
			return false;
		if (enabled && methods[i].kw >= 0) {
			char *const *v = g->v[methods[i].kw];
			const char *on = v ? v[0] : defaults[methods[i].kw];

			if (strcmp(on, "yes") != 0)
				return false;
		}
	}
	return true;
}

static int int_parse(const char *s, int *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > 0x7fffffff)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* Split a comma-separated LIST into a vector (a newline separates too); KEEP_EMPTY: "" too. */
static int list_split(const char *list, bool keep_empty, char ***ret)
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

static int dup_list(char *const *v, char ***ret);

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
static bool algorithms_valid(const char *names, char *const *all)
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
static int algorithms_assemble(const char *raw, char *const *def, char *const *all, char ***ret)
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
		return dup_list(def, ret);
	r = list_split(*raw == '+' || *raw == '^' ? raw + 1 : raw, true, &add);
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

/* One word: the first argument, and nothing after it. */
static int one_word(struct eval *e, const struct sshd_line *l)
{
	if (l->args[2])
		return fail(e, l, "keyword %s extra arguments at end of line", l->args[0]);
	if (!*l->args[1])
		return fail(e, l, "missing %s argument", l->args[0]);
	return 0;
}

static int parse_patterns(struct eval *e, const struct sshd_line *l, const struct keyword *k)
{
	for (size_t i = 1; l->args[i]; i++) {
		if (!*l->args[i] ||
		    (k->kind == K_USERS && sshd_match_user(NULL, NULL, NULL, l->args[i]) < 0))
			return fail(e, l, "invalid %s pattern: \"%s\"", l->args[0], l->args[i]);
	}
	return 0;
}

static int parse_methods(struct eval *e, const struct sshd_line *l)
{
	bool any = false;

	for (size_t i = 1; l->args[i]; i++) {
		if (strcmp(l->args[i], "any") == 0) {
			if (i > 1)
				return fail(e, l, "\"any\" must appear alone in %s", l->args[0]);
			any = true;
		} else if (any) {
			return fail(e, l, "\"any\" must appear alone in %s", l->args[0]);
		} else if (!methods_valid(l->args[i], NULL, false)) {
			return fail(e, l, "invalid %s method list.", l->args[0]);
		}
	}
	return 0;
}

/* The value of one word of kind K as sshd keeps it, in BUF; or NULL for a bad word. */
static const char *parse_word(const struct keyword *k, const char *w, char *buf, size_t len)
{
	int i, n;

	switch (k->kind) {
	case K_FLAG:
		i = word_index((const char *const[]){"yes", "no"}, 2, w);
		return i < 0 ? NULL : i == 0 ? "yes" : "no";
	case K_ROOT:
		i = word_index(root_words, ELEMENTSOF(root_words), w);
		return i < 0 ? NULL : i == 2 ? "prohibit-password" : root_words[i];
	case K_LOG_LEVEL:
		i = word_index(log_levels, ELEMENTSOF(log_levels), w);
		return i < 0 ? NULL : i == 6 ? "DEBUG" : i == 9 ? "QUIET" : log_levels[i];
	case K_INT:
		if (int_parse(w, &n) < 0)
			return NULL;
		snprintf(buf, len, "%d", n);
		return buf;
	case K_PATH:
		if (strcasecmp(w, "none") == 0)
			return "none";
		/* Relative to where sshd started: "/" for a service. */
		snprintf(buf, len, "%s%s", w[0] == '/' ? "" : "//", w);
		return buf;
	default:
		return w;
	}
}

/* The values LINE gives keyword K, checked as sshd checks them, active or not. */
static int parse_values(struct eval *e, const struct sshd_line *l, const struct keyword *k,
			char *const *all, char ***ret)
{
	char buf[4200];
	const char *v;
	int r;

	switch (k->kind) {
	case K_USERS:
	case K_GROUPS:
	case K_FILES:
		if (k->kind != K_FILES && (r = parse_patterns(e, l, k)) < 0)
			return r;
		for (size_t i = 1; l->args[i]; i++)
			if (!*l->args[i])
				return fail(e, l, "keyword %s empty argument", l->args[0]);
		break;
	case K_METHODS:
		if ((r = parse_methods(e, l)) < 0)
			return r;
		break;
	case K_COMMAND:
		if (l->rest[0] != '/' && strcasecmp(l->rest, "none") != 0)
			return fail(e, l, "%s must be an absolute path", l->args[0]);
		return strv_push(ret, l->rest);
	case K_ALGORITHMS:
		if ((r = one_word(e, l)) < 0)
			return r;
		v = l->args[1];
		if (*v != '-' && !algorithms_valid(*v == '+' || *v == '^' ? v + 1 : v, all))
			return fail(e, l, "Bad key types '%s'.", v);
		return strv_push(ret, v);
	default:
		if ((r = one_word(e, l)) < 0)
			return r;
		v = parse_word(k, l->args[1], buf, sizeof(buf));
		if (!v)
			return fail(e, l, "unsupported option \"%s\".", l->args[1]);
		return strv_push(ret, v);
	}
	for (size_t i = 1; l->args[i]; i++)
		if ((r = strv_push(ret, l->args[i])) < 0)
			return r;
	return 0;
}

/* Give the values of one line to pass P, where ACTIVE says whether the line applies there. */
static int pass_apply(struct eval *e, const struct sshd_line *l, struct pass *p, bool active,
		      const struct keyword *k, char *const *vals)
{
	bool accumulate = k->kind == K_USERS || k->kind == K_GROUPS;
	int r;

	/* sshd refuses "any" once a list is set in this pass, whether the line applies or not. */
	if (k->kind == K_METHODS && p->v[k->kw] && strv_contains(vals, "any"))
		return fail(e, l, "\"any\" must appear alone in %s", l->args[0]);
	if (!active || (p->v[k->kw] && !accumulate))
		return 0;
	if (!p->from[k->kw] && asprintf(&p->from[k->kw], "%s:%u", l->file, l->line) < 0)
		return -ENOMEM;
	if (!p->v[k->kw] && !(p->v[k->kw] = calloc(1, sizeof(char *))))
		return -ENOMEM;
	for (size_t i = 0; vals[i]; i++)
		if ((r = strv_push(&p->v[k->kw], vals[i])) < 0)
			return r;
	return 0;
}

/* An included file begins: its state follows from the including line's (servconf.c Include). */
static void include_begins(unsigned *state)
{
	unsigned s = *state & (G_ACTIVE | M_ACTIVE);

	if (!(*state & G_ACTIVE))
		s |= G_NEVER;
	if (*state & M_ONLY)
		s |= M_ONLY;
	else if (!(*state & M_ACTIVE))
		s |= M_NEVER;
	*state = s;
}

static int match_begins(struct eval *e, const struct sshd_line *l)
{
	char why[512] = "";
	unsigned *s = l->state;
	int g, m;

	g = sshd_match_line(l->args + 1, NULL, why, sizeof(why));
	if (g >= 0)
		m = sshd_match_line(l->args + 1, *s & M_NEVER ? NULL : e->conn, why, sizeof(why));
	if (g < 0 || m < 0)
		return fail(e, l, "Bad Match condition: %s", why);
	*s &= ~(G_ACTIVE | M_ACTIVE | M_ONLY);
	if (g > 0 && !(*s & G_NEVER))
		*s |= G_ACTIVE;
	if (m > 0 && !(*s & M_NEVER))
		*s |= M_ACTIVE;
	return 0;
}

static int eval_line(void *userdata, const struct sshd_line *l)
{
	struct eval *e = userdata;
	_cleanup_(strv_freep) char **vals = NULL;
	const struct keyword *k;
	bool g_active, m_active;
	int r;

	if (l->line == 0) {
		if (l->depth == 0)
			*l->state = G_ACTIVE | M_ONLY; /* the main file */
		else
			include_begins(l->state);
		return 0;
	}
	if (!l->args[1])
		return fail(e, l, "no argument after keyword \"%s\"", l->args[0]);
	if (strcasecmp(l->args[0], "Match") == 0)
		return match_begins(e, l);
	k = keyword_find(l->args[0]);
	if (!k)
		return 0; /* Include, or a keyword that plays no part in a key login */
	g_active = *l->state & G_ACTIVE;
	m_active = *l->state & M_ACTIVE;
	if (!k->in_match && !g_active)
		return fail(e, l, "Directive '%s' is not allowed within a Match block", l->args[0]);
	vals = calloc(1, sizeof(char *));
	if (!vals)
		return -ENOMEM;
	r = parse_values(e, l, k, e->all, &vals);
	if (r < 0)
		return r;
	r = pass_apply(e, l, &e->g, g_active, k, vals);
	if (r >= 0 && k->in_match)
		r = pass_apply(e, l, &e->m, m_active, k, vals);
	return r;
}

/* What sshd checks once the first pass is done (sshd.c), and the accepted algorithms. */
static int eval_check(struct eval *e, char ***ret_algorithms)
{
	char **cmd = e->g.v[KW_KEYS_COMMAND], **m = e->g.v[KW_METHODS];
	_cleanup_(strv_freep) char **g_algs = NULL;
	size_t i;
	int r;

	if (cmd && strcasecmp(cmd[0], "none") != 0 && !e->g.v[KW_KEYS_COMMAND_USER])
		return fail(e, NULL, "AuthorizedKeysCommand set without AuthorizedKeysCommandUser");
	if (m && strcmp(m[0], "any") != 0) {
		for (i = 0; m[i] && !methods_valid(m[i], &e->g, true); i++)
			;
		if (!m[i])
			return fail(e, NULL,
				    "AuthenticationMethods cannot be satisfied by enabled "
				    "authentication methods");
	}
	for (int pass = 0; pass < 2; pass++) {
		const struct pass *p = pass ? &e->m : &e->g;
		char **v = p->v[KW_ALGORITHMS];

		if (pass && !v)
			break;
		strv_free(g_algs);
		g_algs = NULL;
		r = algorithms_assemble(v ? v[0] : NULL, e->def, e->all, &g_algs);
		if (r == -EINVAL)
			return fail(e, NULL, "%s: PubkeyAcceptedAlgorithms %s: invalid list",
				    p->from[KW_ALGORITHMS] ? p->from[KW_ALGORITHMS] : "",
				    v ? v[0] : "");
		if (r < 0)
			return r;
	}
	*ret_algorithms = TAKE_PTR(g_algs);
	return 0;
}

/* The value of KW for the connection: the Match pass's, else the first pass's, else NULL. */
static char **value(const struct eval *e, enum kw kw, char *from, size_t fromlen)
{
	const struct pass *p = e->m.v[kw] ? &e->m : e->g.v[kw] ? &e->g : NULL;

	snprintf(from, fromlen, "%s", p ? p->from[kw] : "");
	return p ? p->v[kw] : NULL;
}

static bool is_none(char *const *v)
{
	return !v || strcasecmp(v[0], "none") == 0;
}

static int dup_or_null(char *const *v, char **ret)
{
	*ret = NULL;
	if (is_none(v))
		return 0;
	*ret = strdup(v[0]);
	return *ret ? 0 : -ENOMEM;
}

static int dup_list(char *const *v, char ***ret)
{
	*ret = NULL;
	for (size_t i = 0; v && v[i]; i++) {
		int r = strv_push(ret, v[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

static const char *word_or_default(const struct eval *e, enum kw kw, char *from, size_t fromlen)
{
	char **v = value(e, kw, from, fromlen);

	return v ? v[0] : defaults[kw];
}

static int settings_fill(const struct eval *e, struct sshd_settings *s)
{
	sshd_origin o;
	const char *w;
	char **v;
	int r = 0;

	s->pubkey_authentication =
	    strcmp(
		word_or_default(e, KW_PUBKEY, s->pubkey_authentication_from, sizeof(sshd_origin)),
		"yes") == 0;
	s->strict_modes = strcmp(word_or_default(e, KW_STRICT_MODES, o, sizeof(o)), "yes") == 0;
	s->use_pam = strcmp(word_or_default(e, KW_USE_PAM, o, sizeof(o)), "yes") == 0;
	w = word_or_default(e, KW_PERMIT_ROOT, s->permit_root_login_from, sizeof(sshd_origin));
	s->permit_root_login = strcmp(w, "yes") == 0 ? SSHD_ROOT_YES
			       : strcmp(w, "forced-commands-only") == 0
				   ? SSHD_ROOT_FORCED_COMMANDS_ONLY
			       : strcmp(w, "no") == 0 ? SSHD_ROOT_NO
						      : SSHD_ROOT_PROHIBIT_PASSWORD;
	s->required_rsa_size =
	    atoi(word_or_default(e, KW_RSA_SIZE, s->required_rsa_size_from, sizeof(sshd_origin)));
	s->log_level = strdup(word_or_default(e, KW_LOG_LEVEL, o, sizeof(o)));
	if (!s->log_level)
		return -ENOMEM;
	if ((r = dup_list(value(e, KW_ALLOW_USERS, s->allow_users_from, sizeof(o)),
			  &s->allow_users)) < 0 ||
	    (r = dup_list(value(e, KW_DENY_USERS, s->deny_users_from, sizeof(o)), &s->deny_users)) <
		0 ||
	    (r = dup_list(value(e, KW_ALLOW_GROUPS, s->allow_groups_from, sizeof(o)),
			  &s->allow_groups)) < 0 ||
	    (r = dup_list(value(e, KW_DENY_GROUPS, s->deny_groups_from, sizeof(o)),
			  &s->deny_groups)) < 0)
		return r;
	v = value(e, KW_METHODS, s->authentication_methods_from, sizeof(o));
	if (v && strcmp(v[0], "any") != 0 && (r = dup_list(v, &s->authentication_methods)) < 0)
		return r;
	v = value(e, KW_KEYS_FILE, o, sizeof(o));
	if (!v)
		r = strv_split_ws(&s->authorized_keys_files, defaults[KW_KEYS_FILE]);
	else if (!(s->authorized_keys_files = calloc(1, sizeof(char *))))
		r = -ENOMEM;
	for (size_t i = 0; v && v[i] && r >= 0; i++)
		if (strcasecmp(v[i], "none") != 0)
			r = strv_push(&s->authorized_keys_files, v[i]);
	if (r < 0 ||
	    (r = dup_or_null(value(e, KW_KEYS_COMMAND, o, sizeof(o)),
			     &s->authorized_keys_command)) < 0 ||
	    (r = dup_or_null(value(e, KW_CA_KEYS, o, sizeof(o)), &s->trusted_user_ca_keys)) < 0 ||
	    (r = dup_or_null(value(e, KW_PRINCIPALS_FILE, o, sizeof(o)),
			     &s->authorized_principals_file)) < 0 ||
	    (r = dup_or_null(value(e, KW_REVOKED, o, sizeof(o)), &s->revoked_keys)) < 0)
		return r;
	v = value(e, KW_KEYS_COMMAND_USER, o, sizeof(o));
	if (v && !(s->authorized_keys_command_user = strdup(v[0])))
		return -ENOMEM;
	value(e, KW_ALGORITHMS, s->pubkey_accepted_algorithms_from, sizeof(o));
	return 0;
}

static void pass_done(struct pass *p)
{
	for (size_t i = 0; i < KW_MAX; i++) {
		strv_free(p->v[i]);
		free(p->from[i]);
	}
}

int sshd_settings_eval_algorithms(int rootfd, const char *root_prefix, const char *path,
				  const struct sshd_conn *conn, const char *default_algorithms,
				  const char *all_algorithms, struct sshd_settings *ret, char *err,
				  size_t errlen)
{
	const char *def = default_algorithms ? default_algorithms : SSHD_PUBKEY_ALGORITHMS_9;
	struct eval e = {.conn = conn, .err = err, .errlen = errlen};
	struct sshd_settings s = {0};
	int r;

	if (!all_algorithms)
		all_algorithms = strstr(def, "webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com")
				     ? SSHD_KEY_ALGORITHMS_10_3
				     : SSHD_KEY_ALGORITHMS_9;
	r = list_split(def, false, &e.def);
	if (r >= 0)
		r = list_split(all_algorithms, false, &e.all);
	if (r >= 0)
		r = sshd_config_walk(rootfd, root_prefix, path, eval_line, &e, NULL, NULL, err,
				     errlen);
	if (r >= 0)
		r = eval_check(&e, &s.pubkey_accepted_algorithms);
	if (r >= 0)
		r = settings_fill(&e, &s);
	pass_done(&e.g);
	pass_done(&e.m);
	strv_free(e.def);
	strv_free(e.all);
	if (r < 0) {
		sshd_settings_done(&s);
		return r;
	}
	*ret = s;
	return 0;
}

int sshd_settings_eval(int rootfd, const char *root_prefix, const char *path,
		       const struct sshd_conn *conn, const char *default_algorithms,
		       struct sshd_settings *ret, char *err, size_t errlen)
{
	return sshd_settings_eval_algorithms(rootfd, root_prefix, path, conn, default_algorithms,
					     NULL, ret, err, errlen);
}

void sshd_settings_done(struct sshd_settings *s)
{
	strv_free(s->allow_users);
	strv_free(s->deny_users);
	strv_free(s->allow_groups);
	strv_free(s->deny_groups);
	strv_free(s->authentication_methods);
	strv_free(s->pubkey_accepted_algorithms);
	strv_free(s->authorized_keys_files);
	free(s->authorized_keys_command);
	free(s->authorized_keys_command_user);
	free(s->trusted_user_ca_keys);
	free(s->authorized_principals_file);
	free(s->revoked_keys);
	free(s->log_level);
	memset(s, 0, sizeof(*s));
}

bool sshd_settings_refuse_user(const struct sshd_settings *s, const struct sshd_conn *conn,
			       char *why, size_t whylen)
{
	const char *user = conn->user ? conn->user : "", *host = conn->host ? conn->host : "";
	size_t i;

	/* allowed_user() in auth.c, in its order and words; an unknown user never gets here. */
	if (!conn->groups)
		return false;
	for (i = 0; s->deny_users && s->deny_users[i]; i++)
		if (sshd_match_user(user, conn->host, conn->addr, s->deny_users[i]) != 0) {
			snprintf(why, whylen,
				 "User %.100s from %.100s not allowed because listed in DenyUsers",
				 user, host);
			return true;
		}
	for (i = 0; s->allow_users && s->allow_users[i]; i++)
		if (sshd_match_user(user, conn->host, conn->addr, s->allow_users[i]) == 1)
			break;
	if (s->allow_users && s->allow_users[0] && !s->allow_users[i]) {
		snprintf(why, whylen,
			 "User %.100s from %.100s not allowed because not listed in AllowUsers",
			 user, host);
		return true;
	}
	if ((!s->deny_groups || !s->deny_groups[0]) && (!s->allow_groups || !s->allow_groups[0]))
		return false;
	if (!conn->groups[0]) {
		snprintf(why, whylen,
			 "User %.100s from %.100s not allowed because not in any group", user,
			 host);
		return true;
	}
	if (sshd_match_groups(conn->groups, s->deny_groups)) {
		snprintf(why, whylen,
			 "User %.100s from %.100s not allowed because a group is listed in "
			 "DenyGroups",
			 user, host);
		return true;
	}
	if (s->allow_groups && s->allow_groups[0] &&
	    !sshd_match_groups(conn->groups, s->allow_groups)) {
		snprintf(why, whylen,
			 "User %.100s from %.100s not allowed because none of user's groups are "
			 "listed in AllowGroups",
			 user, host);
		return true;
	}
	return false;
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
