/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdio.h>
#include "engine.h"

/*
 * One line per finding, in sshd's words where sshd refuses; "USER: ok" when clean. With
 * DRY_RUN, a finding fix would repair says what it would change ("mode 0777 -> 0755").
 */
void report_human(FILE *out, const struct userdb *db, const struct user_report *r, bool dry_run);

/* The --json document: report_json_begin, one report_json_user per user, report_json_end. */
void report_json_begin(FILE *out);
void report_json_user(FILE *out, const struct userdb *db, const struct user_report *r, bool first);
void report_json_end(FILE *out);

struct key_list;

/* sshmend keys: one line per key, or one JSON document (begin/user/end as above). */
void report_keys_human(FILE *out, const struct user *u, const struct key_list *l);
void report_keys_json_user(FILE *out, const struct user *u, const struct key_list *l, bool first);

struct quarantine_list;

/* sshmend keys --quarantined: one line per key, or one JSON document (as above). */
void report_quarantine_human(FILE *out, const struct user *u, const struct quarantine_list *l);
void report_quarantine_json_user(FILE *out, const struct user *u, const struct quarantine_list *l,
				 bool first);
/*
 * What a repair of F changes (changed) or would change, and only that, into BUF: "mode 0777
 * -> 0755", "owner alice -> bob", "group 100 -> 20001", joined by ", "; "" when nothing.
 */
void report_change(const struct userdb *db, const struct finding *f, char *buf, size_t len);

/* An owner as a name when the user database knows the uid, else the number. */
void report_owner_name(const struct userdb *db, uid_t uid, char *buf, size_t len);

/*
 * S as a JSON string: every character escape_scan() would not show is a \u escape, and a
 * byte that is not valid UTF-8 is the text "\xHH", as the human output shows it.
 */
void report_json_string(FILE *out, const char *s);
