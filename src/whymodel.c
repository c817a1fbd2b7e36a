/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "keyopts.h"
#include "macro.h"
#include "strv.h"
#include "whymodel.h"

/*
 * sshd's sentences, as sshd 9.x and 10.x log them at LogLevel VERBOSE (auth.c allowed_user(),
 * auth2.c, auth2-pubkey.c, auth2-pubkeyfile.c), without the client's port, which sshd writes
 * after the address: " port N".
 */
#define SSHD_INVALID_USER "Invalid user %s from %s"
#define SSHD_EXPIRED "Account %s has expired"
#define SSHD_LOCKED "User %s not allowed because account is locked"
#define SSHD_NO_SHELL "User %s not allowed because shell %s does not exist"
#define SSHD_SHELL_NOT_EXEC "User %s not allowed because shell %s is not executable"
#define SSHD_ALGORITHM "userauth_pubkey: signature algorithm %s not in PubkeyAcceptedAlgorithms"
#define SSHD_RSA_SIZE "refusing %s key: Invalid key length"
#define SSHD_REVOKED "Authentication key %s %s revoked by file %s"
#define SSHD_REVOKED_UNREADABLE                                                                    \
	"Revoked keys file is unreadable: refusing public key authentication"
#define SSHD_FAILED "Failed publickey for %s from %s ssh2: %s %s"
#define SSHD_PARTIAL "Partial publickey for %s from %s ssh2: %s %s"
#define SSHD_ROOT "ROOT LOGIN REFUSED FROM %s"
#define SSHD_PAM_ACCOUNT "Access denied for user %s by PAM account configuration"
/* What sshd writes for an address it does not know. */
#define SSHD_UNKNOWN_ADDR "UNKNOWN"
/* Linux's locked password (LOCKED_PASSWD_PREFIX of openssh's configure). */
#define LOCKED_PREFIX "!"
/* sshd (10.x: ssh) offers an RSA key with this signature algorithm first. */
#define RSA_FIRST_ALGORITHM "rsa-sha2-512"
#define RSA_FIRST_CERT_ALGORITHM "rsa-sha2-512-cert-v01@openssh.com"

static const char *const cause_names[_WHY_CAUSE_MAX] = {
    [WHY_ACCEPTED] = NULL,
    [WHY_UNKNOWN_USER] = "unknown-user",
    [WHY_SHELL] = "shell",
    [WHY_ACCOUNT_LOCKED] = "account-locked",
    [WHY_ACCOUNT_EXPIRED] = "account-expired",
    [WHY_USER_NOT_ALLOWED] = "user-not-allowed",
    [WHY_ROOT_REFUSED] = "root-refused",
    [WHY_PUBKEY_DISABLED] = "pubkey-disabled",
    [WHY_STRICT_MODES] = "strict-modes",
    [WHY_KEYS_UNREADABLE] = "keys-unreadable",
    [WHY_NO_KEYS] = "no-keys",
    [WHY_KEY_NOT_AUTHORIZED] = "key-not-authorized",
    [WHY_KEY_OPTION] = "key-option",
    [WHY_KEY_TYPE] = "key-type",
    [WHY_KEY_TOO_SMALL] = "key-too-small",
    [WHY_KEY_REVOKED] = "key-revoked",
    [WHY_NEEDS_MORE_METHODS] = "needs-more-methods",
};

const char *why_cause_to_string(enum why_cause c)
{
	return c < _WHY_CAUSE_MAX ? cause_names[c] : NULL;
}

void why_done(struct why *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_steps; i++) {
		free(w->steps[i].check);
		free(w->steps[i].detail);
	}
	free(w->steps);
	free(w->sshd_message);
	free(w->hint);
	strv_free(w->authorized_for);
	memset(w, 0, sizeof(*w));
}

static int add_step(struct why *w, const char *check, bool ok, const char *fmt, va_list ap)
{
	struct why_step *s;
	char *detail = NULL;

	if (vasprintf(&detail, fmt, ap) < 0)
		return -ENOMEM;
	if (array_room(&w->steps, w->n_steps, sizeof(*w->steps)) < 0) {
		free(detail);
		return -ENOMEM;
	}
	s = &w->steps[w->n_steps];
	*s = (struct why_step){.check = strdup(check), .ok = ok, .detail = detail};
	if (!s->check) {
		free(detail);
		return -ENOMEM;
	}
	w->n_steps++;
	return 0;
}

int why_ok(struct why *w, const char *check, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = add_step(w, check, true, fmt, ap);
	va_end(ap);
	return r;
}

