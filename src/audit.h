/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The audit of keys files: which keys stand in them, remembered by fingerprint in a
 * root-only state directory, so that a key that appears outside the approved set, or a
 * key that disappears, can be told. audit.c reads keys files and compares them with what
 * was remembered; auditstate.c is the state directory; quarantine.c the quarantine.
 */

#define AUDIT_STATE_DIR LOCALSTATEDIR "/lib/sshmend"
/*
 * The most a file of the state directory (a user's remembered keys, a user's quarantine) holds:
 * written no larger, read back whole. Two full keys files' keys (KEYS_FILE_MAX of the shortest
 * key lines) fit in the remembered keys.
 */
#define AUDIT_STATE_MAX (16u << 20)

/*
 * The most a user's record of removed keys (audit_gone_record()) holds: its oldest lines make
 * room, some 2,500 removals.
 */
#define AUDIT_GONE_MAX (256u << 10)
/* A time as the state directory writes it: "2026-12-07T06:54:34Z" and its NUL. */
#define AUDIT_TIME_LEN 32

struct stat;
struct strindex;

enum key_status {
	KEY_APPROVED,	/* in the drop-in directory */
	KEY_USER,	/* the user's own, known since the baseline */
	KEY_UNAPPROVED, /* appeared after the baseline, outside the approved set */
	KEY_INVALID,	/* a line sshd would not use */
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
	int64_t last_used; /* the last login with it (seconds since the epoch), 0: never */
	char *last_from;   /* the address of that login */
};

struct key_list {
	struct key_entry *e;
	size_t n;
};

/* Add the key lines of TEXT (the keys file FILE) to L. */
int audit_scan(const char *file, const char *text, size_t len, struct key_list *l);
/* Add to L, as an invalid line 0, the keys file FILE that was not read, and WHY. */
int audit_scan_unread(const char *file, const char *why, struct key_list *l);
void key_list_done(struct key_list *l);

/*
 * What was remembered for USER: lines "FINGERPRINT STATUS[ COMMENT]"; *ret NULL when there
 * is no baseline yet. 1 when the file was larger than AUDIT_STATE_MAX (only its start was read).
 */
int audit_state_load(int rootfd, const char *user, char ***ret);
/*
 * Whose state the state directory holds: the audit remembers keys for one machine, the one
 * /etc/machine-id inside the root names, and records that id beside the state. Returns 1 when
 * the state is this machine's (or was recorded before ids were: an upgrade), 0 when it is
 * not to be used: there is no machine id (empty or missing, as image preparation leaves it),
 * or, without ADOPT, the state is another machine's. With ADOPT (the daemon, at start and
 * reload), another machine's state (an image's, at an instance's first boot) is dropped,
 * quietly, and the id is recorded, as it is into a state that had none.
 */
int audit_state_bind(int rootfd, bool adopt);
/* STATE's lines (from audit_state_load(), may be NULL) indexed by fingerprint. */
int audit_state_index(char *const *state, struct strindex **ret);
/*
 * The status remembered for FP, or -1, in constant time: STATE and its INDEX. *line (when
 * given) is FP's line in STATE, or -1.
 */
int audit_state_status(char *const *state, const struct strindex *index, const char *fp,
		       ssize_t *line);
/* The comment remembered with FP (points into STATE), or NULL; STATE and its INDEX. */
const char *audit_state_comment(char *const *state, const struct strindex *index, const char *fp);
/*
 * Remember L's valid keys, each once, and their status for USER (state directory made 0700).
 * 1 when they did not all fit in AUDIT_STATE_MAX: those past it are not remembered.
 */
int audit_state_save(int rootfd, const char *user, const struct key_list *l);
/* The state directory inside ROOTFD (O_PATH), made 0700 with its parents when CREATE. */
int audit_state_dir(int rootfd, bool create, int *ret);
/* Remove what writes cut short left in the state directory (safe_remove_leftovers()): FN is
 * told the path of each. The number removed, or < 0. */
int audit_state_sweep(int rootfd, int (*fn)(void *userdata, const char *path), void *userdata);
/* A directory stream of the state directory open (O_PATH) in DFD, to read its names. */
int audit_state_opendir(int dfd, DIR **ret);
/* The name in the state directory of USER's file of KIND ("keys", "quarantine"). */
int audit_state_file(const char *user, const char *kind, char *buf, size_t len);
/*
 * USER's state file of KIND, read: *dfd the state directory (made with CREATE), NAME its name
 * there, *buf its text ("" when there is none; of one larger than AUDIT_STATE_MAX, its end),
 * *exists and *st as read, for safe_replace_file().
 */
