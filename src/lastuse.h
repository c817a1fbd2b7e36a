/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sshdlog.h"

/*
 * The last use of each key: every key login sshd accepted ("Accepted publickey for U from A
 * port P ssh2: TYPE FP") is remembered in the state directory, in one file per user
 * ("lastuse.USER", root's, 0600), a line "FINGERPRINT SECONDS ADDRESS" per key (SECONDS since
 * the epoch), the latest first. Bounded: at most LASTUSE_KEYS_MAX keys a user (the one used
 * longest ago goes first), and a file is read no further than LASTUSE_FILE_MAX bytes; a line
 * that does not read as one is skipped. Written whole, under a temporary name, then renamed.
 */

#define LASTUSE_KIND "lastuse"
#define LASTUSE_KEYS_MAX 256
#define LASTUSE_FILE_MAX (LASTUSE_KEYS_MAX * (SSHDLOG_FP_MAX + SSHDLOG_ADDR_MAX + 24))
/* "2026-12-06T14:02:00Z" and "2026-12-06 14:02 UTC", with their NUL. */
#define LASTUSE_TIME_MAX 32

struct lastuse {
	char fingerprint[SSHDLOG_FP_MAX];
	char addr[SSHDLOG_ADDR_MAX];
	int64_t when; /* seconds since the epoch */
};

struct lastuse_list {
	struct lastuse *e; /* the latest first */
	size_t n;
};

/* What is remembered for USER: an empty list when nothing is. 0 or a negative errno. */
int lastuse_load(int rootfd, const char *user, struct lastuse_list *ret);
void lastuse_list_done(struct lastuse_list *l);
/* The last use of the key FP in L, or NULL. */
const struct lastuse *lastuse_find(const struct lastuse_list *l, const char *fp);

/*
 * Remember that USER logged in with the key FP from ADDR at WHEN (state directory made
 * 0700). -EINVAL for a fingerprint or address that cannot stand in a line.
 */
int lastuse_record(int rootfd, const char *user, const char *fp, const char *addr, int64_t when);

/* WHEN in ISO 8601 UTC ("2026-12-06T14:02:00Z") and for a person ("2026-12-06 14:02 UTC"). */
const char *lastuse_iso(int64_t when, char buf[static LASTUSE_TIME_MAX]);
const char *lastuse_human(int64_t when, char buf[static LASTUSE_TIME_MAX]);

/* One user an address logged in as, and when last. */
struct lastuse_login {
	char *user;
	int64_t when;
};

/*
 * The users ADDR logged in as (any key), the latest first, at most MAX of them, in OUT
 * (each user to free with lastuse_logins_done()). Returns how many, or a negative errno.
 */
int lastuse_logins_from(int rootfd, const char *addr, struct lastuse_login *out, size_t max);
void lastuse_logins_done(struct lastuse_login *l, size_t n);

/* Call FN for the address of every login remembered, of every user. 0 or a negative errno. */
int lastuse_each_addr(int rootfd, void (*fn)(void *userdata, const char *addr), void *userdata);

/*
 * What line L, logged at USEC (CLOCK_REALTIME, microseconds), says of a key's last use: an
 * "Accepted publickey" line with a fingerprint is recorded, any other line is not (0).
 */
int lastuse_accepted(int rootfd, const struct sshdlog_line *l, uint64_t usec);

/* The users a hint names that an address logged in as. */
#define LASTUSE_HINT_USERS 3

/*
 * What to tell a client at ADDR that named no user of this system: the users it logged in as
 * before, the latest first ("203.0.113.5 logged in as ec2-user 2026-12-06 14:02 UTC: log in as
 * ec2-user"), in *RET (malloc'd); NULL when it never did. 0 or a negative errno.
 */
int lastuse_hint(int rootfd, const char *addr, char **ret);
