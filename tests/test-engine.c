/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "engine.h"
#include "unit-helpers.h"

/*
 * engine_run_user() on a root the running user may change: as root, alice is uid 20001 and her
 * home is chowned to her; as anyone else, alice is the running user herself, so that the repairs
 * of her own home, .ssh and keys file are real chmods whoever runs the test. "/" and "/home" are
 * then hers too, which sshd accepts and sshmend would give to root: those two findings fail
 * without root, and are not what these tests look at.
 */

static const char *const key =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMTFo7HNu8AUUV580L8eYmy3EJATf3QmmNhVr4rgcCtA a@ops\n";

static char *root;
static uid_t alice_uid;
static gid_t alice_gid;

static void at(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

static void set_mode(const char *rel, mode_t mode)
{
	char p[4200];

	at(rel, p, sizeof(p));
	ck_assert_int_eq(chmod(p, mode), 0);
}

static mode_t mode_of(const char *rel)
{
	struct stat st;
	char p[4200];

	at(rel, p, sizeof(p));
	ck_assert_int_eq(lstat(p, &st), 0);
	return st.st_mode & 07777;
}

static void setup(void)
{
	char buf[256];

	root = unit_tmproot();
	chmod(root, 0755);
	alice_uid = geteuid() == 0 ? 20001 : geteuid();
	alice_gid = geteuid() == 0 ? 20001 : getegid();
	snprintf(buf, sizeof(buf),
		 "root:x:0:0::/root:/bin/sh\nalice:x:%u:%u::/home/alice:/bin/sh\n",
		 (unsigned)alice_uid, (unsigned)alice_gid);
	unit_write(root, "etc/passwd", buf);
	snprintf(buf, sizeof(buf), "root:x:0:\nalice:x:%u:\n", (unsigned)alice_gid);
	unit_write(root, "etc/group", buf);
	unit_write(root, "home/alice/.ssh/authorized_keys", key);
	set_mode("home/alice", 0755);
	set_mode("home/alice/.ssh", 0700);
	set_mode("home/alice/.ssh/authorized_keys", 0600);
	if (geteuid() == 0) {
		const char *const own[] = {"home/alice", "home/alice/.ssh",
					   "home/alice/.ssh/authorized_keys"};
		char p[4200];

		for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
			at(own[i], p, sizeof(p));
			ck_assert_int_eq(lchown(p, alice_uid, alice_gid), 0);
		}
	}
}

static void teardown(void)
{
	unit_rmtree(root);
	free(root);
}

/* Run the engine over alice in MODE; *e stays open for the report's user. */
static void run(enum engine_mode mode, struct engine **e, struct user_report *r)
{
	const struct user *u;
	char err[512];

	ck_assert_msg(engine_open(root, NULL, e, err, sizeof(err)) == 0, "engine_open: %s", err);
	u = userdb_by_name((*e)->db, "alice");
	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq(u->uid, alice_uid);
	ck_assert_int_ge(engine_run_user(*e, u, mode, NULL, NULL, r), 0);
}

static const struct finding *finding_at(const struct user_report *r, const char *path)
{
	const struct finding *found = NULL;

	for (size_t i = 0; i < r->n_findings; i++)
		if (strcmp(r->findings[i].path, path) == 0) {
			ck_assert_msg(!found, "two findings for %s", path);
			found = &r->findings[i];
		}
	return found;
}

/* Findings below "/home" (the two above are root's business, see the top). */
static size_t findings_in_home(const struct user_report *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_findings; i++)
		n += strncmp(r->findings[i].path, "/home/", 6) == 0;
	return n;
}

START_TEST(clean_tree_has_no_findings)
{
	struct engine *e;
	struct user_report r;

	run(ENGINE_CHECK, &e, &r);
	ck_assert_uint_eq(findings_in_home(&r), 0);
	ck_assert(r.sshd_accepts);
	if (geteuid() == 0)
		ck_assert_uint_eq(r.n_findings, 0);
	user_report_done(&r);
	engine_free(e);
}
END_TEST

START_TEST(home_0777_repaired)
{
	struct engine *e;
	struct user_report r;
	const struct finding *f;

	set_mode("home/alice", 0777);
	run(ENGINE_FIX, &e, &r);
	ck_assert(!r.sshd_accepts); /* as found */
	f = finding_at(&r, "/home/alice");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->problem, PROBLEM_MODE);
	ck_assert_int_eq(f->action, ACTION_FIXED);
	ck_assert(f->sshd_rejects);
	ck_assert_ptr_nonnull(f->sshd_message);
	ck_assert(f->has_state);
	ck_assert_uint_eq(f->found.st_mode & 07777, 0777);
	ck_assert_uint_eq(f->exp_mode, 0755);
	ck_assert(f->has_final);
	ck_assert_uint_eq(f->final_mode, 0755);
	ck_assert_uint_eq(mode_of("home/alice"), 0755);
	ck_assert_uint_eq(findings_in_home(&r), 1);
	user_report_done(&r);
	engine_free(e);

	/* Repaired for good: a check finds nothing in the home now. */
	run(ENGINE_CHECK, &e, &r);
	ck_assert_uint_eq(findings_in_home(&r), 0);
	ck_assert(r.sshd_accepts);
	user_report_done(&r);
	engine_free(e);
}
END_TEST

