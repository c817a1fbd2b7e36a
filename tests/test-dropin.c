#include <fcntl.h>
#include "check-main.h"
#include "dropin.h"
#include "unit-helpers.h"

static const char *const key_a =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMTFo7HNu8AUUV580L8eYmy3EJATf3QmmNhVr4rgcCtA a@ops";
static const char *const key_b =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID89qcPwTFV39cV2sbRsLHOWey5yhP9R3PIfjqhMBgaI b@ops";

static char *root;
static int rootfd = -1;

static void setup(void)
{
	root = unit_tmproot();
	chmod(root, 0755);
	rootfd = open(root, O_PATH | O_DIRECTORY);
	ck_assert_int_ge(rootfd, 0);
}

static void teardown(void)
{
	close(rootfd);
	unit_rmtree(root);
	free(root);
}

static void load(struct dropin_set *s)
{
	int dfd = openat(rootfd, "keys.d", O_PATH | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_eq(dropin_load(dfd, NULL, "/keys.d", "alice", 2048, s), 0);
	if (dfd >= 0)
		close(dfd);
}

static char *merge(const char *old, const struct dropin_set *s, bool *changed)
{
	char *out;
	size_t len;

	ck_assert_int_eq(dropin_merge(old, strlen(old), s, &out, &len, changed), 0);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

START_TEST(order_dedupe_and_rejects)
{
	struct dropin_set s;
	char buf[1024];

	if (geteuid() != 0)
		return; /* the drop-in must be root's */
	snprintf(buf, sizeof(buf), "%s\n# comment\n\n%s\n", key_b, key_a);
	unit_write(root, "keys.d/alice/20-b.pub", buf);
	snprintf(buf, sizeof(buf), "%s\nssh-ed25519 AAAA truncated\n", key_a);
	unit_write(root, "keys.d/alice/10-a.pub", buf);
	unit_write(root, "keys.d/alice/ignored.txt", "not a .pub file\n");
	load(&s);
	ck_assert(s.present);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.keys[0].line, key_a); /* 10-a.pub first; its duplicate in 20-b dropped */
	ck_assert_str_eq(s.keys[1].line, key_b);
	ck_assert_str_eq(s.keys[0].source, "10-a.pub");
	ck_assert_uint_eq(s.n_rejected, 1);
	ck_assert(strstr(s.rejected[0].path, "/keys.d/alice/10-a.pub"));
	ck_assert_uint_eq(s.rejected[0].lineno, 2);
	dropin_set_done(&s);
}
END_TEST

START_TEST(not_root_only_is_ignored)
{
	struct dropin_set s;
	char p[4200];

	if (geteuid() != 0)
		return;
	unit_write(root, "keys.d/alice/a.pub", key_a);
	snprintf(p, sizeof(p), "%s/keys.d/alice/a.pub", root);
	chmod(p, 0666);
	load(&s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(s.n_rejected, 1);
	ck_assert_uint_eq(s.rejected[0].lineno, 0);
	dropin_set_done(&s);
	snprintf(p, sizeof(p), "%s/keys.d/alice", root);
	chmod(p, 0777);
	load(&s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert(strstr(s.rejected[0].path, "/keys.d/alice"));
	ck_assert(strstr(s.rejected[0].why, "not owned by root"));
	dropin_set_done(&s);
}
END_TEST

START_TEST(merge_keeps_user_lines)
{
	struct dropin_set s = {0};
	struct approved_key k[2] = {{.line = (char *)key_a, .fingerprint = (char *)"SHA256:a"},
				    {.line = (char *)key_b, .fingerprint = (char *)"SHA256:b"}};
	const char *user = "# mine\nssh-rsa AAAAuser me@laptop\r\nno newline at end";
	char *out, *again;
	bool changed;

	s.keys = k;
	s.n = 2;
	out = merge(user, &s, &changed);
	ck_assert(changed);
	/* The user's bytes first, untouched (a newline ends the last line), then the block. */
	ck_assert(strncmp(out, user, strlen(user)) == 0);
	ck_assert(strstr(out, DROPIN_BEGIN "\n"));
	ck_assert(strstr(out, key_b));
	/* Merging again changes nothing. */
	again = merge(out, &s, &changed);
	ck_assert(!changed);
	free(again);
	/* A smaller set replaces the block in place; user lines after it stay after it. */
	{
		char *with_tail, *shrunk;

		if (asprintf(&with_tail, "%slater user line\n", out) < 0)
			ck_abort();
		s.n = 1;
		shrunk = merge(with_tail, &s, &changed);
		ck_assert(changed);
		ck_assert(!strstr(shrunk, key_b));
		ck_assert(strstr(shrunk, key_a) < strstr(shrunk, "later user line"));
		/* An empty set removes the block and only the block. */
		s.n = 0;
		free(out);
		out = merge(shrunk, &s, &changed);
		ck_assert(!strstr(out, DROPIN_BEGIN));
		ck_assert(strstr(out, "later user line"));
		ck_assert(strstr(out, "ssh-rsa AAAAuser me@laptop\r\n"));
		free(with_tail);
		free(shrunk);
	}
	free(out);
}
END_TEST

START_TEST(unterminated_block_is_refused)
{
	struct dropin_set s = {0};
	char *out;
	size_t len;
	bool changed;
	const char *text = DROPIN_BEGIN "\nuser line after a lost end marker\n";

	ck_assert_int_eq(dropin_merge(text, strlen(text), &s, &out, &len, &changed), -EBADMSG);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("dropin");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, order_dedupe_and_rejects);
	tcase_add_test(tc, not_root_only_is_ignored);
	tcase_add_test(tc, merge_keeps_user_lines);
	tcase_add_test(tc, unterminated_block_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
