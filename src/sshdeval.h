/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "sshdconf.h"

/*
 * sshd's configuration as sshd evaluates it for one connection: every keyword sshd consults
 * when it decides a public key login, after Include and the Match blocks that apply to this
 * user, host, address and local port, the first value of each keyword winning, as
 * `sshd -T -C user=U,host=H,addr=A,lport=P` prints it.
 */

/*
 * sshd's default PubkeyAcceptedAlgorithms: OpenSSH 9.0 to 10.2, then 10.3 and later (which
 * add the webauthn security keys). `sshd -T` prints the installed sshd's.
 */
#define SSHD_PUBKEY_ALGORITHMS_9                                                                   \
	"ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"               \
	"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,"       \
	"sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"         \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,"         \
	"ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"  \
	"sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
#define SSHD_PUBKEY_ALGORITHMS_10_3                                                                \
	"ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"               \
	"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,"       \
	"sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"         \
	"webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,"  \
	"rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"   \
	"ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,"       \
	"webauthn-sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"

/*
 * Every algorithm name sshd knows, in its order (`ssh -Q key-sig`): a pattern in
 * PubkeyAcceptedAlgorithms expands to these. OpenSSH up to 9.7 has DSA, which 9.8 builds
 * without unless asked and 10.0 has no more; 10.3 adds the webauthn certificate.
 */
#define SSHD_WEBAUTHN_CERT "webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"
#define SSHD_KEY_ALGORITHMS_HEAD_                                                                  \
	"ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,"                 \
	"sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,"                                 \
	"ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,"                            \
	"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,"                            \
	"ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,"             \
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com,"
#define SSHD_KEY_ALGORITHMS_RSA_                                                                   \
	"ssh-rsa,ssh-rsa-cert-v01@openssh.com,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,"     \
	"rsa-sha2-512,rsa-sha2-512-cert-v01@openssh.com"
#define SSHD_KEY_ALGORITHMS_9                                                                      \
	SSHD_KEY_ALGORITHMS_HEAD_ "ssh-dss,ssh-dss-cert-v01@openssh.com," SSHD_KEY_ALGORITHMS_RSA_
#define SSHD_KEY_ALGORITHMS_9_8 SSHD_KEY_ALGORITHMS_HEAD_ SSHD_KEY_ALGORITHMS_RSA_
#define SSHD_KEY_ALGORITHMS_10_3                                                                   \
	SSHD_KEY_ALGORITHMS_HEAD_                                                                  \
	"webauthn-sk-ecdsa-sha2-nistp256-cert-v01@openssh.com," SSHD_KEY_ALGORITHMS_RSA_

/* The connection Match is evaluated for. A NULL field, or 0, is "not known". */
struct sshd_conn {
	const char *user; /* the name the client typed */
	const char *const
	    *groups;	   /* the user's group names (NULL-terminated); NULL for an unknown user */
	const char *host;  /* the client's host name (sshd uses the address with UseDNS no) */
	const char *addr;  /* the client's address */
	const char *laddr; /* the local address */
	int lport;	   /* the local port */
};

enum sshd_permit_root {
	SSHD_ROOT_YES,
	SSHD_ROOT_PROHIBIT_PASSWORD, /* also "without-password" */
	SSHD_ROOT_FORCED_COMMANDS_ONLY,
	SSHD_ROOT_NO,
};

/* Where a value came from: "FILE:LINE", or empty for sshd's default. */
typedef char sshd_origin[4200];

struct sshd_settings {
	bool pubkey_authentication;
	sshd_origin pubkey_authentication_from;
	bool strict_modes;
	bool use_pam;
	enum sshd_permit_root permit_root_login;
	sshd_origin permit_root_login_from;
	char **allow_users, **deny_users, **allow_groups, **deny_groups; /* NULL: not set */
	sshd_origin allow_users_from, deny_users_from, allow_groups_from, deny_groups_from;
	char **authentication_methods; /* each a comma-separated list; NULL: "any" */
	sshd_origin authentication_methods_from;
	char **pubkey_accepted_algorithms; /* resolved: the +, - and ^ forms applied */
	sshd_origin pubkey_accepted_algorithms_from;
	int required_rsa_size;
	sshd_origin required_rsa_size_from;
	char **authorized_keys_files;  /* as written, tokens not expanded; empty for "none" */
	char *authorized_keys_command; /* NULL for none */
	char *authorized_keys_command_user;
	char *trusted_user_ca_keys;	  /* NULL for none */
	char *authorized_principals_file; /* NULL for none */
	char *revoked_keys;		  /* NULL for none; the first of revoked_keys_files */
	char **revoked_keys_files; /* every file (OpenSSH 10.3 takes several); NULL for none */
	char *log_level;
	bool use_dns;		/* the host name is looked up; else it is the address */
	char *chroot_directory; /* NULL for none; the login shell is not checked with one */
};

