/* SPDX-License-Identifier: Apache-2.0 */
#include "diagnose.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lastuse.h"
#include "macro.h"
#include "strv.h"
#include "whyscan.h"

/* What each line that says why gives: why's cause, its family, its words. */
struct cause_row {
	enum why_cause cause;
	enum tell row;
	const char *what;
};

static const struct cause_row by_line[_SSHDLOG_KIND_MAX] = {
    [SSHDLOG_INVALID_USER] = {WHY_UNKNOWN_USER, TELL_LOGIN_OPERATOR, "no such user"},
    [SSHDLOG_NOT_ALLOWED] = {WHY_USER_NOT_ALLOWED, TELL_LOGIN_POLICY,
			     "sshd_config does not allow the user"},
    [SSHDLOG_ACCOUNT_LOCKED] = {WHY_ACCOUNT_LOCKED, TELL_LOGIN_SYSTEM, "the account is locked"},
    [SSHDLOG_ACCOUNT_EXPIRED] = {WHY_ACCOUNT_EXPIRED, TELL_LOGIN_SYSTEM, "the account has expired"},
    [SSHDLOG_SHELL] = {WHY_SHELL, TELL_LOGIN_SYSTEM, "the login shell cannot be run"},
    [SSHDLOG_ROOT_REFUSED] = {WHY_ROOT_REFUSED, TELL_LOGIN_POLICY, "PermitRootLogin refuses root"},
    [SSHDLOG_STRICT_MODES] = {WHY_STRICT_MODES, TELL_LOGIN_SYSTEM,
			      "StrictModes refused the keys file's chain"},
    [SSHDLOG_KEYS_UNREADABLE] = {WHY_KEYS_UNREADABLE, TELL_LOGIN_SYSTEM,
				 "sshd cannot read the keys file"},
    [SSHDLOG_KEY_TYPE] = {WHY_KEY_TYPE, TELL_LOGIN_POLICY,
			  "the key's algorithm is not in PubkeyAcceptedAlgorithms"},
    [SSHDLOG_KEY_TOO_SMALL] = {WHY_KEY_TOO_SMALL, TELL_LOGIN_POLICY,
			       "the key is smaller than RequiredRSASize"},
    [SSHDLOG_KEY_REVOKED] = {WHY_KEY_REVOKED, TELL_LOGIN_POLICY, "the key is revoked"},
    [SSHDLOG_KEY_OPTION] = {WHY_KEY_OPTION, TELL_LOGIN_POLICY,
			    "the key's options in the keys file refuse this login"},
};

static void join_keys(const struct sshdconn_attempt *a, struct diagnosis *d)
{
	size_t n = 0;

	d->fingerprints[0] = '\0';
	for (size_t i = 0; i < a->n_keys; i++)
		n += (size_t)snprintf(d->fingerprints + n, sizeof(d->fingerprints) - n, "%s%s",
				      i ? " " : "", a->keys[i].fingerprint);
}

static int hint(struct diagnosis *d, const char *fmt, ...) _printf_(2, 3);

