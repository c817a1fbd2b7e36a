#include <syslog.h>
#include "check-main.h"
#include "journal.h"
#include "unit-helpers.h"

static unsigned seen, suppressed_entries;
static unsigned long suppressed_count;

static void capture(const struct event *ev, void *ud)
{
	(void)ud;
	if (ev->kind == EVENT_SUPPRESSED) {
		suppressed_entries++;
		suppressed_count += ev->count;
	} else
		seen++;
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
	struct event e = {.kind = EVENT_DRIFT_REPAIRED, .priority = LOG_NOTICE, .message = "x",
			  .sshd_refused = -1};

	journal_set_target(JOURNAL_STDERR);
	journal_set_capture(capture, NULL);
	journal_set_ratelimit(5, 5, 5, 200000);
	seen = suppressed_entries = 0;
	suppressed_count = 0;
	freopen("/dev/null", "w", stderr);
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

Suite *test_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, names_and_ids);
	tcase_add_test(tc, rate_limit_counts_what_it_holds_back);
	suite_add_tcase(s, tc);
	return s;
}