/*
 * Evaluate the configuration at PATH (inside ROOTFD, like sshd_config_load()) for CONN.
 * DEFAULT_ALGORITHMS: the installed sshd's default PubkeyAcceptedAlgorithms, comma-separated
 * (NULL: the built-in list of OpenSSH 9.x and 10.x). A file sshd would refuse to start with
 * (a bad value, a keyword not allowed in a Match block, a bad Match line, an
 * AuthorizedKeysCommand without its user...) returns -EINVAL and writes "FILE:LINE: why" to ERR;
 * keywords that play no part in a key login are not looked at, so an unknown one passes.
 * A relative TrustedUserCAKeys or RevokedKeys is taken from "/", where sshd starts.
 */
int sshd_settings_eval(int rootfd, const char *root_prefix, const char *path,
		       const struct sshd_conn *conn, const char *default_algorithms,
		       struct sshd_settings *ret, char *err, size_t errlen);
void sshd_settings_done(struct sshd_settings *s);

/* OpenSSH versions, as struct sshd_build counts them, where sshd's reading changed. */
#define SSHD_VERSION_DEFAULT 902
#define SSHD_VERSION_9_7 907
#define SSHD_VERSION_9_8 908
#define SSHD_VERSION_10_0 1000
#define SSHD_VERSION_10_3 1003

/* What differs from one sshd to another; a 0 or NULL field takes the built-in value. */
struct sshd_build {
	/*
	 * OpenSSH's version, 100 * major + minor (1003 for 10.3); 0: 902. From 9.7 "any" in
	 * AuthenticationMethods may follow another line's list; from 10.0 Match takes
	 * "Attribute=value" and invalid-user; from 10.3 RevokedKeys takes several files, as
	 * written, and "none" stands alone there and in AuthorizedKeysFile.
	 */
	unsigned version;
	/* The default PubkeyAcceptedAlgorithms, comma-separated (built in: by the version). */
	const char *default_algorithms;
	/*
	 * Every algorithm name it knows in its order, as `ssh -Q key-sig` lists them (comma- or
	 * newline-separated; built in: by the version, DSA up to 9.7).
	 */
	const char *all_algorithms;
};

/* sshd_settings_eval() for the sshd BUILD describes (NULL: the built-in one). */
int sshd_settings_eval_build(int rootfd, const char *root_prefix, const char *path,
			     const struct sshd_conn *conn, const struct sshd_build *build,
			     struct sshd_settings *ret, char *err, size_t errlen);

/* The version in what `sshd -V` or `ssh -V` printed ("OpenSSH_9.2p1 Debian-2, ..."). */
int sshd_version_parse(const char *text, unsigned *ret);

/*
 * The default PubkeyAcceptedAlgorithms from what `sshd -T -f /dev/null` printed (DUMP), which
 * the caller ran: a new string, or -ENOENT if DUMP has no such line. Runs nothing.
 */
int sshd_default_algorithms_from_dump(const char *dump, char **ret);

/*
 * Does AllowUsers, DenyUsers, AllowGroups or DenyGroups refuse CONN? Returns false when the
 * user may log in; true with sshd's sentence (e.g. "User alice from 10.0.0.9 not allowed
 * because listed in DenyUsers") in WHY otherwise, in sshd's order (auth.c allowed_user()):
 * DenyUsers, AllowUsers, then the groups. An unknown user (no groups) is not judged here:
 * sshd never gets that far for one. CONN's host is what sshd logs: the address itself
 * without UseDNS.
 */
bool sshd_settings_refuse_user(const struct sshd_settings *s, const struct sshd_conn *conn,
			       char *why, size_t whylen);

/* Is ALGORITHM (e.g. "ssh-ed25519", "rsa-sha2-512") in the accepted list? */
bool sshd_settings_accepts_algorithm(const struct sshd_settings *s, const char *algorithm);
