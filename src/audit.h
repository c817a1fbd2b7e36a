#pragma once
#include <stdbool.h>
#include <stddef.h>

/*
 * The audit of keys files: which keys stand in them, remembered by fingerprint in a
 * root-only state directory, so that a key that appears outside the approved set, or a
 * key that disappears, can be told.
 */

#define AUDIT_STATE_DIR LOCALSTATEDIR "/lib/sshmend"

enum key_status {
	KEY_APPROVED,   /* in the drop-in directory */
	KEY_USER,       /* the user's own, known since the baseline */
	KEY_UNAPPROVED, /* appeared after the baseline, outside the approved set */
	KEY_INVALID,    /* a line sshd would not use */
};

struct key_entry {
	char *file;
	unsigned lineno;
	char *fingerprint; /* NULL when invalid */
	char *type;
	char *comment;
	char *why; /* for invalid lines */
	bool certificate;
	bool in_block; /* between sshmend's markers */
	enum key_status status;
};

struct key_list {
	struct key_entry *e;
	size_t n;
};

/* Add the key lines of TEXT (the keys file FILE) to L. */
int audit_scan(const char *file, const char *text, size_t len, struct key_list *l);
void key_list_done(struct key_list *l);

/*
 * What was remembered for USER: lines "FINGERPRINT STATUS[ COMMENT]"; *ret NULL when there
 * is no baseline yet.
 */
int audit_state_load(int rootfd, const char *user, char ***ret);
/* The status remembered for FP, or -1. */
int audit_state_status(char *const *state, const char *fp);
/* The comment remembered with FP (points into STATE), or NULL. */
const char *audit_state_comment(char *const *state, const char *fp);
/* Remember L's valid keys and their status for USER (state directory made 0700). */
int audit_state_save(int rootfd, const char *user, const struct key_list *l);
/* The state directory inside ROOTFD (O_PATH), made 0700 with its parents when CREATE. */
int audit_state_dir(int rootfd, bool create, int *ret);
/* Append LINES, each with its origin, to USER's quarantine file in the state directory. */
int audit_quarantine(int rootfd, const char *user, const char *from, char *const *lines);

const char *key_status_to_string(enum key_status s);
