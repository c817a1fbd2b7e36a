/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <time.h>
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

/* follow_keys(), "keys" replaced then: the writer holds the only way left into it. */
static int follow_replaced(void)
{
	int w = follow_keys();

	ck_assert_int_eq(unlink(path("keys")), 0);
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

/* Past the time a replaced file is followed at the least. */
static void settle(void)
{
	uint64_t usec = TAILS_SETTLE_USEC + 50 * 1000;
	struct timespec ts = {.tv_sec = usec / 1000000, .tv_nsec = usec % 1000000 * 1000};

	ck_assert_int_eq(nanosleep(&ts, NULL), 0);
}

/* A writer wrote S to the replaced "keys" and closed it, its events not read, a while ago. */
static void written_and_closed(const char *s)
{
	int w = follow_replaced();

	append(w, s);
	close(w);
	settle();
}

/* Replaced, nobody holds it: let go of once followed long enough, not before. */
START_TEST(replaced_and_closed_goes)
{
	ck_assert_int_eq(tails_add(t, "alice", open_read("keys"), 21), 0);
	ck_assert_int_eq(unlink(path("keys")), 0);
	ck_assert_uint_eq(tails_sweep(t, on_grew, NULL), 0);
	ck_assert_uint_eq(tails_count(t), 1);
	ck_assert_uint_gt(tails_next_sweep(t), 0);
	ck_assert_uint_le(tails_next_sweep(t), TAILS_SETTLE_USEC);
	settle();
	ck_assert_uint_eq(tails_sweep(t, on_grew, NULL), 0);
	ck_assert_uint_eq(tails_count(t), 0);
	/* Nothing left to time. */
	ck_assert_uint_eq(tails_next_sweep(t), 0);
	ck_assert_uint_eq(n_calls, 0);
}
END_TEST

/* Another name still leads to it: somebody may open it again, it is followed still. */
START_TEST(named_stays)
{
	ck_assert_int_eq(tails_add(t, "alice", open_read("keys"), 21), 0);
	settle();
	(void)tails_sweep(t, on_grew, NULL);
	ck_assert_uint_eq(tails_count(t), 1);
	ck_assert_uint_eq(tails_next_sweep(t), 0);
}
END_TEST

/* Held open for writing: followed while held; once its writer wrote and closed it, its line
 * is carried and it is let go of. */
START_TEST(held_goes_once_closed)
{
	int w = follow_replaced();

	settle();
	(void)tails_sweep(t, on_grew, NULL);
	ck_assert_uint_eq(tails_count(t), 1);
	ck_assert_uint_gt(tails_next_sweep(t), 0);
	append(w, "ssh-ed25519 BBBB two\n");
	close(w);
	ck_assert_int_eq(tails_dispatch(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, "ssh-ed25519 BBBB two\n");
	ck_assert_uint_eq(tails_count(t), 0);
}
END_TEST

/*
 * Its writer wrote and closed it before any event was read, the last line without a newline:
 * nobody can complete it, so it is carried whole, newline added, and the file let go of.
 */
START_TEST(last_line_carried_whole)
{
	written_and_closed("x1\nx2");
	(void)tails_sweep(t, on_grew, NULL);
	ck_assert_str_eq(got, "x1\nx2\n");
	ck_assert_uint_eq(tails_count(t), 0);
}
END_TEST

/* Its lines not taken: followed until they are, however long it has nobody. */
START_TEST(refused_lines_keep_it)
{
	written_and_closed("x1\n");
	answer = -EAGAIN;
	ck_assert_uint_eq(tails_sweep(t, on_grew, NULL), 1);
	ck_assert_uint_eq(tails_count(t), 1);
	/* Refused: a sweep offers them again only after a wait, twice as long each time. */
	ck_assert_uint_gt(tails_next_sweep(t), TAILS_RETRY_USEC / 2);
	ck_assert_uint_le(tails_next_sweep(t), TAILS_RETRY_USEC);
	got[0] = 0;
	ck_assert_uint_eq(tails_sweep(t, on_grew, NULL), 1);
	ck_assert_str_eq(got, "");
	usleep(TAILS_RETRY_USEC);
	ck_assert_uint_eq(tails_sweep(t, on_grew, NULL), 1);
	ck_assert_str_eq(got, "x1\n");
	ck_assert_uint_gt(tails_next_sweep(t), TAILS_RETRY_USEC);
	ck_assert_uint_le(tails_next_sweep(t), 2 * TAILS_RETRY_USEC);
	answer = 0;
	got[0] = 0;
	usleep(2 * TAILS_RETRY_USEC);
	ck_assert_uint_eq(tails_sweep(t, on_grew, NULL), 0);
	ck_assert_str_eq(got, "x1\n");
	ck_assert_uint_eq(tails_count(t), 0);
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
	/* Each waits past TAILS_SETTLE_USEC. */
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, replaced_and_closed_goes);
	tcase_add_test(tc, named_stays);
	tcase_add_test(tc, held_goes_once_closed);
	tcase_add_test(tc, last_line_carried_whole);
	tcase_add_test(tc, refused_lines_keep_it);
	suite_add_tcase(s, tc);
	return s;
}
