/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "audit.h"
#include "check-main.h"
#include "dropin.h"
#include "strindex.h"
#include "strv.h"
#include "unit-helpers.h"

/* The key audit: what a keys file holds, and what is remembered of it in a temp root. */

#define KEY_A "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMTFo7HNu8AUUV580L8eYmy3EJATf3QmmNhVr4rgcCtA"
#define KEY_B "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID89qcPwTFV39cV2sbRsLHOWey5yhP9R3PIfjqhMBgaI"
/* As ssh-keygen -lf prints them. */
#define FP_A "SHA256:E+QKbJccAQvzbFDNnouZpizTS8NKWAesob9YLdsQzL0"
#define FP_B "SHA256:jYlWqn4sMYKbtzGSe/kDau38V/6oTQfNt1/Ybr2Ueuo"

UNIT_ROOT_FIXTURE

static const char keys_text[] = "# mine\n" KEY_A " alice@laptop\n"
				"ssh-ed25519 AAAA truncated\n"
				"\n" DROPIN_BEGIN "\n" KEY_B " ops\n" DROPIN_END "\n";

static void scan(struct key_list *l)
{
	*l = (struct key_list){0};
	ck_assert_int_eq(
	    audit_scan("/home/alice/.ssh/authorized_keys", keys_text, strlen(keys_text), l), 0);
}

