/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <syslog.h>
#include "check-main.h"
#include "journal.h"
#include "unit-helpers.h"

static unsigned seen, suppressed_entries;
static unsigned long suppressed_count;
static char suppressed_message[8192];
/* Every count's message and SSHMEND_HELD since capture_start(), one line each, and the
 * longest message. */
static char suppressed_all[1 << 20], held_all[1 << 20];
static size_t longest_message;

static void append(char *all, size_t size, const char *text)
{
	size_t k = strlen(all);

	snprintf(all + k, size - k, "%s\n", text ? text : "");
}

static void capture(const struct event *ev, void *ud)
{
	(void)ud;
	if (ev->kind == EVENT_SUPPRESSED) {
		suppressed_entries++;
		suppressed_count += ev->count;
		snprintf(suppressed_message, sizeof(suppressed_message), "%s", ev->message);
		append(suppressed_all, sizeof(suppressed_all), ev->message);
		append(held_all, sizeof(held_all), ev->held);
		if (strlen(ev->message) > longest_message)
			longest_message = strlen(ev->message);
	} else
		seen++;
}

/* Entries to stderr (thrown away) and to capture(), counted afresh, with this rate limit. */
static void capture_start(unsigned burst, unsigned user_burst, unsigned ceiling,
			  unsigned long long interval_usec)
{
	journal_set_target(JOURNAL_STDERR);
	journal_set_capture(capture, NULL);
	journal_set_ratelimit(burst, user_burst, ceiling, interval_usec);
	seen = suppressed_entries = 0;
	suppressed_count = 0;
	suppressed_all[0] = held_all[0] = 0;
	longest_message = 0;
	freopen("/dev/null", "w", stderr);
}

START_TEST(names_and_ids)
{
	ck_assert_str_eq(event_name(EVENT_DRIFT_REPAIRED), "drift-repaired");
	ck_assert_str_eq(event_name(EVENT_WATCH_LIMIT), "watch-limit");
	for (int k = 0; k < _EVENT_MAX; k++) {
		ck_assert_uint_eq(strlen(event_message_id(k)), 32);
		for (int j = 0; j < k; j++)
			ck_assert_str_ne(event_message_id(k), event_message_id(j));
	}
}
END_TEST

START_TEST(rate_limit_counts_what_it_holds_back)
{
	struct event e = {.kind = EVENT_DRIFT_REPAIRED,
			  .priority = LOG_NOTICE,
			  .message = "x",
			  .sshd_refused = -1};

	capture_start(5, 5, 5, 200000);
	for (int i = 0; i < 50; i++)
		journal_log(&e);
	ck_assert_uint_eq(seen, 5);
	/* Start and stop always pass. */
	e.kind = EVENT_STOPPING;
	journal_log(&e);
	ck_assert_uint_eq(seen, 6);
	/* After the interval, the next entry is preceded by the count held back. */
	usleep(250000);
	e.kind = EVENT_DRIFT_REPAIRED;
	journal_log(&e);
	ck_assert_uint_eq(suppressed_entries, 1);
	ck_assert_uint_eq(suppressed_count, 45);
	ck_assert_uint_eq(seen, 7);
}
END_TEST

/* USER's entry of kind K: 0 when told, -EAGAIN when held back. */
static int log_as(const char *user, struct journal_share *share, enum event_kind k)
{
	struct event e = {.kind = k,
			  .priority = LOG_WARNING,
			  .message = "x",
			  .user = user,
			  .sshd_refused = -1,
			  .share = share};

	return journal_log(&e);
}

/*
 * SECURITY.md, scenario 21: past half of a window, a user's entries pass only within that
 * user's share; every user's first entry of a kind is told while the window holds fewer
 * than the ceiling; the caller learns what was held back, and the count names whose it was.
 */
static int alert_as(const char *user, struct journal_share *share, enum event_kind k,
		    const char *path)
{
	struct event e = {.kind = k,
			  .priority = LOG_WARNING,
			  .message = "x",
			  .user = user,
			  .path = path,
			  .sshd_refused = -1,
			  .share = share};

	return journal_log(&e);
}