int why_refuse(struct why *w, enum why_cause cause, const char *check, const char *sshd,
	       const char *hint, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (w->cause != WHY_ACCEPTED)
		return 0;
	va_start(ap, fmt);
	r = add_step(w, check, false, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	w->cause = cause;
	w->accepts = false;
	if ((sshd && !(w->sshd_message = strdup(sshd))) || (hint && !(w->hint = strdup(hint))))
		return -ENOMEM;
	return 0;
}

/* Refuse with sshd's line formatted from SSHD_FMT. */
#define refuse_fmt(w, cause, check, hint, detail, ...)                                             \
	({                                                                                         \
		char _m[WHY_HINT_MAX];                                                             \
		snprintf(_m, sizeof(_m), __VA_ARGS__);                                             \
		why_refuse(w, cause, check, _m, hint, "%s", detail);                               \
	})

static const char *addr_of(const struct why_client *cl)
{
	return cl && cl->addr ? cl->addr : SSHD_UNKNOWN_ADDR;
}

int why_refuse_failed(struct why *w, enum why_cause cause, const char *check, const char *hint,
		      const char *detail, const struct user *u, const struct why_client *cl,
		      const struct key_line *k)
{
	return refuse_fmt(w, cause, check, hint, detail, SSHD_FAILED, u->name, addr_of(cl),
			  why_key_type_name(k->type), k->fingerprint);
}

int why_unknown_user(struct why *w, const char *name, const struct why_client *cl, const char *hint)
{
	return refuse_fmt(w, WHY_UNKNOWN_USER, "user", hint, "no such user in passwd",
			  SSHD_INVALID_USER, name, addr_of(cl));
}

/* The shell as sshd stats it: following symlinks, inside the root. */
static int shell_step(struct why *w, int rootfd, const struct user *u)
{
	const char *shell = u->shell && *u->shell ? u->shell : "/bin/sh";
	struct stat st;
	char hint[WHY_HINT_MAX];

	snprintf(hint, sizeof(hint), "give %s an installed shell: usermod -s /bin/bash %s", u->name,
		 u->name);
	if (fstatat(rootfd, shell[0] == '/' ? shell + 1 : shell, &st, 0) < 0)
		return refuse_fmt(w, WHY_SHELL, "shell", hint, "the login shell does not exist",
				  SSHD_NO_SHELL, u->name, shell) < 0
			   ? -ENOMEM
			   : 0;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return refuse_fmt(w, WHY_SHELL, "shell", hint, "the login shell is not executable",
				  SSHD_SHELL_NOT_EXEC, u->name, shell) < 0
			   ? -ENOMEM
			   : 0;
	return why_ok(w, "shell", "%s", shell) < 0 ? -ENOMEM : 1;
}

int why_account(struct why *w, int rootfd, const struct user *u, const struct why_shadow *sh,
		const struct sshd_settings *s, long today)
{
	char hint[WHY_HINT_MAX];
	int r;

	if (s->use_pam) {
		r = why_ok(w, "account", "UsePAM yes: PAM's account stack decides; shadow says %s",
			   !sh->found					   ? "nothing (no entry)"
			   : sh->expire_day >= 0 && sh->expire_day < today ? "expired"
			   : sh->password &&
				   !strncmp(sh->password, LOCKED_PREFIX, strlen(LOCKED_PREFIX))
			       ? "locked"
			       : "open");
		return r < 0 ? r : shell_step(w, rootfd, u);
	}
	if (sh->found && sh->expire_day >= 0 && sh->expire_day < today) {
		snprintf(hint, sizeof(hint), "renew the account: chage -E -1 %s", u->name);
		r = refuse_fmt(w, WHY_ACCOUNT_EXPIRED, "account", hint,
			       "the account expired (shadow)", SSHD_EXPIRED, u->name);
		return r < 0 ? r : 0;
	}
	if (sh->found && sh->password &&
	    strncmp(sh->password, LOCKED_PREFIX, strlen(LOCKED_PREFIX)) == 0) {
		snprintf(hint, sizeof(hint),
			 "with UsePAM no, a password starting with '!' locks key logins too: "
			 "usermod -p '*' %s",
			 u->name);
		r = refuse_fmt(w, WHY_ACCOUNT_LOCKED, "account", hint,
			       "the password is locked (shadow)", SSHD_LOCKED, u->name);
		return r < 0 ? r : 0;
	}
	r = why_ok(w, "account", "%s", sh->found ? "not locked, not expired" : "no shadow entry");
	return r < 0 ? r : shell_step(w, rootfd, u);
}

/* The keywords allowed_user() names, in the order of their origins below. */
static const char *const access_keywords[] = {"DenyUsers", "AllowUsers", "DenyGroups",
					      "AllowGroups"};

/* Does some list of AuthenticationMethods start with publickey? And is one publickey alone? */
static void methods_publickey(char *const *lists, bool *first, bool *alone)
{
	*first = *alone = !lists;
	for (size_t i = 0; lists && lists[i]; i++) {
		size_t n = strcspn(lists[i], ",");

		if (strcmp(lists[i], "any") == 0 || strcmp(lists[i], "publickey") == 0)
			*first = *alone = true;
		else if (n == strlen("publickey") && strncmp(lists[i], "publickey", n) == 0)
			*first = true;
	}
}

int why_access(struct why *w, const struct user *u, const struct sshd_settings *s,
	       const struct sshd_conn *conn)
{
	char why[1024], hint[WHY_HINT_MAX];
	bool first, alone;
	int r;

	if (sshd_settings_refuse_user(s, conn, why, sizeof(why))) {
		const char *kw = NULL, *from = "";

		/* Name the keyword sshd's sentence names, and where it is set. */
		for (size_t i = 0; i < ELEMENTSOF(access_keywords) && !kw; i++)
			if (strstr(why, access_keywords[i])) {
				kw = access_keywords[i];
				from = i == 0	? s->deny_users_from
				       : i == 1 ? s->allow_users_from
				       : i == 2 ? s->deny_groups_from
						: s->allow_groups_from;
			}
		snprintf(hint, sizeof(hint), "%s%s%s%s refuses %s: change it and reload sshd",
			 kw ? kw : "AllowGroups", *from ? " (" : "", from, *from ? ")" : "",
			 u->name);
		r = why_refuse(w, WHY_USER_NOT_ALLOWED, "allowed", why, hint, "%s", why);
		return r < 0 ? r : 0;
	}
	if ((r = why_ok(w, "allowed", "AllowUsers, DenyUsers, AllowGroups, DenyGroups")) < 0)
		return r;
	if (!s->pubkey_authentication) {
		snprintf(hint, sizeof(hint), "set PubkeyAuthentication yes (%s) and reload sshd",
			 *s->pubkey_authentication_from ? s->pubkey_authentication_from
							: "sshd's default");
		r = why_refuse(w, WHY_PUBKEY_DISABLED, "publickey", NULL, hint,
			       "PubkeyAuthentication no (%s)", s->pubkey_authentication_from);
		return r < 0 ? r : 0;
	}
	methods_publickey(s->authentication_methods, &first, &alone);
	if (!first) {
		snprintf(hint, sizeof(hint),
			 "AuthenticationMethods (%s) wants another method before publickey",
			 s->authentication_methods_from);
		r = why_refuse(w, WHY_NEEDS_MORE_METHODS, "methods", NULL, hint,
			       "no list of AuthenticationMethods starts with publickey");
		return r < 0 ? r : 0;
	}
	r = why_ok(w, "publickey", "PubkeyAuthentication yes");
	return r < 0 ? r : 1;
}

static const struct {
	const char *prefix;
	const char *name;
} type_names[] = {
    {"ssh-ed25519-cert", "ED25519-CERT"},
    {"ssh-ed25519", "ED25519"},
    {"sk-ssh-ed25519-cert", "ED25519-SK-CERT"},
    {"sk-ssh-ed25519", "ED25519-SK"},
    {"ecdsa-sha2-nistp256-cert", "ECDSA-CERT"},
    {"ecdsa-sha2-nistp384-cert", "ECDSA-CERT"},
    {"ecdsa-sha2-nistp521-cert", "ECDSA-CERT"},
    {"ecdsa-sha2-", "ECDSA"},
    {"sk-ecdsa-sha2-nistp256-cert", "ECDSA-SK-CERT"},
    {"sk-ecdsa-", "ECDSA-SK"},
    {"webauthn-sk-ecdsa-", "ECDSA-SK"},
    {"ssh-rsa-cert", "RSA-CERT"},
    {"rsa-sha2-256-cert", "RSA-CERT"},
    {"rsa-sha2-512-cert", "RSA-CERT"},
    {"ssh-rsa", "RSA"},
    {"rsa-sha2-", "RSA"},
    {"ssh-dss-cert", "DSA-CERT"},
    {"ssh-dss", "DSA"},
};

const char *why_key_type_name(const char *type)
{
	for (size_t i = 0; i < ELEMENTSOF(type_names); i++)
		if (strncmp(type, type_names[i].prefix, strlen(type_names[i].prefix)) == 0)
			return type_names[i].name;
	return "UNKNOWN";
}

static bool is_rsa(const struct key_line *k)
{
	return strcmp(why_key_type_name(k->type), "RSA") == 0 ||
	       strcmp(why_key_type_name(k->type), "RSA-CERT") == 0;
}

/* The signature algorithm the client offers the key with, as OpenSSH's ssh does. */
static const char *offered_algorithm(const struct key_line *k)
{
	if (is_rsa(k))
		return k->certificate ? RSA_FIRST_CERT_ALGORITHM : RSA_FIRST_ALGORITHM;
	return k->type;
}

/* Is K a line of the plain keys file TEXT (sshkey_in_file(): the key, or a cert's key)? */
static bool in_keys_text(const struct key_line *k, const char *text, size_t len)
{
	for (size_t at = 0; at < len;) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) : len - at;
		struct key_line r;
		bool hit;

		at += n + 1;
		if (key_parse_line(line, n, 0, &r, NULL, 0) != 0)
			continue;
		hit = strcmp(r.fingerprint, k->fingerprint) == 0;
		key_line_done(&r);
		if (hit)
			return true;
	}
	return false;
}