START_TEST(scan_lines)
{
	struct key_list l;

	scan(&l);
	ck_assert_uint_eq(l.n, 3); /* the comment, the blank line and the markers are not keys */
	ck_assert_uint_eq(l.e[0].lineno, 2);
	ck_assert_str_eq(l.e[0].fingerprint, FP_A);
	ck_assert_str_eq(l.e[0].type, "ssh-ed25519");
	ck_assert_str_eq(l.e[0].comment, "alice@laptop");
	ck_assert(!l.e[0].in_block);
	ck_assert_uint_eq(l.e[1].lineno, 3);
	ck_assert_int_eq(l.e[1].status, KEY_INVALID);
	ck_assert_ptr_null(l.e[1].fingerprint);
	ck_assert_ptr_nonnull(l.e[1].why);
	ck_assert_uint_eq(l.e[2].lineno, 6);
	ck_assert_str_eq(l.e[2].fingerprint, FP_B);
	ck_assert(l.e[2].in_block);
	ck_assert_int_eq(
	    audit_scan_unread("/home/alice/.ssh/authorized_keys2", "Permission denied", &l), 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_uint_eq(l.e[3].lineno, 0);
	ck_assert_int_eq(l.e[3].status, KEY_INVALID);
	ck_assert_str_eq(l.e[3].why, "Permission denied");
	key_list_done(&l);
}
END_TEST

START_TEST(state_lookup)
{
	char *state[] = {(char *)FP_A " user alice@laptop", (char *)FP_B " approved", NULL};
	struct strindex *ix;
	ssize_t line;

	ck_assert_int_eq(audit_state_index(state, &ix), 0);
	ck_assert_int_eq(audit_state_status(state, ix, FP_A, &line), KEY_USER);
	ck_assert_int_eq(line, 0);
	ck_assert_int_eq(audit_state_status(state, ix, FP_B, &line), KEY_APPROVED);
	ck_assert_int_eq(line, 1);
	ck_assert_int_eq(audit_state_status(state, ix, "SHA256:none", &line), -1);
	ck_assert_int_eq(line, -1);
	ck_assert_str_eq(audit_state_comment(state, ix, FP_A), "alice@laptop");
	ck_assert_ptr_null(audit_state_comment(state, ix, FP_B));
	strindex_free(ix);
}
END_TEST

/* Without root: the state is root's or nothing, and no half-written file is left behind. */
START_TEST(state_is_roots_alone)
{
	struct key_list l;
	char **state = NULL;
	int dfd;

	scan(&l);
	ck_assert_int_eq(audit_state_save(rootfd, "alice", &l), -EPERM);
	key_list_done(&l);
	ck_assert_int_eq(audit_state_load(rootfd, "alice", &state), 0);
	ck_assert_ptr_null(state);
	/* The directory was made (0700, as asked), and holds nothing. */
	ck_assert_int_eq(audit_state_dir(rootfd, false, &dfd), 0);
	{
		char p[4200], cmd[4400];

		snprintf(p, sizeof(p), "%s%s", root, AUDIT_STATE_DIR);
		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", p);
		ck_assert_int_eq(system(cmd), 0);
	}
	close(dfd);
}
END_TEST

/* Needs root: the state files are root's. What is saved is loaded back, each key once. */
START_TEST(state_round_trip)
{
	struct key_list l;
	char **state = NULL;
	struct stat st;
	char p[4200];
	ck_assert_int_eq(audit_state_load(rootfd, "alice", &state), 0);
	ck_assert_ptr_null(state); /* no baseline yet */
	scan(&l);
	l.e[0].status = KEY_USER;
	l.e[2].status = KEY_APPROVED;
	ck_assert_int_eq(audit_state_save(rootfd, "alice", &l), 0);
	ck_assert_int_eq(audit_state_load(rootfd, "alice", &state), 0);
	ck_assert_ptr_nonnull(state);
	ck_assert_uint_eq(strv_length(state), 2);
	ck_assert_str_eq(state[0], FP_A " user alice@laptop");
	ck_assert_str_eq(state[1], FP_B " approved ops");
	strv_free(state);
	snprintf(p, sizeof(p), "%s%s", root, AUDIT_STATE_DIR);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_uint_eq(st.st_uid, 0);
	key_list_done(&l);
}
END_TEST

/* Needs root, as above: a quarantined line is kept with where it came from. */
START_TEST(quarantine_round_trip)
{
	char *lines[] = {(char *)KEY_B " planted", NULL};
	struct quarantine_list q = {0};
	ck_assert_int_eq(audit_quarantine_load(rootfd, "alice", &q), 0);
	ck_assert_uint_eq(q.n, 0);
	ck_assert_int_ge(
	    audit_quarantine(rootfd, "alice", "/home/alice/.ssh/authorized_keys", lines), 0);
	ck_assert_int_eq(audit_quarantine_load(rootfd, "alice", &q), 0);
	ck_assert_uint_eq(q.n, 1);
	ck_assert_str_eq(q.q[0].line, KEY_B " planted");
	ck_assert_str_eq(q.q[0].fingerprint, FP_B);
	ck_assert_str_eq(q.q[0].from, "/home/alice/.ssh/authorized_keys");
	ck_assert_ptr_nonnull(q.q[0].taken);
	quarantine_list_done(&q);
}
END_TEST

/*
 * Needs root, as above: the keys the audit saw removed are found by fingerprint, the last
 * removal of each, with its time and status; past AUDIT_GONE_MAX the oldest lines go. A line
 * this version does not write (no time it could have written) is no removal.
 */
START_TEST(gone_round_trip)
{
	char *first[] = {(char *)FP_A " user alice@laptop", (char *)FP_B " approved ops", NULL};
	char *again[] = {(char *)FP_A " unapproved", NULL};
	char p[4200], line[200];
	struct audit_gone g;
	struct stat st;
	FILE *f;

	ck_assert_int_eq(audit_gone_find(rootfd, "alice", FP_A, &g), 0);
	ck_assert_int_eq(audit_gone_record(rootfd, "alice", first), 0);
	ck_assert_int_eq(audit_gone_find(rootfd, "alice", FP_B, &g), 1);
	ck_assert_int_eq(g.was, KEY_APPROVED);
	ck_assert_uint_eq(strlen(g.when), strlen("2026-12-07T06:54:34Z"));
	ck_assert_int_eq(audit_gone_record(rootfd, "alice", again), 0);
	ck_assert_int_eq(audit_gone_find(rootfd, "alice", FP_A, &g), 1);
	ck_assert_int_eq(g.was, KEY_UNAPPROVED);
	ck_assert_int_eq(audit_gone_find(rootfd, "bob", FP_A, &g), 0);
	/* Full: the oldest lines make room, the newest stay. */
	snprintf(line, sizeof(line), "SHA256:%0100d user", 0);
	for (size_t n = 0; n < AUDIT_GONE_MAX / 100; n += 64) {
		char *batch[65];

		for (size_t i = 0; i < 64; i++)
			batch[i] = line;
		batch[64] = NULL;
		ck_assert_int_eq(audit_gone_record(rootfd, "alice", batch), 0);
	}
	ck_assert_int_eq(audit_gone_record(rootfd, "alice", again), 0);
	snprintf(p, sizeof(p), "%s%s/removed.alice", root, AUDIT_STATE_DIR);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_uint_le((size_t)st.st_size, AUDIT_GONE_MAX);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(audit_gone_find(rootfd, "alice", FP_B, &g), 0);
	ck_assert_int_eq(audit_gone_find(rootfd, "alice", FP_A, &g), 1);
	f = fopen(p, "a");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s %040d user\n", FP_B, 0); /* a time longer than any this version writes */
	fclose(f);
	ck_assert_int_eq(audit_gone_find(rootfd, "alice", FP_B, &g), 0);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, unit_root_setup, unit_root_teardown);
	tcase_add_test(tc, scan_lines);
	tcase_add_test(tc, state_lookup);
	/* The state is root's: saved and loaded back as root, refused whole as anyone else. */
	if (geteuid() == 0) {
		tcase_add_test(tc, state_round_trip);
		tcase_add_test(tc, quarantine_round_trip);
		tcase_add_test(tc, gone_round_trip);
	} else {
		tcase_add_test(tc, state_is_roots_alone);
	}
	suite_add_tcase(s, tc);
	return s;
}