START_TEST(a_first_alert_is_told_up_to_the_ceiling)
{
	struct journal_share alice = {0}, other[40] = {{0}};
	char name[40][16];

	/* 10 a window, 44 with first entries: others' first refusals spend the 10 and more. */
	capture_start(10, 3, 44, 300000);
	for (int i = 0; i < 40; i++) {
		snprintf(name[i], sizeof(name[i]), "user%d", i);
		ck_assert_int_eq(alert_as(name[i], &other[i], EVENT_REPAIR_REFUSED, "/home/x"), 0);
	}
	/* Alice's drift of her home, then of her .ssh: each element's first is told. */
	ck_assert_int_eq(alert_as("alice", &alice, EVENT_DRIFT_REPAIRED, "/home/alice"), 0);
	ck_assert_int_eq(alert_as("alice", &alice, EVENT_DRIFT_REPAIRED, "/home/alice/.ssh"), 0);
	ck_assert_int_eq(alert_as("alice", &alice, EVENT_DRIFT_REPAIRED, "/home/alice/.ssh"),
			 -EAGAIN);
	ck_assert_int_eq(alert_as("alice", &alice, EVENT_REPAIR_FAILED, "/home/alice/.ssh"), 0);
	ck_assert_int_eq(alert_as("alice", &alice, EVENT_FLAPPING, "/home/alice/.ssh"), 0);
	ck_assert_int_eq(alert_as("alice", &alice, EVENT_FLAPPING, "/home/alice/.ssh"), -EAGAIN);
	/* The ceiling reached: another kind, and another element's first drift, are counted. */
	ck_assert_int_eq(alert_as("alice", &alice, EVENT_KEY_REJECTED, "/home/alice/.ssh"),
			 -EAGAIN);
	ck_assert_int_eq(
	    alert_as("alice", &alice, EVENT_DRIFT_REPAIRED, "/home/alice/.ssh/authorized_keys"),
	    -EAGAIN);
	ck_assert_uint_eq(seen, 44);
	usleep(350000);
	journal_flush();
	ck_assert_uint_eq(suppressed_entries, 1);
	ck_assert_uint_eq(suppressed_count, 4);
	ck_assert_str_eq(suppressed_message, "4 entries were held back by the rate limit: alice 4 "
					     "(2 drift-repaired, 1 flapping, 1 key-rejected)");
	ck_assert_str_eq(held_all,
			 "alice:drift-repaired:2 alice:flapping:1 alice:key-rejected:1\n");
}
END_TEST

/* Does the text ALL hold NEEDLE where a user's part starts (after ": ", ", " or " ")? */
static bool named(const char *all, const char *needle)
{
	size_t n = strlen(needle);

	for (const char *p = strstr(all, needle); p; p = strstr(p + 1, needle))
		if ((p == all || p[-1] == ' ' || p[-1] == '\n') && strchr(", :\n", p[n]))
			return true;
	return false;
}

/*
 * A storm of first drifts, more than the ceiling: past it, each is counted for its user, and
 * the count names every user held back, with how many of each kind, over as many entries as it
 * takes, each of a bounded length.
 */
START_TEST(past_the_ceiling_every_user_is_named)
{
	enum { USERS = 2000, CEILING = 100 };
	static struct journal_share share[USERS];
	static char name[USERS][16];
	unsigned long held = 0;
	char want[64];

	memset(share, 0, sizeof(share));
	capture_start(50, 5, CEILING, 300000);
	for (int i = 0; i < USERS; i++) {
		snprintf(name[i], sizeof(name[i]), "user%d", i);
		ck_assert_int_eq(alert_as(name[i], &share[i], EVENT_DRIFT_REPAIRED, "/home/h"),
				 i < CEILING ? 0 : -EAGAIN);
		held += i >= CEILING;
	}
	/* Then every seventh user's .ssh, and a failure to repair it. */
	for (int i = 0; i < USERS; i += 7) {
		ck_assert_int_eq(alert_as(name[i], &share[i], EVENT_DRIFT_REPAIRED, "/s"), -EAGAIN);
		ck_assert_int_eq(alert_as(name[i], &share[i], EVENT_REPAIR_FAILED, "/s"), -EAGAIN);
		held += 2;
	}
	ck_assert_uint_eq(seen, CEILING);
	journal_flush();
	ck_assert_uint_eq(suppressed_count, held);
	ck_assert_uint_gt(suppressed_entries, 1);
	ck_assert_uint_le(longest_message, 4096);
	ck_assert_ptr_null(strstr(suppressed_all, "other users"));
	for (int i = 0; i < USERS; i++) {
		unsigned long d = (i >= CEILING) + (i % 7 == 0), f = i % 7 == 0;

		if (f)
			snprintf(want, sizeof(want), "%s %lu (%lu drift-repaired, 1 repair-failed)",
				 name[i], d + f, d);
		else if (d)
			snprintf(want, sizeof(want), "%s 1 (1 drift-repaired)", name[i]);
		else
			snprintf(want, sizeof(want), "%s", name[i]);
		ck_assert_msg(named(suppressed_all, want) == (d || f), "%s", want);
		snprintf(want, sizeof(want), "%s:drift-repaired:%lu", name[i], d);
		ck_assert_msg(named(held_all, want) == (d > 0), "%s", want);
		snprintf(want, sizeof(want), "%s:repair-failed:1", name[i]);
		ck_assert_msg(named(held_all, want) == f, "%s", want);
	}
	/* Counted once: the next count has nothing to tell. */
	journal_flush();
	ck_assert_uint_eq(suppressed_count, held);
}
END_TEST

