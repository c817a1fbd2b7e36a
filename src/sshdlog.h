/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * One line sshd wrote to the journal (its MESSAGE), as a fact about one connection: what
 * happened, to which user, from which address and port, with which key. The lines of OpenSSH
 * 9.x and 10.x (sshd, sshd-session, sshd-auth) at LogLevel INFO and VERBOSE; anything else is
 * SSHDLOG_OTHER. Pure: no allocation, no I/O.
 */

enum sshdlog_kind {
	SSHDLOG_OTHER,	    /* not a line this parser knows: ignored */
	SSHDLOG_CONNECTION, /* "Connection from A port P on ..." (VERBOSE) */
	SSHDLOG_ACCEPTED,   /* "Accepted METHOD for U from A port P ssh2[: TYPE FP]" */
	SSHDLOG_FAILED,	    /* "Failed METHOD for [invalid user ]U from A port P ssh2[: TYPE FP]" */
	SSHDLOG_PARTIAL,    /* "Partial publickey for U ...": another method is wanted */
	SSHDLOG_KEY_FOUND,  /* "Accepted key TYPE FP found at FILE:LINE" (VERBOSE) */
	SSHDLOG_INVALID_USER,	 /* "Invalid user U from A port P" */
	SSHDLOG_NOT_ALLOWED,	 /* "User U from A not allowed because ... AllowUsers..." */
	SSHDLOG_ACCOUNT_LOCKED,	 /* "User U not allowed because account is locked" */
	SSHDLOG_ACCOUNT_EXPIRED, /* "Account U has expired" */
	SSHDLOG_SHELL,		 /* "User U not allowed because shell S does not exist" */
	SSHDLOG_ROOT_REFUSED,	 /* "ROOT LOGIN REFUSED FROM A port P" */
	SSHDLOG_STRICT_MODES,	 /* "Authentication refused: bad ownership or modes for ..." */
	SSHDLOG_KEYS_UNREADABLE, /* "Could not open user 'U' authorized keys 'F': ERR" */
	SSHDLOG_KEY_TYPE,	 /* "...: signature algorithm X not in PubkeyAcceptedAlgorithms" */
	SSHDLOG_KEY_TOO_SMALL,	 /* "refusing RSA key: Invalid key length" */
	SSHDLOG_KEY_REVOKED,	 /* "Authentication key TYPE FP revoked by file F" */
	SSHDLOG_KEY_OPTION, /* "F:L: Authentication tried for U with correct key but not from..." */
	SSHDLOG_TOO_MANY,   /* "maximum authentication attempts exceeded for ..." */
	SSHDLOG_END,	    /* the connection ended: closed, reset, disconnected, timed out */
	_SSHDLOG_KIND_MAX,
};

/* How sshd named the user in a line that ends a connection (or a failed attempt). */
enum sshdlog_who {
	SSHDLOG_WHO_NONE,	    /* no user named yet (a scanner that never tried) */
	SSHDLOG_WHO_AUTHENTICATING, /* a user who exists, not logged in */
	SSHDLOG_WHO_INVALID,	    /* a name sshd refused (unknown, or not allowed) */
	SSHDLOG_WHO_USER,	    /* logged in */
};

/* The longest field kept; sshd writes a user with %.100s, escaped as \ooo at worst. */
#define SSHDLOG_USER_MAX 401
#define SSHDLOG_ADDR_MAX 64
#define SSHDLOG_FP_MAX 128
#define SSHDLOG_TYPE_MAX 48
#define SSHDLOG_DETAIL_MAX 512

struct sshdlog_line {
	enum sshdlog_kind kind;
	enum sshdlog_who who;
	pid_t pid;			  /* the sshd process that logged it (_PID) */
	int port;			  /* the client's port, -1 when the line names none */
	char user[SSHDLOG_USER_MAX];	  /* as the client typed it; "" when not named */
	char addr[SSHDLOG_ADDR_MAX];	  /* the client's address; "" when not named */
	char method[SSHDLOG_TYPE_MAX];	  /* "publickey", "password", ... (ACCEPTED, FAILED) */
	char key_type[SSHDLOG_TYPE_MAX];  /* "ED25519", or the algorithm refused (KEY_TYPE) */
	char fingerprint[SSHDLOG_FP_MAX]; /* "SHA256:..." when the line names a key */
	char detail[SSHDLOG_DETAIL_MAX];  /* the path, shell, access keyword or error named */
};

/*
 * Parse MESSAGE (LEN bytes, not necessarily NUL-terminated) that sshd process PID logged into
 * *RET. Returns the kind (SSHDLOG_OTHER for a line it does not know, with *RET cleared).
 */
enum sshdlog_kind sshdlog_parse(pid_t pid, const char *message, size_t len,
				struct sshdlog_line *ret);

/* The name of KIND for tests and debugging ("invalid-user", ...). */
const char *sshdlog_kind_to_string(enum sshdlog_kind kind);

/* Whether SYSLOG_IDENTIFIER or _COMM COMM (LEN bytes) is one of sshd's processes. */
bool sshdlog_is_sshd_comm(const char *comm, size_t len);