static int hint(struct diagnosis *d, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&d->hint, fmt, ap);
	va_end(ap);
	if (r < 0) {
		d->hint = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Whose key the first key offered is, by its fingerprint: a sentence in *ret, or NULL. */
static int key_owners(const struct engine *e, const struct sshdconn_attempt *a, char **ret)
{
	_cleanup_(strv_freep) char **owners = NULL;
	_cleanup_free_ char *names = NULL;
	struct key_line k = {0};
	size_t len = strlen(a->keys[0].fingerprint);

	*ret = NULL;
	if (len >= sizeof(k.fingerprint))
		return 0; /* longer than any fingerprint of a key line */
	memcpy(k.fingerprint, a->keys[0].fingerprint, len + 1);
	int r = why_users_with_key(e, e->keys_files, a->user, &k, WHY_HINT_USERS, NULL, &owners);
	if (r < 0 || !owners)
		return r;
	if (why_join_names(owners, &names) < 0 ||
	    asprintf(ret, "the key offered is authorized for %s, not %s: log in as %s", names,
		     a->user, owners[0]) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A user who exists offered keys sshd did not accept, or none, or the log does not say. */
static int keys_refused(const struct engine *e, const struct sshdconn_attempt *a, bool with_hint,
			struct diagnosis *d)
{
	d->row = TELL_LOGIN_OPERATOR;
	d->cause = why_cause_to_string(WHY_KEY_NOT_AUTHORIZED);
	d->what = "no key offered is authorized for the user";
	if (a->n_keys == 0 && a->verbose) {
		d->cause = DIAGNOSE_NO_KEY_OFFERED;
		d->what = "the client offered no key";
	}
	if (!with_hint)
		return 0;
	if (a->n_keys > 0) {
		char *elsewhere = NULL;
		int r = key_owners(e, a, &elsewhere);
		if (r >= 0 && !elsewhere)
			r = why_key_elsewhere(e, a->user, a->keys[0].fingerprint, &elsewhere);
		if (r < 0)
			return r;
		r = hint(d, "%s%scheck with: sshmend why %s --key FILE", elsewhere ? elsewhere : "",
			 elsewhere ? "; " : "", a->user);
		free(elsewhere);
		return r;
	}
	if (a->verbose)
		return hint(d, "give the client a key (ssh -i FILE) authorized for %s", a->user);
	return hint(d,
		    "sshd's LogLevel INFO does not log the fingerprint of a key it refuses "
		    "(LogLevel VERBOSE does); check with: sshmend why %s --key FILE",
		    a->user);
}

/* A StrictModes refusal: sshd's words, and what sshmend did last to the chain, and when. */
static int strict_hint(const struct sshdconn_attempt *a, const struct chain_note *note,
		       struct diagnosis *d)
{
	char when[64] = "";
	struct tm tm;
	time_t t;

	if (!note)
		return hint(d, "sshd: %s; check with: sshmend why %s", a->detail, a->user);
	if (!note->looked_after)
		return hint(d,
			    "sshd: %s; %s is not one of sshmend's users ([Users] Include=, "
			    "Exclude=, MinUID=): repair with: sshmend fix %s",
			    a->detail, a->user, a->user);
	if (!note->usec)
		return hint(d,
			    "sshd: %s; sshmend has repaired nothing of %s's chain since it "
			    "started; check with: sshmend why %s",
			    a->detail, a->user, a->user);
	t = (time_t)(note->usec / 1000000);
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
	if (note->refused)
		return hint(d, "sshd: %s; sshmend refused to repair %s at %s", a->detail,
			    note->what, when);
	return hint(d, "sshd: %s; sshmend repaired %s at %s", a->detail, note->what, when);
}

/*
 * The hint for a name this system does not know: first the users the client's address logged
 * in as before (the last-use records), then why's (the image's default user, the users with
 * keys).
 */
static int unknown_user_hint(const struct engine *e, const struct sshdconn_attempt *a,
			     struct diagnosis *d)
{
	_cleanup_free_ char *before = NULL, *rest = NULL;
	int r = *a->addr ? lastuse_hint(e->rootfd, a->addr, &before) : 0;

	if (r < 0)
		return r;
	r = why_unknown_hint(e, a->user, NULL, NULL, &rest);
	if (r < 0)
		return r;
	if (!before) {
		d->hint = TAKE_PTR(rest);
		return 0;
	}
	return hint(d, "%s%s%s", before, rest ? "; " : "", rest ? rest : "");
}

static int line_hint(const struct engine *e, const struct sshdconn_attempt *a,
		     const struct chain_note *note, struct diagnosis *d)
{
	switch (a->refusal) {
	case SSHDLOG_INVALID_USER:
		return unknown_user_hint(e, a, d);
	case SSHDLOG_STRICT_MODES:
		return strict_hint(a, note, d);
	case SSHDLOG_ROOT_REFUSED:
		return hint(d, "sshd_config's PermitRootLogin refuses root: log in as another user "
			       "and use sudo");
	case SSHDLOG_ACCOUNT_EXPIRED:
		return hint(d, "the account's expiry date has passed: lift it with: chage -E -1 %s",
			    a->user);
	case SSHDLOG_KEY_TYPE:
	case SSHDLOG_KEY_TOO_SMALL:
		return hint(d, "sshd refused a %s key: use another key, or change sshd_config",
			    a->refused_type);
	default:
		return *a->detail ? hint(d, "sshd: %s", a->detail) : 0;
	}
}

int diagnose_attempt(const struct engine *e, const struct sshdconn_attempt *a, bool with_hint,
		     const struct chain_note *note, struct diagnosis *ret)
{
	*ret = (struct diagnosis){.row = TELL_LOGIN_POLICY, .cause = DIAGNOSE_UNKNOWN};
	ret->what = "sshd's log does not say why";
	join_keys(a, ret);
	if (a->refusal != SSHDLOG_OTHER && by_line[a->refusal].what) {
		const struct cause_row *c = &by_line[a->refusal];
		ret->row = c->row;
		ret->cause = why_cause_to_string(c->cause);
		ret->what = c->what;
		return with_hint ? line_hint(e, a, note, ret) : 0;
	}
	if (a->partial) {
		ret->cause = why_cause_to_string(WHY_NEEDS_MORE_METHODS);
		ret->what = "a key was accepted, but AuthenticationMethods wants another method";
		return 0;
	}
	if (a->who == SSHDLOG_WHO_INVALID || !userdb_by_name(e->db, a->user)) {
		ret->row = TELL_LOGIN_OPERATOR;
		ret->cause = why_cause_to_string(WHY_UNKNOWN_USER);
		ret->what = "no such user";
		return with_hint ? unknown_user_hint(e, a, ret) : 0;
	}
	if (a->who == SSHDLOG_WHO_AUTHENTICATING)
		return keys_refused(e, a, with_hint, ret);
	return 0;
}

void diagnosis_done(struct diagnosis *d)
{
	free(d->hint);
	d->hint = NULL;
}

int diagnose_tell(const struct engine *e, const struct sshdconn_attempt *a,
		  const struct chain_note *note)
{
	struct diagnosis d;
	int r = diagnose_attempt(e, a, true, note, &d);

	if (r >= 0) {
		struct login_refusal lr = {.user = a->user,
					   .addr = *a->addr ? a->addr : "an unknown address",
					   .port = a->port,
					   .cause = d.cause,
					   .what = d.what,
					   .fingerprints = *d.fingerprints ? d.fingerprints : NULL,
					   .hint = d.hint};
		r = events_login_refused(d.row, &lr);
	}
	diagnosis_done(&d);
	return r;
}