START_TEST(ssh_and_keys_modes_repaired)
{
	struct engine *e;
	struct user_report r;
	const struct finding *f;

	set_mode("home/alice/.ssh", 0777);
	set_mode("home/alice/.ssh/authorized_keys", 0666);
	run(ENGINE_FIX, &e, &r);
	f = finding_at(&r, "/home/alice/.ssh");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->action, ACTION_FIXED);
	f = finding_at(&r, "/home/alice/.ssh/authorized_keys");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->problem, PROBLEM_MODE);
	ck_assert_int_eq(f->action, ACTION_FIXED);
	ck_assert_uint_eq(mode_of("home/alice/.ssh") & 022, 0);
	ck_assert_uint_eq(mode_of("home/alice/.ssh/authorized_keys") & 022, 0);
	ck_assert(!user_report_has_unresolved(&r) || geteuid() != 0);
	user_report_done(&r);
	engine_free(e);
}
END_TEST

START_TEST(dry_run_changes_nothing)
{
	struct engine *e;
	struct user_report r;
	const struct finding *f;
	struct stat before, after;
	char p[4200];

	set_mode("home/alice", 0777);
	set_mode("home/alice/.ssh", 0777);
	at("home/alice/.ssh", p, sizeof(p));
	ck_assert_int_eq(lstat(p, &before), 0);
	run(ENGINE_DRY_RUN, &e, &r);
	f = finding_at(&r, "/home/alice");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->action, ACTION_WOULD_FIX);
	ck_assert_uint_eq(f->exp_mode, 0755);
	f = finding_at(&r, "/home/alice/.ssh");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->action, ACTION_WOULD_FIX);
	ck_assert(user_report_has_drift(&r));
	ck_assert_uint_eq(mode_of("home/alice"), 0777);
	ck_assert_uint_eq(mode_of("home/alice/.ssh"), 0777);
	ck_assert_int_eq(lstat(p, &after), 0);
	ck_assert_int_eq(after.st_ctim.tv_sec, before.st_ctim.tv_sec);
	ck_assert_int_eq(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
	user_report_done(&r);
	engine_free(e);
}
END_TEST

START_TEST(symlinked_ssh_refused)
{
	struct engine *e;
	struct user_report r;
	const struct finding *f;
	struct stat st;
	char from[4200], to[4200];

	at("home/alice/.ssh", from, sizeof(from));
	at("home/alice/real", to, sizeof(to));
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(symlink("real", from), 0);
	set_mode("home/alice/real", 0777);
	run(ENGINE_FIX, &e, &r);
	f = finding_at(&r, "/home/alice/.ssh");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->problem, PROBLEM_SYMLINK);
	ck_assert_int_eq(f->action, ACTION_REFUSED);
	ck_assert_ptr_nonnull(f->reason);
	ck_assert(user_report_has_unresolved(&r));
	/* Not followed: the link stays, and what it points to is not repaired through it. */
	ck_assert_int_eq(lstat(from, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_uint_eq(mode_of("home/alice/real"), 0777);
	ck_assert_ptr_null(finding_at(&r, "/home/alice/real"));
	user_report_done(&r);
	engine_free(e);
}
END_TEST

START_TEST(hardlinked_keys_refused)
{
	struct engine *e;
	struct user_report r;
	const struct finding *f;
	char keys[4200], other[4200];

	at("home/alice/.ssh/authorized_keys", keys, sizeof(keys));
	at("home/alice/elsewhere", other, sizeof(other));
	ck_assert_int_eq(link(keys, other), 0);
	set_mode("home/alice/.ssh/authorized_keys", 0666);
	run(ENGINE_FIX, &e, &r);
	f = finding_at(&r, "/home/alice/.ssh/authorized_keys");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->problem, PROBLEM_HARDLINK);
	ck_assert_int_eq(f->action, ACTION_REFUSED);
	/* The file that also stands elsewhere keeps its mode: a chmod would change both names. */
	ck_assert_uint_eq(mode_of("home/alice/elsewhere"), 0666);
	user_report_done(&r);
	engine_free(e);
}
END_TEST

/* Needs root: a chown. A home left to a uid nobody has (a chown -R gone wrong) is given back. */
START_TEST(lost_owner_home_given_back)
{
	struct engine *e;
	struct user_report r;
	const struct finding *f;
	struct stat st;
	char p[4200];

	at("home/alice", p, sizeof(p));
	ck_assert_int_eq(chown(p, 4242, 4242), 0);
	run(ENGINE_FIX, &e, &r);
	f = finding_at(&r, "/home/alice");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->problem, PROBLEM_OWNER);
	ck_assert_int_eq(f->action, ACTION_FIXED);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_uid, alice_uid);
	ck_assert_uint_eq(st.st_gid, alice_gid);
	ck_assert(!user_report_has_unresolved(&r));
	user_report_done(&r);
	engine_free(e);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, clean_tree_has_no_findings);
	tcase_add_test(tc, home_0777_repaired);
	tcase_add_test(tc, ssh_and_keys_modes_repaired);
	tcase_add_test(tc, dry_run_changes_nothing);
	tcase_add_test(tc, symlinked_ssh_refused);
	tcase_add_test(tc, hardlinked_keys_refused);
	/* What needs root (a chown) runs as root alone. */
	if (geteuid() == 0)
		tcase_add_test(tc, lost_owner_home_given_back);
	suite_add_tcase(s, tc);
	return s;
}
