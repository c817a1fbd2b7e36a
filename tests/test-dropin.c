/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "dropin.h"
#include "keys.h"
#include "macro.h"
#include "safeio.h"
#include "strv.h"
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

/* A file of many bad lines: the first 32 told each, the 33rd with the count of the rest. */
START_TEST(many_bad_lines_are_told_as_a_count)
{
	struct dropin_set s;
	char buf[8192];
	int n = 0;

	if (geteuid() != 0)
		return;
	for (int i = 0; i < 50; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "bad line %d\n", i);
	snprintf(buf + n, sizeof(buf) - (size_t)n, "%s\n", key_a);
	unit_write(root, "keys.d/alice/10-a.pub", buf);
	load(&s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.n_rejected, 33);
	for (unsigned i = 0; i < 33; i++) {
		ck_assert(strstr(s.rejected[i].path, "/keys.d/alice/10-a.pub"));
		ck_assert_uint_eq(s.rejected[i].lineno, i + 1);
	}
	ck_assert(!strstr(s.rejected[31].why, "more lines"));
	ck_assert(strstr(s.rejected[32].why, "; and 17 more lines after it are not used"));
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

static int keep_calls;

/* The fingerprint of the key on LINE, as key_parse_line() takes it. */
static int key_fingerprint_of_line(const char *line, char fp[64])
{
	struct key_line k = {0};
	char why[256];
	int r = key_parse_line(line, strlen(line), 1024, &k, why, sizeof(why));

	if (r == 0)
		memcpy(fp, k.fingerprint, 64);
	key_line_done(&k);
	return r;
}

static int keep_none(void *userdata, char *const *lines, const struct dropin_odd *odd, bool write)
{
	(void)userdata;
	(void)write;
	keep_calls++;
	ck_assert_ptr_nonnull(lines[0]);
	ck_assert(strstr(lines[0], key_b));
	ck_assert_ptr_null(lines[1]);
	ck_assert_uint_eq(odd->n, 0);
	return 0;
}

static int keep_all(void *userdata, char *const *lines, const struct dropin_odd *odd, bool write)
{
	*(bool *)userdata = write;
	return keep_none(NULL, lines, odd, write) + 1;
}

static char *apply(const struct dropin_set *s, dropin_keep_fn keep, void *userdata, bool write,
		   bool *changed)
{
	char *out;
	size_t len;
	bool replaced;
	int fd;

	ck_assert_int_eq(dropin_apply(rootfd, "ak", s, getuid(), getgid(), 0600, write, keep,
				      userdata, NULL, 0, NULL, changed, &replaced),
			 0);
	ck_assert(write || !replaced);
	fd = openat(rootfd, "ak", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(safe_read_all(fd, 1 << 20, &out, &len), 0);
	close(fd);
	return out;
}

START_TEST(keep_decides_what_leaves)
{
	struct dropin_set s = {0};
	struct approved_key k = {.line = (char *)key_a};
	char fp[64], *out, user[1024];
	bool changed, wrote = false;

	/* key_a approved; key_b, the user's, outside the approved set. */
	ck_assert_int_eq(key_fingerprint_of_line(key_a, fp), 0);
	k.fingerprint = fp;
	s.keys = &k;
	s.n = 1;
	snprintf(user, sizeof(user), "# mine\n%s\n", key_b);
	unit_write(root, "ak", user);
	/* Left where it stands when KEEP says so: only the block is written. */
	keep_calls = 0;
	out = apply(&s, keep_none, NULL, true, &changed);
	ck_assert_int_eq(keep_calls, 1);
	ck_assert(changed);
	ck_assert(strstr(out, key_b) && strstr(out, key_a) && strstr(out, "# mine\n"));
	free(out);
	/* Nothing to write but the lines KEEP would take: not a change of the block. */
	out = apply(&s, keep_all, &wrote, false, &changed);
	ck_assert(!changed);
	ck_assert(!wrote);
	ck_assert(strstr(out, key_b));
	free(out);
	/* Taken out when KEEP has them, with WRITE. */
	out = apply(&s, keep_all, &wrote, true, &changed);
	ck_assert(wrote);
	ck_assert(!strstr(out, key_b));
	ck_assert(strstr(out, key_a) && strstr(out, "# mine\n"));
	free(out);
}
END_TEST

START_TEST(a_certificate_logs_no_one_in)
{
	struct approved_key k[2] = {{.line = (char *)"cert", .certificate = true},
				    {.line = (char *)key_a}};
	struct dropin_set s = {.keys = k, .n = 1};

	ck_assert(!dropin_has_login_key(&s));
	s.n = 2;
	ck_assert(dropin_has_login_key(&s));
	s.keys = &k[1];
	s.n = 1;
	ck_assert(dropin_has_login_key(&s));
}
END_TEST

START_TEST(approve_writes_a_root_file)
{
	struct dropin_set s;
	struct stat st;
	char why[256] = "", p[4200];
	int top;

	if (geteuid() != 0)
		return;
	unit_write(root, "keys.d/.keep", "");
	top = openat(rootfd, "keys.d", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(top, 0);
	ck_assert_int_eq(
	    dropin_approve(top, "alice", "restored-a.pub", key_a, 2048, why, sizeof(why)), 0);
	snprintf(p, sizeof(p), "%s/keys.d/alice/restored-a.pub", root);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	load(&s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.keys[0].line, key_a);
	dropin_set_done(&s);
	/* A line the drop-in directory would reject is not written. */
	ck_assert_int_eq(
	    dropin_approve(top, "alice", "bad.pub", "ssh-ed25519 AAAA bad", 2048, why, sizeof(why)),
	    -EKEYREJECTED);
	ck_assert(*why);
	snprintf(p, sizeof(p), "%s/keys.d/alice/bad.pub", root);
	ck_assert_int_eq(lstat(p, &st), -1);
	ck_assert_int_eq(dropin_approve(top, "../x", "a.pub", key_a, 2048, why, sizeof(why)),
			 -EINVAL);
	close(top);
}
END_TEST

/* Every line sshd logs in with is handed over; what stays and is no key is counted. */
struct handed {
	char **lines;
	struct dropin_odd odd;
};

static int keep_copy(void *userdata, char *const *lines, const struct dropin_odd *odd, bool write)
{
	struct handed *h = userdata;

	(void)write;
	for (size_t i = 0; lines && lines[i]; i++)
		ck_assert_int_eq(strv_push(&h->lines, lines[i]), 0);
	h->odd = *odd;
	return 1;
}

/*
 * Write TEXT (N bytes) as "ak", run the sync with key_a alone approved and Exclusive=
 * (keep_copy into *H), and return what "ak" then holds.
 */
static char *exclusive_sync(const char *text, size_t n, struct handed *h)
{
	struct dropin_set s = {0};
	struct approved_key k = {.line = (char *)key_a};
	char fp[64];
	bool changed;
	int fd;

	ck_assert_int_eq(key_fingerprint_of_line(key_a, fp), 0);
	k.fingerprint = fp;
	s.keys = &k;
	s.n = 1;
	fd = openat(rootfd, "ak", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	close(fd);
	return apply(&s, keep_copy, h, true, &changed);
}

/* SECURITY.md, scenario 19: a CRLF line, a NUL after the key, a comment of 9000 bytes. */
START_TEST(exclusive_takes_what_sshd_reads)
{
	struct handed h = {0};
	_cleanup_free_ char *user = NULL, *pad = malloc(9001), *out = NULL;
	size_t n;

	ck_assert_ptr_nonnull(pad);
	memset(pad, 'x', 9000);
	pad[9000] = 0;
	n = (size_t)asprintf(&user, "%s\r\n%s%cjunk\nhello world\n%s %s\n# mine\n", key_b, key_b, 0,
			     key_b, pad);
	ck_assert_uint_gt(n, 9000);
	out = exclusive_sync(user, n, &h);
	ck_assert_uint_eq(strv_length(h.lines), 3);
	ck_assert_uint_eq(h.odd.n, 1);
	ck_assert_uint_eq(h.odd.first_lineno, 3);
	ck_assert_str_eq(h.odd.first_why, "unknown key type 'hello'");
	ck_assert(!strstr(out, key_b));
	ck_assert(strstr(out, "hello world\n# mine\n"));
	strv_free(h.lines);
}
END_TEST

/* A key the user put inside the managed block goes to the quarantine, not with the block. */
START_TEST(exclusive_takes_a_key_from_the_block)
{
	struct handed h = {0};
	_cleanup_free_ char *user = NULL, *out = NULL;
	size_t n = (size_t)asprintf(&user, "%s\n%s\n%s\n", DROPIN_BEGIN, key_b, DROPIN_END);

	out = exclusive_sync(user, n, &h);
	ck_assert_uint_eq(strv_length(h.lines), 1);
	ck_assert_str_eq(h.lines[0], key_b);
	ck_assert(!strstr(out, key_b));
	ck_assert(strstr(out, key_a));
	strv_free(h.lines);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("dropin");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, order_dedupe_and_rejects);
	tcase_add_test(tc, many_bad_lines_are_told_as_a_count);
	tcase_add_test(tc, not_root_only_is_ignored);
	tcase_add_test(tc, merge_keeps_user_lines);
	tcase_add_test(tc, unterminated_block_is_refused);
	tcase_add_test(tc, keep_decides_what_leaves);
	tcase_add_test(tc, exclusive_takes_what_sshd_reads);
	tcase_add_test(tc, exclusive_takes_a_key_from_the_block);
	tcase_add_test(tc, a_certificate_logs_no_one_in);
	tcase_add_test(tc, approve_writes_a_root_file);
	suite_add_tcase(s, tc);
	return s;
}
