/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "engine.h"
#include "report.h"
#include "unit-helpers.h"

/* What sshmend prints for a user's report, from a user database read from a temp root. */

static char *root;
static struct userdb *db;
static const struct user *alice;

static void setup(void)
{
	root = unit_tmproot();
	unit_write(root, "etc/passwd",
		   "root:x:0:0::/root:/bin/sh\nalice:x:20001:20001::/home/alice:/bin/sh\n");
	unit_write(root, "etc/group", "root:x:0:\nalice:x:20001:\n");
	db = unit_userdb(root);
	alice = userdb_by_name(db, "alice");
	ck_assert_ptr_nonnull(alice);
}

static void teardown(void)
{
	userdb_free(db);
	unit_rmtree(root);
	free(root);
}

/* A home found 0777 and root's, to be alice's 0755. */
static struct finding home_finding(enum action action)
{
	struct finding f = {
	    .path = (char *)"/home/alice",
	    .problem = PROBLEM_MODE,
	    .has_state = true,
	    .exp_uid = 20001,
	    .exp_gid = 20001,
	    .exp_mode = 0755,
	    .sshd_rejects = true,
	    .sshd_message =
		(char *)"Authentication refused: bad ownership or modes for directory /home/alice",
	    .action = action,
	};

	f.found.st_mode = S_IFDIR | 0777;
	f.found.st_uid = 0;
	f.found.st_gid = 0;
	return f;
}

static char *capture_human(const struct user_report *r, bool dry_run)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	ck_assert_ptr_nonnull(f);
	report_human(f, db, r, dry_run);
	ck_assert_int_eq(fclose(f), 0);
	return s;
}

static char *capture_json(const struct user_report *r)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	ck_assert_ptr_nonnull(f);
	report_json_begin(f);
	report_json_user(f, db, r, true);
	report_json_end(f);
	ck_assert_int_eq(fclose(f), 0);
	return s;
}

START_TEST(owner_names)
{
	char buf[64];

	report_owner_name(db, 20001, buf, sizeof(buf));
	ck_assert_str_eq(buf, "alice");
	report_owner_name(db, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "root");
	report_owner_name(db, 4242, buf, sizeof(buf));
	ck_assert_str_eq(buf, "4242");
}
END_TEST

START_TEST(change_says_old_and_new)
{
	struct finding f = home_finding(ACTION_WOULD_FIX);
	char buf[256];

	report_change(db, &f, buf, sizeof(buf));
	ck_assert_str_eq(buf, "mode 0777 -> 0755, owner root -> alice, group 0 -> 20001");
	/* After the repair: what it became, the group no more (the owner says it). */
	f.has_final = true;
	f.final_mode = 0755;
	f.final_uid = 20001;
	report_change(db, &f, buf, sizeof(buf));
	ck_assert_str_eq(buf, "mode 0777 -> 0755, owner root -> alice");
	/* Nothing changed: nothing said. */
	f.final_mode = 0777;
	f.final_uid = 0;
	report_change(db, &f, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(human_lines)
{
	struct finding f = home_finding(ACTION_FIXED);
	struct user_report r = {.user = alice};
	char *s;

	s = capture_human(&r, false);
	ck_assert_str_eq(s, "alice: ok\n");
	free(s);

	r.findings = &f;
	r.n_findings = 1;
	s = capture_human(&r, false);
	ck_assert_msg(strncmp(s, "alice: /home/alice: ", 20) == 0, "%s", s);
	ck_assert_msg(
	    strstr(s, " - sshd refuses: bad ownership or modes for directory /home/alice"), "%s",
	    s);
	ck_assert_msg(strstr(s, " (fixed)\n"), "%s", s);
	ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1); /* one line */
	free(s);

	f.action = ACTION_WOULD_FIX;
	s = capture_human(&r, true);
	ck_assert_msg(strstr(s, "would change mode 0777 -> 0755"), "%s", s);
	free(s);

	f.action = ACTION_REFUSED;
	f.problem = PROBLEM_SYMLINK;
	f.reason = (char *)"symlink in a directory the user can write; not followed";
	s = capture_human(&r, false);
	ck_assert_msg(strstr(s, "symlink, not followed"), "%s", s);
	ck_assert_msg(strstr(s, "(refused: symlink in a directory the user can write"), "%s", s);
	free(s);
}
END_TEST

START_TEST(human_escapes_what_a_user_named)
{
	struct finding f = home_finding(ACTION_FAILED);
	struct user_report r = {.user = alice, .findings = &f, .n_findings = 1};
	char *s;

	/* A name with a terminal escape and a newline: shown, never obeyed, on one line. */
	f.path = (char *)"/home/alice/\x1b[2Kx\ny";
	f.reason = (char *)"Operation not permitted";
	s = capture_human(&r, false);
	ck_assert_ptr_null(strchr(s, '\x1b'));
	ck_assert_ptr_eq(strchr(s, '\n'), s + strlen(s) - 1);
	ck_assert_msg(strstr(s, "(failed: Operation not permitted)"), "%s", s);
	free(s);
}
END_TEST

START_TEST(json_document)
{
	static const char *const head =
	    "{\"users\":[{\"user\":\"alice\",\"uid\":20001,\"home\":\"/home/alice\","
	    "\"sshd_accepts\":false,\"findings\":[{\"path\":\"/home/alice\\\"\\u0001\","
	    "\"problem\":\"mode\",\"current_mode\":\"0777\",\"expected_mode\":\"0755\"";
	struct finding f = home_finding(ACTION_FIXED);
	struct user_report r = {.user = alice, .findings = &f, .n_findings = 1};
	char *s;

	f.has_final = true;
	f.final_mode = 0755;
	f.final_uid = 20001;
	f.path = (char *)"/home/alice\"\x01";
	s = capture_json(&r);
	ck_assert_msg(strncmp(s, head, strlen(head)) == 0, "%s", s);
	ck_assert_msg(strstr(s, "\"current_owner\":\"root\",\"expected_owner\":\"alice\""), "%s",
		      s);
	ck_assert_msg(strstr(s, "\"final_mode\":\"0755\",\"final_owner\":\"alice\""), "%s", s);
	ck_assert_msg(
	    strstr(s, "\"sshd_rejects\":true,\"sshd_message\":\"Authentication refused: bad"), "%s",
	    s);
	ck_assert_msg(strstr(s, "\"action\":\"fixed\"}]}]}\n"), "%s", s);
	free(s);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, owner_names);
	tcase_add_test(tc, change_says_old_and_new);
	tcase_add_test(tc, human_lines);
	tcase_add_test(tc, human_escapes_what_a_user_named);
	tcase_add_test(tc, json_document);
	suite_add_tcase(s, tc);
	return s;
}
