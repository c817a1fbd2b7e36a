/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "keys.h"
#include "sshdeval.h"
#include "users.h"

/*
 * sshd's decision on one public key login, step by step in sshd's order, in sshd's words:
 * the account (allowed_user()), the method (PubkeyAuthentication, AuthenticationMethods), the
 * key offered (PubkeyAcceptedAlgorithms, RequiredRSASize, RevokedKeys), its line in a keys
 * file (from=, expiry-time=, cert-authority, principals=), root, and a second method.
 * The first refusal stops the walk.
 */

/* Room for a hint or a line of sshd, which may name several paths and origins. */
#define WHY_HINT_MAX 20000

enum why_cause {
	WHY_ACCEPTED,
	WHY_UNKNOWN_USER,
	WHY_SHELL,
	WHY_ACCOUNT_LOCKED,
	WHY_ACCOUNT_EXPIRED,
	WHY_USER_NOT_ALLOWED,
	WHY_ROOT_REFUSED,
	WHY_PUBKEY_DISABLED,
	WHY_STRICT_MODES,
	WHY_KEYS_UNREADABLE,
	WHY_NO_KEYS,
	WHY_KEY_NOT_AUTHORIZED,
	WHY_KEY_OPTION,
	WHY_KEY_TYPE,
	WHY_KEY_TOO_SMALL,
	WHY_KEY_REVOKED,
	WHY_NEEDS_MORE_METHODS,
	_WHY_CAUSE_MAX,
};

/* The name --json gives the cause; NULL for WHY_ACCEPTED. */
const char *why_cause_to_string(enum why_cause c);

struct why_step {
	char *check; /* "user", "account", "shell", "allowed", ... */
	bool ok;
	char *detail;
};

struct why {
	bool accepts;
	enum why_cause cause; /* WHY_ACCEPTED while no step refused */
	struct why_step *steps;
	size_t n_steps;
	char *sshd_message; /* the line sshd logs for the refusal, NULL when it logs none */
	char *hint;
	char **authorized_for; /* other users whose keys files hold the offered key */
};

void why_done(struct why *w);

/* One step that passed; DETAIL formatted. 0 or -ENOMEM. */
int why_ok(struct why *w, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The refusal that ends the walk: the step CHECK failed for CAUSE, with sshd's line SSHD (NULL
 * when sshd logs none) and what to do (HINT). The first refusal is kept; a later one is not.
 */
int why_refuse(struct why *w, enum why_cause cause, const char *check, const char *sshd,
	       const char *hint, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The client as sshd sees it; ADDR NULL when not given. */
struct why_client {
	const char *addr;
	const char *host;
};

/* What the shadow database says of the user; found false when there is no entry. */
struct why_shadow {
	bool found;
	char *password;	 /* the password field */
	long expire_day; /* days since 1970-01-01, -1 for never */
};

/*
 * The account: with UsePAM no, expired, then locked (shadow); the login shell (a path inside
 * ROOTFD). sshd's allowed_user() order. 1 when the walk goes on, 0 when refused.
 */
int why_account(struct why *w, int rootfd, const struct user *u, const struct why_shadow *sh,
		const struct sshd_settings *s, long today);

/* AllowUsers and the three others, PubkeyAuthentication, AuthenticationMethods (its start). */
int why_access(struct why *w, const struct user *u, const struct sshd_settings *s,
	       const struct sshd_conn *conn);

/* sshd's name of a key type in its log lines ("ED25519", "RSA", "ECDSA-CERT"). */
const char *why_key_type_name(const char *type);

/*
 * The key offered, before any keys file is read: its algorithm, its size, RevokedKeys (the
 * text of a plain-keys file in REVOKED; NULL with REVOKED_ERR when sshd could not read it, NULL
 * without for a KRL, which is not evaluated).
 */
int why_offered_key(struct why *w, const struct key_line *k, const struct sshd_settings *s,
		    const char *revoked, size_t revoked_len, const char *revoked_err);

/*
 * The keys file line that holds the key: its options against the client and NOW.
 * FILE:LINENO names it. 1 when it lets the key in.
 */
int why_key_options(struct why *w, const struct user *u, const struct key_line *line,
		    const char *file, unsigned lineno, const struct why_client *cl, int64_t now);

/*
 * Refuse K for U with sshd's "Failed publickey" line: sshd found no line of a keys file that lets
 * it in.
 */
int why_refuse_failed(struct why *w, enum why_cause cause, const char *check, const char *hint,
		      const char *detail, const struct user *u, const struct why_client *cl,
		      const struct key_line *k);

/* "Accepted key" or "Failed publickey": no line of any keys file holds KEY. */
int why_key_missing(struct why *w, const struct user *u, const struct key_line *k,
		    const struct why_client *cl, bool any_keys, const char *elsewhere);
/* The same, for a key the audit saw removed: REMOVED (when, how) added to the step's detail. */
int why_key_removed(struct why *w, const struct user *u, const struct key_line *k,
		    const struct why_client *cl, bool any_keys, const char *elsewhere,
		    const char *removed);

/* After the key: PermitRootLogin and a second method AuthenticationMethods wants. */
int why_after_key(struct why *w, const struct user *u, const struct key_line *k,
		  const struct sshd_settings *s, const struct why_client *cl);

/*
 * With UsePAM yes, after the key: PAM's account stack, as pam_unix judges it from shadow (an
 * expired account; a locked password does not stop a key there).
 */
int why_pam_account(struct why *w, const struct user *u, const struct why_shadow *sh,
		    const struct sshd_settings *s, long today);

/* "Invalid user NAME from ADDR". */
int why_unknown_user(struct why *w, const char *name, const struct why_client *cl,
		     const char *hint);
