/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "macro.h"
#include "sshdalgs.h"
#include "sshdeval.h"
#include "sshdmatch.h"
#include "sshdvalue.h"
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
	KW_USE_DNS,
	KW_CHROOT,
	/* Only for the check that AuthenticationMethods can be satisfied. */
	KW_PASSWORD,
	KW_KBDINT,
	KW_HOSTBASED,
	KW_GSSAPI,
	KW_MAX
};

struct keyword {
	const char *name;
	enum kw kw;
	enum sshd_kind kind;
	bool in_match; /* allowed in a Match block */
};

/* sshd's names for the keywords that decide a public key login (servconf.c keywords[]). */
static const struct keyword keywords[] = {
    {"allowusers", KW_ALLOW_USERS, SSHD_USERS, true},
    {"denyusers", KW_DENY_USERS, SSHD_USERS, true},
    {"allowgroups", KW_ALLOW_GROUPS, SSHD_GROUPS, true},
    {"denygroups", KW_DENY_GROUPS, SSHD_GROUPS, true},
    {"permitrootlogin", KW_PERMIT_ROOT, SSHD_ROOT, true},
    {"pubkeyauthentication", KW_PUBKEY, SSHD_FLAG, true},
    {"dsaauthentication", KW_PUBKEY, SSHD_FLAG, false},
    {"authenticationmethods", KW_METHODS, SSHD_METHODS, true},
    {"pubkeyacceptedalgorithms", KW_ALGORITHMS, SSHD_ALGORITHMS, true},
    {"pubkeyacceptedkeytypes", KW_ALGORITHMS, SSHD_ALGORITHMS, true},
    {"requiredrsasize", KW_RSA_SIZE, SSHD_INT, true},
    {"authorizedkeysfile", KW_KEYS_FILE, SSHD_FILES, true},
    {"authorizedkeyscommand", KW_KEYS_COMMAND, SSHD_COMMAND, true},
    {"authorizedkeyscommanduser", KW_KEYS_COMMAND_USER, SSHD_WORD, true},
    {"trustedusercakeys", KW_CA_KEYS, SSHD_PATH, true},
    {"revokedkeys", KW_REVOKED, SSHD_PATH, true},
    {"authorizedprincipalsfile", KW_PRINCIPALS_FILE, SSHD_PRINCIPALS, true},
    {"strictmodes", KW_STRICT_MODES, SSHD_FLAG, false},
    {"usepam", KW_USE_PAM, SSHD_FLAG, false},
    {"loglevel", KW_LOG_LEVEL, SSHD_LOG_LEVEL, true},
    {"usedns", KW_USE_DNS, SSHD_FLAG, false},
    {"chrootdirectory", KW_CHROOT, SSHD_WORD, true},
    {"passwordauthentication", KW_PASSWORD, SSHD_FLAG, true},
    {"kbdinteractiveauthentication", KW_KBDINT, SSHD_FLAG, true},
    {"challengeresponseauthentication", KW_KBDINT, SSHD_FLAG, true},
    {"skeyauthentication", KW_KBDINT, SSHD_FLAG, true},
    {"hostbasedauthentication", KW_HOSTBASED, SSHD_FLAG, true},
    {"gssapiauthentication", KW_GSSAPI, SSHD_FLAG, true},
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
    [KW_USE_DNS] = "no",
    [KW_PASSWORD] = "yes",
    [KW_KBDINT] = "yes",
    [KW_HOSTBASED] = "no",
    [KW_GSSAPI] = "no",
};