int why_offered_key(struct why *w, const struct key_line *k, const struct sshd_settings *s,
		    const char *revoked, size_t revoked_len, const char *revoked_err)
{
	const char *alg = offered_algorithm(k), *tn = why_key_type_name(k->type);
	char hint[WHY_HINT_MAX], m[WHY_HINT_MAX];
	int r;

	if (!sshd_settings_accepts_algorithm(s, alg)) {
		snprintf(hint, sizeof(hint),
			 "sshd no longer accepts %s keys (PubkeyAcceptedAlgorithms%s%s): make an "
			 "ed25519 key (ssh-keygen -t ed25519) and authorize it",
			 tn, *s->pubkey_accepted_algorithms_from ? ", " : "",
			 s->pubkey_accepted_algorithms_from);
		r = refuse_fmt(w, WHY_KEY_TYPE, "key-type", hint, "not accepted", SSHD_ALGORITHM,
			       alg);
		return r < 0 ? r : 0;
	}
	if ((r = why_ok(w, "key-type", "%s accepted", alg)) < 0)
		return r;
	if (is_rsa(k) && (int)k->bits < s->required_rsa_size) {
		snprintf(hint, sizeof(hint),
			 "the RSA key has %u bits, sshd wants %d (RequiredRSASize): make an "
			 "ed25519 key (ssh-keygen -t ed25519) and authorize it",
			 k->bits, s->required_rsa_size);
		snprintf(m, sizeof(m), "%u bits, under RequiredRSASize %d", k->bits,
			 s->required_rsa_size);
		r = refuse_fmt(w, WHY_KEY_TOO_SMALL, "key-size", hint, m, SSHD_RSA_SIZE, tn);
		return r < 0 ? r : 0;
	}
	if ((r = why_ok(w, "key-size", "%u bits", k->bits)) < 0)
		return r;
	if (s->revoked_keys && revoked_err) {
		snprintf(m, sizeof(m), "RevokedKeys %s: %s", s->revoked_keys, revoked_err);
		snprintf(hint, sizeof(hint),
			 "make %s readable by sshd, or set RevokedKeys none, and reload sshd",
			 s->revoked_keys);
		r = why_refuse(w, WHY_KEY_REVOKED, "revoked", SSHD_REVOKED_UNREADABLE, hint, "%s",
			       m);
		return r < 0 ? r : 0;
	}
	if (s->revoked_keys && !revoked) {
		r = why_ok(w, "revoked",
			   "RevokedKeys %s is a KRL, which sshmend does not read: sshd may still "
			   "refuse the key",
			   s->revoked_keys);
		return r < 0 ? r : 1;
	}
	if (s->revoked_keys && in_keys_text(k, revoked, revoked_len)) {
		snprintf(hint, sizeof(hint),
			 "this key is revoked in %s: use another key (or take it out of "
			 "RevokedKeys if the revocation was a mistake)",
			 s->revoked_keys);
		r = refuse_fmt(w, WHY_KEY_REVOKED, "revoked", hint, "listed in RevokedKeys",
			       SSHD_REVOKED, tn, k->fingerprint, s->revoked_keys);
		return r < 0 ? r : 0;
	}
	r = why_ok(w, "revoked", "%s", s->revoked_keys ? "not in RevokedKeys" : "RevokedKeys none");
	if (r >= 0 && k->certificate)
		r = why_ok(w, "certificate",
			   "TrustedUserCAKeys %s and AuthorizedPrincipalsFile %s decide on a "
			   "certificate, which sshmend does not evaluate; its plain key is judged",
			   s->trusted_user_ca_keys ? s->trusted_user_ca_keys : "none",
			   s->authorized_principals_file ? s->authorized_principals_file : "none");
	return r < 0 ? r : 1;
}