START_TEST(one_user_cannot_spend_the_window)
{
	struct journal_share alice = {0}, bob = {0}, other[12] = {{0}};
	char name[12][16];
	struct event cfg = {
	    .kind = EVENT_CONFIG_ERROR, .priority = LOG_ERR, .message = "c", .sshd_refused = -1};

	/* 10 a window, past 5 only for a user who had fewer than 3, 13 with first entries. */
	capture_start(10, 3, 13, 300000);

	/* Alice syncs again and again: half the window, then nothing. */
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(log_as("alice", &alice, EVENT_KEYS_SYNCED), i < 5 ? 0 : -EAGAIN);
	/* Her first entry of another kind is still told. */
	ck_assert_int_eq(log_as("alice", &alice, EVENT_KEY_UNAPPROVED), 0);
	/* Bob's entries: his share of the second half, not hers. */
	ck_assert_int_eq(log_as("bob", &bob, EVENT_REPAIR_REFUSED), 0);
	ck_assert_int_eq(log_as("bob", &bob, EVENT_KEY_UNAPPROVED), 0);
	ck_assert_int_eq(log_as("bob", &bob, EVENT_KEY_UNAPPROVED), 0);
	ck_assert_int_eq(log_as("bob", &bob, EVENT_KEY_UNAPPROVED), -EAGAIN);
	ck_assert_uint_eq(seen, 9);
	/* Others' first entries pass beyond the window's 10, up to 13. */
	for (int i = 0; i < 12; i++) {
		snprintf(name[i], sizeof(name[i]), "user%d", i);
		ck_assert_int_eq(log_as(name[i], &other[i], EVENT_KEY_REJECTED),
				 i < 4 ? 0 : -EAGAIN);
	}
	ck_assert_uint_eq(seen, 13);
	/* A second entry of a kind, or one for no user, has no room past the window's 10. */
	ck_assert_int_eq(log_as("user0", &other[0], EVENT_KEY_REJECTED), -EAGAIN);
	ck_assert_int_eq(journal_log(&cfg), -EAGAIN);
	ck_assert_uint_eq(seen, 13);
	ck_assert_uint_eq(suppressed_entries, 0);

	/* The next window: told how many, and whose, before anything else; all room again. */
	usleep(350000);
	ck_assert_int_eq(log_as("bob", &bob, EVENT_KEY_UNAPPROVED), 0);
	ck_assert_uint_eq(suppressed_entries, 1);
	ck_assert_uint_eq(suppressed_count, 45 + 1 + 8 + 1 + 1);
	ck_assert_ptr_nonnull(strstr(suppressed_message, "56 entries were held back"));
	/* Each with how many of which kind. */
	ck_assert_ptr_nonnull(strstr(suppressed_message, ": alice 45 (45 keys-synced), "
							 "bob 1 (1 key-unapproved), "
							 "user4 1 (1 key-rejected)"));
	/* Every user is named, in the order met. */
	ck_assert_ptr_nonnull(strstr(suppressed_message, "user9 1 (1 key-rejected), "
							 "user10 1 (1 key-rejected), "
							 "user11 1 (1 key-rejected), "
							 "user0 1 (1 key-rejected)"));
	ck_assert_int_eq(log_as("alice", &alice, EVENT_KEYS_SYNCED), 0);
}
END_TEST

/* The message a person reads carries no control character; without a journal, neither does
 * the line on stderr. */
START_TEST(message_is_escaped)
{
	char line[512] = "";
	struct event e = {.kind = EVENT_KEY_UNAPPROVED,
			  .priority = LOG_WARNING,
			  .message = "alice: key SHA256:x (x\r\x1b[2Kapproved) stands outside",
			  .sshd_refused = -1};
	FILE *f;

	journal_set_target(JOURNAL_STDERR);
	journal_set_capture(NULL, NULL);
	journal_set_ratelimit(10, 10, 10, 1000000);
	ck_assert_ptr_nonnull(freopen("/tmp/sshmend-test-journal.err", "w", stderr));
	ck_assert_int_eq(journal_log(&e), 0);
	fflush(stderr);
	f = fopen("/tmp/sshmend-test-journal.err", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	unlink("/tmp/sshmend-test-journal.err");
	freopen("/dev/null", "w", stderr);
	ck_assert_ptr_null(strchr(line, '\x1b'));
	ck_assert_ptr_null(strchr(line, '\r'));
	ck_assert_ptr_nonnull(strstr(line, "(x\\x0d\\x1b[2Kapproved)"));
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, names_and_ids);
	tcase_add_test(tc, rate_limit_counts_what_it_holds_back);
	tcase_add_test(tc, one_user_cannot_spend_the_window);
	tcase_add_test(tc, a_first_alert_is_told_up_to_the_ceiling);
	tcase_add_test(tc, past_the_ceiling_every_user_is_named);
	tcase_add_test(tc, message_is_escaped);
	suite_add_tcase(s, tc);
	return s;
}
