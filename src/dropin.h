/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * Approved keys: DropInDirectory/USER/\*.pub, root's alone, each line validated as sshd
 * parses it, merged into the user's first keys file between two marker lines. Lines
 * outside the block are the user's and are kept byte for byte.
 */

#define DROPIN_DEFAULT_DIR "/etc/sshmend/keys.d"
#define DROPIN_BEGIN "# sshmend: approved keys, managed from the drop-in directory; do not edit"
#define DROPIN_END "# sshmend: end of approved keys"

struct approved_key {
	char *line;	   /* the line as written, without its newline */
	char *fingerprint; /* SHA256:... */
	char *type;
	char *comment;
	char *source; /* drop-in file name */
	unsigned lineno;
	bool certificate;
};

/* What the drop-in directory holds that is never written: a line, a file, a directory. */
struct dropin_reject {
	char *path;	 /* the drop-in file or directory */
	unsigned lineno; /* the line of PATH; 0: the whole file or directory is ignored */
	char *why;
};

struct dropin_set {
	struct approved_key *keys; /* by file name, then line; one per key blob */
	size_t n;
	/* In the order met. Of one file's bad lines the first 32 are told each, and the one
	 * after them with the count of the lines after it, which are not told. */
	struct dropin_reject *rejected;
	size_t n_rejected;
	bool present; /* the user's drop-in directory exists */
};

/*
 * Load USER's approved keys from the drop-in directory DIRFD (any descriptor of it, O_PATH
 * will do; -1 when there is none: no keys). DIR names it in alerts. DIR_ST is DIRFD's
 * fstat() when the caller took it just before (NULL: taken here).
 */
int dropin_load(int dirfd, const struct stat *dir_st, const char *dir, const char *user,
		unsigned min_rsa_bits, struct dropin_set *ret);
void dropin_set_done(struct dropin_set *s);

/*
 * The keys file's new text: OLD with its approved block replaced by SET (appended at the
 * end when there is none; removed when SET is empty). *changed tells whether it differs.
 */
int dropin_merge(const char *old, size_t old_len, const struct dropin_set *set, char **ret,
		 size_t *ret_len, bool *changed);

/*
 * Approve LINE for USER: write it, validated as every drop-in line is, to NAME (*.pub) in
 * USER's directory of the drop-in directory TOP (O_PATH; the user's directory is made,
 * root's, 0755, when missing), as root's file, 0644. -EKEYREJECTED with WHY when the line
 * would not be used, -EPERM when the user's directory is not root's alone.
 */
int dropin_approve(int top, const char *user, const char *name, const char *line,
		   unsigned min_rsa_bits, char *why, size_t whylen);

/*
 * Is the line at P (LEN bytes, no newline) the marker line MARKER (DROPIN_BEGIN, DROPIN_END)?
 * A trailing CR is ignored: the line of a file an editor saved with CRLF line ends.
 */
bool dropin_is_marker(const char *p, size_t len, const char *marker);

/* Does the keys file text BUF hold a begin marker line? */
bool dropin_has_block(const char *buf, size_t len);

/*
 * Is this key among the approved ones? By fingerprint, which sees through encodings,
 * and by kind: a certificate shares its fingerprint with its plain key.
 */
bool dropin_contains(const struct dropin_set *set, const char *fingerprint, bool certificate);

/*
 * Does SET hold a key that logs in by itself? A certificate line does not: sshd never accepts
 * one from a keys file.
 */
bool dropin_has_login_key(const struct dropin_set *set);

/* A keys file that was replaced, still open for reading: writers that held it open
 * across the rename write here. */
struct dropin_tail {
	int fd;
	off_t offset; /* how much of it the new file holds */
};

struct dropin_tails {
	struct dropin_tail *t;
	size_t n;
};

void dropin_tails_done(struct dropin_tails *t);

/*
 * Bring NAME in DIRFD (the checked .ssh, O_PATH) in line with SET: read it, merge,
 * and with WRITE replace it safely (a new file, renamed over; retried when the user
 * changed it meanwhile, and lines the user appended to the old file during the
 * rename carried over). A missing NAME is created with UID, GID and MODE; an existing
 * one keeps its owner and mode. *changed says whether the block, or lines carried over,
 * make the file differ (or made it). With KEEP (Exclusive=), the key lines outside the
 * block that are not approved (NULL when none) are handed to KEEP each time the file is read
 * (with WRITE, for KEEP to store them before they leave the file), with what ODD counts of the
 * lines that stay there and are no keys; KEEP returns 1 to take the key lines out, 0 to leave
 * them, or a negative errno, and then nothing is replaced. CARRY_IN (lines
 * written to a replaced file) is appended to the user's lines, and makes the write
 * happen. TAILS, when given, receives every existing file replaced (a retry replaces
 * more than one). *replaced says whether NAME was replaced: only then have the lines KEEP
 * took out left it (a failure after KEEP, or retries that all found the file changed again,
 * leave them there).
 */
struct dropin_odd {
	size_t n;	       /* lines outside the block that are no key sshd would use */
	unsigned first_lineno; /* the first of them, and why */
	char first_why[256];
};
typedef int (*dropin_keep_fn)(void *userdata, char *const *lines, const struct dropin_odd *odd,
			      bool write);
int dropin_apply(int dirfd, const char *name, const struct dropin_set *set, uid_t uid, gid_t gid,
		 mode_t mode, bool write, dropin_keep_fn keep, void *userdata, const char *carry_in,
		 size_t carry_in_len, struct dropin_tails *tails, bool *changed, bool *replaced);