int why_key_missing(struct why *w, const struct user *u, const struct key_line *k,
		    const struct why_client *cl, bool any_keys, const char *elsewhere)
{
	return why_key_removed(w, u, k, cl, any_keys, elsewhere, NULL);
}

int why_key_removed(struct why *w, const struct user *u, const struct key_line *k,
		    const struct why_client *cl, bool any_keys, const char *elsewhere,
		    const char *removed)
{
	char hint[WHY_HINT_MAX], detail[WHY_HINT_MAX];
	int r;

	if (elsewhere)
		snprintf(hint, sizeof(hint), "%s", elsewhere);
	else
		snprintf(hint, sizeof(hint),
			 "%s is not in %s's keys files: add it to ~%s/.ssh/authorized_keys, or "
			 "approve it in the drop-in directory and run sshmend fix %s",
			 k->fingerprint, u->name, u->name, u->name);
	snprintf(detail, sizeof(detail), "%s%s%s",
		 any_keys ? "not in any keys file sshd reads" : "no keys file holds a key",
		 removed ? "; " : "", removed ? removed : "");
	r = why_refuse_failed(w, any_keys ? WHY_KEY_NOT_AUTHORIZED : WHY_NO_KEYS, "key", hint,
			      detail, u, cl, k);
	return r < 0 ? r : 0;
}

