/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "tails.h"
#include "unit-helpers.h"

static char *root;
static struct tails *t;
static char got[4096];
static size_t n_calls;
static int answer; /* what the callback returns */

static int on_grew(void *ud, const char *user, const char *data, size_t len)
{
	(void)ud;
	ck_assert_str_eq(user, "alice");
	n_calls++;
	strncat(got, data,
		len < sizeof(got) - strlen(got) - 1 ? len : sizeof(got) - strlen(got) - 1);
	return answer;
}

static void setup(void)
{
	root = unit_tmproot();
	unit_write(root, "keys", "ssh-ed25519 AAAA one\n");
	ck_assert_int_eq(tails_new(&t), 0);
	got[0] = 0;
	n_calls = 0;
	answer = 0;
}

static void teardown(void)
{
	tails_free(t);
	unit_rmtree(root);
	free(root);
}

static char *path(const char *rel)
{
	static char p[4200];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return p;
}

/* Open the file for reading, as the key sync holds the file it replaced. */
static int open_read(const char *rel)
{
	int fd = open(path(rel), O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* A writer holding "keys" open for appending, and a tail following it past its one line. */
static int follow_keys(void)
{
	int w = open(path("keys"), O_WRONLY | O_APPEND | O_CLOEXEC);

	ck_assert_int_ge(w, 0);
	ck_assert_int_eq(tails_add(t, "alice", open_read("keys"), 21), 0);
	return w;
}

static void append(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

START_TEST(whole_lines_after_offset)
{
	int w = follow_keys();

	/* Replaced: the name is gone, the writer still holds the inode. */
	ck_assert_int_eq(unlink(path("keys")), 0);
	append(w, "ssh-ed25519 BBBB two\nssh-ed25519 CC");
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, "ssh-ed25519 BBBB two\n");
	/* The rest of a line comes once its newline does, and what was carried is not again. */
	append(w, "CC three\n");
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, "ssh-ed25519 BBBB two\nssh-ed25519 CCCC three\n");
	ck_assert_uint_eq(n_calls, 2);
	close(w);
}
END_TEST

START_TEST(refused_lines_are_offered_again)
{
	int w = follow_keys();

	answer = -EAGAIN;
	append(w, "x1\n");
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	answer = 0;
	got[0] = 0;
	append(w, "x2\n");
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, "x1\nx2\n");
	close(w);
}
END_TEST

START_TEST(one_tail_per_inode)
{
	int w = follow_keys();

	ck_assert_int_eq(tails_add(t, "alice", open_read("keys"), 21), 0);
	ck_assert_uint_eq(tails_count(t), 1);
	append(w, "x1\n");
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, "x1\n");
	close(w);
}
END_TEST

START_TEST(least_recently_active_goes)
{
	int w = follow_keys();

	/* The first one keeps growing; the idle ones that come after it make room. */
	for (int i = 0; i < 2 * TAILS_PER_USER; i++) {
		char name[32];

		snprintf(name, sizeof(name), "other%d", i);
		unit_write(root, name, "");
		ck_assert_int_eq(tails_add(t, "alice", open_read(name), 0), 0);
		if (i % (TAILS_PER_USER / 2) == 0) {
			append(w, "x\n");
			ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
		}
	}
	ck_assert_uint_eq(tails_count(t), TAILS_PER_USER);
	got[0] = 0;
	append(w, "last\n");
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, "last\n");
	close(w);
}
END_TEST

/*
 * alice wrote a line to each of the files followed for her and closed them, their events not
 * read yet: one more followed file makes no room by letting one of those go.
 */
START_TEST(lines_to_carry_stay)
{
	char want[512] = "";

	for (int i = 0; i < TAILS_PER_USER; i++) {
		char name[32], line[32];
		int w;

		snprintf(name, sizeof(name), "other%d", i);
		snprintf(line, sizeof(line), "x%d\n", i);
		unit_write(root, name, "");
		ck_assert_int_eq(tails_add(t, "alice", open_read(name), 0), 0);
		w = open(path(name), O_WRONLY | O_APPEND | O_CLOEXEC);
		ck_assert_int_ge(w, 0);
		append(w, line);
		close(w);
		strcat(want, line);
	}
	ck_assert_int_eq(tails_add(t, "alice", open_read("keys"), 21), 0);
	ck_assert_uint_eq(tails_count(t), TAILS_PER_USER + 1);
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, want);
}
END_TEST

/* bob syncing his own file again and again never makes alice's tail go. */
START_TEST(one_user_cannot_evict_another)
{
	int w = follow_keys();

	for (int i = 0; i < TAILS_MAX + TAILS_PER_USER; i++) {
		char user[32], name[32];

		snprintf(user, sizeof(user), "bob%d", i % (TAILS_MAX / TAILS_PER_USER + 1));
		snprintf(name, sizeof(name), "other%d", i);
		unit_write(root, name, "");
		ck_assert_int_eq(tails_add(t, user, open_read(name), 0), 0);
		unlink(path(name));
	}
	ck_assert_uint_eq(tails_count(t), TAILS_MAX);
	append(w, "still followed\n");
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, "still followed\n");
	close(w);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("tails");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, whole_lines_after_offset);
	tcase_add_test(tc, refused_lines_are_offered_again);
	tcase_add_test(tc, one_tail_per_inode);
	tcase_add_test(tc, least_recently_active_goes);
	tcase_add_test(tc, lines_to_carry_stay);
	tcase_add_test(tc, one_user_cannot_evict_another);
	suite_add_tcase(s, tc);
	return s;
}
