/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key audit's diff: the keys of a user's files against what was remembered, what is told
 * and what is remembered after, in a state directory under a temp root (no root needed).
 */
#include <fcntl.h>
#include "audit.h"
#include "check-main.h"
#include "macro.h"
#include "unit-helpers.h"

static char *root;
static int rootfd = -1;
/* What the audit told, one line each; what the tells return (0 told, -EAGAIN held back). */
static char told[1024];
static int answer;

static void setup(void)
{
	root = unit_tmproot();
	rootfd = open(root, O_PATH | O_DIRECTORY);
	ck_assert_int_ge(rootfd, 0);
	told[0] = 0;
	answer = 0;
}

static void teardown(void)
{
	close(rootfd);
	unit_rmtree(root);
	free(root);
}

static int tell_unapproved(_unused_ void *userdata, const struct key_entry *e)
{
	snprintf(told + strlen(told), sizeof(told) - strlen(told), "unapproved %s %s\n",
		 e->fingerprint, e->file);
	return answer;
}

static int tell_removed(_unused_ void *userdata, const char *fp, const char *comment)
{
	snprintf(told + strlen(told), sizeof(told) - strlen(told), "removed %s (%s)\n", fp,
		 comment ? comment : "");
	return answer;
}

static const struct audit_tell tell = {.unapproved = tell_unapproved, .removed = tell_removed};

/* L with one more key, FP (NULL: a keys file not read), of STATUS. */
static void add(struct key_list *l, const char *fp, enum key_status status, const char *comment)
{
	l->e = realloc(l->e, (l->n + 1) * sizeof(*l->e));
	ck_assert_ptr_nonnull(l->e);
	l->e[l->n++] = (struct key_entry){.file = strdup("/home/alice/.ssh/authorized_keys"),
					  .lineno = fp ? (unsigned)l->n + 1 : 0,
					  .fingerprint = fp ? strdup(fp) : NULL,
					  .comment = comment ? strdup(comment) : NULL,
					  .status = status};
}

/*
 * The state directory now remembers WANT of alice. Only root can give the file to root, as the
 * audit does: for another user, what the diff itself returned is all that is checked.
 */
static void remembers(const char *want)
{
	char path[4096], text[4096] = "";
	FILE *f;

	if (geteuid() != 0)
		return;
	snprintf(path, sizeof(path), "%s%s/keys.alice", root, AUDIT_STATE_DIR);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_lt(fread(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	fclose(f);
	ck_assert_str_eq(text, want);
}

START_TEST(first_sight_is_the_baseline)
{
	struct key_list l = {0};
	struct audit_result res;

	add(&l, "SHA256:a", KEY_USER, "laptop");
	add(&l, "SHA256:b", KEY_APPROVED, NULL);
	ck_assert_int_eq(audit_diff(rootfd, "alice", NULL, &l, &tell, &res), 0);
	key_list_done(&l);
	ck_assert_str_eq(told, "");
	ck_assert(res.baseline);
	ck_assert_uint_eq(res.n_keys, 2);
	ck_assert(res.recorded);
	ck_assert(!res.state_full);
	remembers("SHA256:a user laptop\nSHA256:b approved\n");
}
END_TEST

/*
 * Key a stays, b (remembered approved) is gone, c appears unapproved: both told, with the
 * tells answering ANSWER; what the audit says of it.
 */
static struct audit_result b_goes_c_comes(int tells_answer)
{
	char *state[] = {"SHA256:a user laptop", "SHA256:b approved old", NULL};
	struct key_list l = {0};
	struct audit_result res;

	answer = tells_answer;
	add(&l, "SHA256:a", KEY_USER, "laptop");
	add(&l, "SHA256:c", KEY_UNAPPROVED, NULL);
	ck_assert_int_eq(audit_diff(rootfd, "alice", state, &l, &tell, &res), 0);
	key_list_done(&l);
	ck_assert_str_eq(told, "unapproved SHA256:c /home/alice/.ssh/authorized_keys\n"
			       "removed SHA256:b (old)\n");
	return res;
}

START_TEST(what_changed_is_told_and_remembered)
{
	struct audit_result res = b_goes_c_comes(0);

	ck_assert(!res.baseline);
	ck_assert_uint_eq(res.n_keys, 0);
	ck_assert(res.recorded);
	remembers("SHA256:a user laptop\nSHA256:c unapproved\n");
}
END_TEST

/* What the journal held back is remembered as it was, so that the next audit tells it. */
START_TEST(what_was_not_told_is_told_again)
{
	ck_assert(b_goes_c_comes(-EAGAIN).recorded);
	remembers("SHA256:a user laptop\nSHA256:b approved old\n");
}
END_TEST

/* A keys file too large to be read hides its keys: none is gone, nothing remembered. */
START_TEST(an_unread_file_hides_nothing)
{
	char *state[] = {"SHA256:a user laptop", "SHA256:b approved", NULL};
	struct key_list l = {0};
	struct audit_result res;

	add(&l, "SHA256:a", KEY_USER, "laptop");
	add(&l, NULL, KEY_INVALID, NULL);
	ck_assert_int_eq(audit_diff(rootfd, "alice", state, &l, &tell, &res), 0);
	key_list_done(&l);
	ck_assert_str_eq(told, "");
	ck_assert(!res.recorded);
}
END_TEST

START_TEST(a_sync_says_what_it_added_and_removed)
{
	char *state[] = {"SHA256:a approved", "SHA256:b approved", "SHA256:u user", NULL};
	_cleanup_free_ char *added = NULL, *removed = NULL;
	struct key_list l = {0};

	add(&l, "SHA256:a", KEY_APPROVED, NULL);
	add(&l, "SHA256:c", KEY_APPROVED, NULL);
	add(&l, "SHA256:d", KEY_APPROVED, NULL);
	add(&l, "SHA256:u", KEY_USER, NULL);
	ck_assert_int_eq(audit_synced(state, &l, &added, &removed), 0);
	key_list_done(&l);
	ck_assert_str_eq(added, "SHA256:c SHA256:d");
	ck_assert_str_eq(removed, "SHA256:b");
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("auditdiff");
	TCase *tc = tcase_create("diff");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_sight_is_the_baseline);
	tcase_add_test(tc, what_changed_is_told_and_remembered);
	tcase_add_test(tc, what_was_not_told_is_told_again);
	tcase_add_test(tc, an_unread_file_hides_nothing);
	tcase_add_test(tc, a_sync_says_what_it_added_and_removed);
	suite_add_tcase(s, tc);
	return s;
}