int audit_state_read_file(int rootfd, const char *user, const char *kind, bool create, int *dfd,
			  char *name, size_t namelen, char **buf, size_t *len, bool *exists,
			  struct stat *st);
/*
 * Read the state file open in FD, of at most AUDIT_STATE_MAX bytes: sshmend writes no more. Of a
 * larger one (a limit lowered since it was written) only whole lines of the part at the start,
 * or with FROM_END at the end, are read, and 1 returned.
 */
int audit_state_read(int fd, bool from_end, char **ret, size_t *ret_len);

/*
 * Remember that the keys GONE (state lines "FINGERPRINT STATUS[ COMMENT]") were found gone from
 * USER's keys files now: appended, with the time (UTC), to USER's record of removed keys in the
 * state directory, whose oldest lines go past AUDIT_GONE_MAX. A state directory without one (an
 * older version's) starts it.
 */
int audit_gone_record(int rootfd, const char *user, char *const *gone);

/* When the audit last found a key gone, and its status then. */
struct audit_gone {
	char when[AUDIT_TIME_LEN]; /* UTC, as written */
	int was;		   /* enum key_status, or -1 when not recorded */
};

/* The last removal of FP from USER's keys files recorded: 1 and *ret, 0 when none is. */
int audit_gone_find(int rootfd, const char *user, const char *fp, struct audit_gone *ret);

/* What an audit tells through its caller: 0 when told, < 0 when not (told at the next one). */
struct audit_tell {
	/* E stands outside the approved set, and did not at the last audit. */
	int (*unapproved)(void *userdata, const struct key_entry *e);
	/* The key FP (with COMMENT, as remembered) is gone from the keys files. */
	int (*removed)(void *userdata, const char *fp, const char *comment);
	void *userdata;
};

struct audit_result {
	bool baseline;	 /* nothing was remembered: the keys are recorded, not told */
	size_t n_keys;	 /* the keys of a baseline */
	bool recorded;	 /* what changed was written to the state */
	bool state_full; /* ... but not all of it fitted in AUDIT_STATE_MAX */
};

/*
 * The audit of USER's keys L (as engine_list_keys() lists them, with STATE, what
 * audit_state_load() read): tell through T each key that stands newly outside the approved set
 * and each remembered one that is gone, and remember L, but what was not told. A keys file too
 * large to be read hides its keys: none is taken for gone, and nothing is remembered.
 */
int audit_diff(int rootfd, const char *user, char *const *state, struct key_list *l,
	       const struct audit_tell *t, struct audit_result *ret);

/*
 * What a key sync changed: the approved keys in L (listed with STATE) that STATE does not
 * remember as approved (*added), and those it does that L no longer holds (*removed); each
 * space-separated fingerprints (malloc'd), NULL for none.
 */
int audit_synced(char *const *state, const struct key_list *l, char **added, char **removed);
/*
 * Append LINES, each with its origin and the time (UTC), to USER's quarantine file in the
 * state directory. What would grow it past AUDIT_STATE_MAX pushes its oldest entries out:
 * returns how many went (0 mostly), or a negative errno.
 */
int audit_quarantine(int rootfd, const char *user, const char *from, char *const *lines);
/*
 * Take back what audit_quarantine() appended of LINES from FROM: the newest entry of each,
 * when the keys file could not be replaced after all and the lines are still in it.
 */
int audit_quarantine_undo(int rootfd, const char *user, const char *from, char *const *lines);

/* Where USER's quarantine file is, inside the root. */
int audit_quarantine_path(const char *user, char *buf, size_t len);

struct quarantined_key {
	char *line; /* as it stood in the keys file */
	char *fingerprint;
	char *type;
	char *comment; /* NULL when none */
	char *from;    /* the keys file it came from */
	char *taken;   /* when, as YYYY-MM-DDTHH:MM:SSZ; NULL in a file of an older version */
};

struct quarantine_list {
	struct quarantined_key *q; /* oldest first */
	size_t n;
};

/* The keys in USER's quarantine (none when there is no such file). */
int audit_quarantine_load(int rootfd, const char *user, struct quarantine_list *ret);
void quarantine_list_done(struct quarantine_list *l);
/*
 * Take LINE of the key FINGERPRINT (every line of it when LINE is NULL), with its header, out
 * of USER's quarantine: another line of the same key, with other options, stays.
 */
int audit_quarantine_drop(int rootfd, const char *user, const char *fingerprint, const char *line);

const char *key_status_to_string(enum key_status s);