int why_after_key(struct why *w, const struct user *u, const struct key_line *k,
		  const struct sshd_settings *s, const struct why_client *cl)
{
	_cleanup_free_ char *command = NULL;
	bool first, alone;
	char hint[WHY_HINT_MAX];
	int r;

	if (u->uid == 0) {
		bool ok = s->permit_root_login != SSHD_ROOT_NO;

		if (s->permit_root_login == SSHD_ROOT_FORCED_COMMANDS_ONLY)
			ok = k->options && keyopts_value(k->options, "command", &command) > 0;
		if (!ok) {
			snprintf(
			    hint, sizeof(hint),
			    "PermitRootLogin (%s) refuses root: log in as a user with sudo, or "
			    "set PermitRootLogin prohibit-password",
			    *s->permit_root_login_from ? s->permit_root_login_from
						       : "sshd's default");
			r = refuse_fmt(w, WHY_ROOT_REFUSED, "root", hint, "PermitRootLogin",
				       SSHD_ROOT, addr_of(cl));
			return r < 0 ? r : 0;
		}
		if ((r = why_ok(w, "root", "PermitRootLogin allows a key")) < 0)
			return r;
	}
	methods_publickey(s->authentication_methods, &first, &alone);
	if (!alone) {
		snprintf(hint, sizeof(hint),
			 "AuthenticationMethods (%s) wants another method after the key: "
			 "give it too",
			 s->authentication_methods_from);
		r = refuse_fmt(w, WHY_NEEDS_MORE_METHODS, "methods", hint,
			       "publickey alone is not enough", SSHD_PARTIAL, u->name, addr_of(cl),
			       why_key_type_name(k->type), k->fingerprint);
		return r < 0 ? r : 0;
	}
	r = why_ok(w, "methods", "publickey is enough");
	return r < 0 ? r : 1;
}

int why_pam_account(struct why *w, const struct user *u, const struct why_shadow *sh,
		    const struct sshd_settings *s, long today)
{
	char hint[WHY_HINT_MAX];
	int r;

	if (!s->use_pam)
		return 1;
	/* pam_unix's account check, the one every distribution's sshd stack has, reads shadow. */
	if (sh->found && sh->expire_day >= 0 && sh->expire_day < today) {
		snprintf(hint, sizeof(hint), "renew the account: chage -E -1 %s", u->name);
		r = refuse_fmt(w, WHY_ACCOUNT_EXPIRED, "pam-account", hint,
			       "the account expired (shadow): pam_unix refuses it",
			       SSHD_PAM_ACCOUNT, u->name);
		return r < 0 ? r : 0;
	}
	r = why_ok(w, "pam-account",
		   "pam_unix: not expired (shadow); other PAM account modules are not evaluated");
	return r < 0 ? r : 1;
}