/* The methods AuthenticationMethods may name that a keyword enables. */
static const struct {
	const char *name;
	enum kw kw;
} method_keywords[] = {
    {"publickey", KW_PUBKEY},	 {"gssapi-with-mic", KW_GSSAPI},
    {"password", KW_PASSWORD},	 {"keyboard-interactive", KW_KBDINT},
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
	unsigned version;
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

/* Give the values of one line to pass P, where ACTIVE says whether the line applies there. */
static int pass_apply(struct eval *e, const struct sshd_line *l, struct pass *p, bool active,
		      const struct keyword *k, char *const *vals)
{
	bool accumulate = k->kind == SSHD_USERS || k->kind == SSHD_GROUPS;
	int r;

	/* Before 9.7 sshd refuses "any" once a list is set in this pass, whether the line
	 * applies or not. */
	if (k->kind == SSHD_METHODS && e->version < SSHD_VERSION_9_7 && p->v[k->kw] &&
	    strv_contains(vals, "any"))
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

	g = sshd_match_line(l->args + 1, NULL, e->version, why, sizeof(why));
	if (g >= 0)
		m = sshd_match_line(l->args + 1, *s & M_NEVER ? NULL : e->conn, e->version, why,
				    sizeof(why));
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
	enum sshd_kind kind;
	char why[512];
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
	/* From 10.3 RevokedKeys is a list of files, as AuthorizedKeysFile. */
	kind = k->kw == KW_REVOKED && e->version >= SSHD_VERSION_10_3 ? SSHD_FILES : k->kind;
	r = sshd_value_parse(kind, l->args, l->rest, e->version, e->all, &vals, why, sizeof(why));
	if (r == -EINVAL)
		return fail(e, l, "%s", why);
	if (r < 0)
		return r;
	r = pass_apply(e, l, &e->g, g_active, k, vals);
	if (r >= 0 && k->in_match)
		r = pass_apply(e, l, &e->m, m_active, k, vals);
	return r;
}

/* Is METHOD enabled by the first pass (AuthenticationMethods is checked against it)? */
static bool method_on(const char *method, void *userdata)
{
	const struct eval *e = userdata;

	for (size_t i = 0; i < ELEMENTSOF(method_keywords); i++)
		if (strcmp(method, method_keywords[i].name) == 0) {
			char *const *v = e->g.v[method_keywords[i].kw];

			return strcmp(v ? v[0] : defaults[method_keywords[i].kw], "yes") == 0;
		}
	return true; /* "none" */
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
		for (i = 0; m[i] && !sshd_methods_valid(m[i], method_on, e); i++)
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
		r = sshd_algorithms_assemble(v ? v[0] : NULL, e->def, e->all, &g_algs);
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
	s->use_dns = strcmp(word_or_default(e, KW_USE_DNS, o, sizeof(o)), "yes") == 0;
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
	    (r = dup_or_null(value(e, KW_CHROOT, o, sizeof(o)), &s->chroot_directory)) < 0 ||
	    (r = dup_or_null(value(e, KW_PRINCIPALS_FILE, o, sizeof(o)),
			     &s->authorized_principals_file)) < 0 ||
	    (r = dup_or_null(value(e, KW_REVOKED, o, sizeof(o)), &s->revoked_keys)) < 0)
		return r;
	v = value(e, KW_REVOKED, o, sizeof(o));
	if (!is_none(v) && (r = dup_list(v, &s->revoked_keys_files)) < 0)
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

/* The version and algorithm lists of BUILD, the built-in ones where it says nothing. */
static int eval_build(struct eval *e, const struct sshd_build *build)
{
	const struct sshd_build none = {0};
	const char *def, *all;
	int r;

	if (!build)
		build = &none;
	e->version = build->version;
	if (!e->version)
		e->version = build->default_algorithms &&
				     strstr(build->default_algorithms, SSHD_WEBAUTHN_CERT)
				 ? SSHD_VERSION_10_3
				 : SSHD_VERSION_DEFAULT;
	def = build->default_algorithms;
	if (!def)
		def = e->version >= SSHD_VERSION_10_3 ? SSHD_PUBKEY_ALGORITHMS_10_3
						      : SSHD_PUBKEY_ALGORITHMS_9;
	all = build->all_algorithms;
	if (!all)
		all = e->version >= SSHD_VERSION_10_3  ? SSHD_KEY_ALGORITHMS_10_3
		      : e->version >= SSHD_VERSION_9_8 ? SSHD_KEY_ALGORITHMS_9_8
						       : SSHD_KEY_ALGORITHMS_9;
	r = sshd_algorithms_split(def, false, &e->def);
	if (r >= 0)
		r = sshd_algorithms_split(all, false, &e->all);
	return r;
}

int sshd_settings_eval_build(int rootfd, const char *root_prefix, const char *path,
			     const struct sshd_conn *conn, const struct sshd_build *build,
			     struct sshd_settings *ret, char *err, size_t errlen)
{
	struct eval e = {.conn = conn, .err = err, .errlen = errlen};
	struct sshd_settings s = {0};
	int r;

	r = eval_build(&e, build);
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
	const struct sshd_build build = {.default_algorithms = default_algorithms};

	return sshd_settings_eval_build(rootfd, root_prefix, path, conn, &build, ret, err, errlen);
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
	strv_free(s->revoked_keys_files);
	free(s->authorized_keys_command);
	free(s->authorized_keys_command_user);
	free(s->trusted_user_ca_keys);
	free(s->authorized_principals_file);
	free(s->revoked_keys);
	free(s->log_level);
	free(s->chroot_directory);
	memset(s, 0, sizeof(*s));
}
