/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "audit.h"
#include "check-main.h"
#include "lastuse.h"
#include "unit-helpers.h"

/* The last use of each key, remembered in the state directory of a temp root. */

#define FP_A "SHA256:E+QKbJccAQvzbFDNnouZpizTS8NKWAesob9YLdsQzL0"
#define FP_B "SHA256:jYlWqn4sMYKbtzGSe/kDau38V/6oTQfNt1/Ybr2Ueuo"
/* 2026-12-06 14:02:00 UTC */
#define T0 1796565720

UNIT_ROOT_FIXTURE

static char *state_path(const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s" AUDIT_STATE_DIR "/%s", root, name), 0);
	return p;
}

/* Each key's latest use, the latest first; another user's apart. */
START_TEST(record_and_load)
{
	struct lastuse_list l;
	const struct lastuse *u;

	ck_assert_int_eq(lastuse_record(rootfd, "alice", FP_A, "203.0.113.5", T0), 0);
	ck_assert_int_eq(lastuse_record(rootfd, "alice", FP_B, "10.0.0.9", T0 + 60), 0);
	ck_assert_int_eq(lastuse_record(rootfd, "alice", FP_A, "198.51.100.7", T0 + 120), 0);
	ck_assert_int_eq(lastuse_record(rootfd, "bob", FP_B, "203.0.113.5", T0 + 180), 0);
	ck_assert_int_eq(lastuse_load(rootfd, "alice", &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.e[0].fingerprint, FP_A);
	u = lastuse_find(&l, FP_A);
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u->addr, "198.51.100.7");
	ck_assert_int_eq(u->when, T0 + 120);
	ck_assert_str_eq(lastuse_find(&l, FP_B)->addr, "10.0.0.9");
	lastuse_list_done(&l);
	ck_assert_int_eq(lastuse_load(rootfd, "carol", &l), 0);
	ck_assert_uint_eq(l.n, 0);
	/* No line of its own for a field with a blank. */
	ck_assert_int_eq(lastuse_record(rootfd, "alice", FP_A, "10.0.0.1 x", T0), -EINVAL);
	ck_assert_int_eq(lastuse_record(rootfd, "../alice", FP_A, "10.0.0.1", T0), -EINVAL);
}
END_TEST

/* Who an address logged in as, the latest first, and every address remembered. */
static void count_addr(void *userdata, const char *addr)
{
	*(int *)userdata += strcmp(addr, "203.0.113.5") == 0;
}

START_TEST(logins_from_an_address)
{
	struct lastuse_login in[2];
	char *hint;
	int n = 0;

	ck_assert_int_eq(lastuse_logins_from(rootfd, "203.0.113.5", in, 2), 0);
	ck_assert_int_eq(lastuse_record(rootfd, "alice", FP_A, "203.0.113.5", T0), 0);
	ck_assert_int_eq(lastuse_record(rootfd, "bob", FP_B, "203.0.113.5", T0 + 60), 0);
	ck_assert_int_eq(lastuse_record(rootfd, "carol", FP_B, "10.0.0.9", T0 + 120), 0);
	ck_assert_int_eq(lastuse_record(rootfd, "dave", FP_A, "203.0.113.5", T0 - 60), 0);
	ck_assert_int_eq(lastuse_logins_from(rootfd, "203.0.113.5", in, 2), 2);
	ck_assert_str_eq(in[0].user, "bob");
	ck_assert_str_eq(in[1].user, "alice");
	ck_assert_int_eq(in[1].when, T0);
	lastuse_logins_done(in, 2);
	ck_assert_int_eq(lastuse_each_addr(rootfd, count_addr, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(lastuse_hint(rootfd, "203.0.113.5", &hint), 0);
	ck_assert_str_eq(hint, "203.0.113.5 logged in as bob 2026-12-06 14:03 UTC, alice "
			       "2026-12-06 14:02 UTC, dave 2026-12-06 14:01 UTC: log in as bob");
	free(hint);
	ck_assert_int_eq(lastuse_hint(rootfd, "192.0.2.1", &hint), 0);
	ck_assert_ptr_null(hint);
}
END_TEST

/* Bounded: the key used longest ago goes; lines that do not read are skipped. */
START_TEST(bounded_and_defensive)
{
	struct lastuse_list l;
	char fp[64], *path;

	for (int i = 0; i < LASTUSE_KEYS_MAX + 10; i++) {
		snprintf(fp, sizeof(fp), "SHA256:key%d", i);
		ck_assert_int_eq(lastuse_record(rootfd, "alice", fp, "10.0.0.1", T0 + i), 0);
	}
	ck_assert_int_eq(lastuse_load(rootfd, "alice", &l), 0);
	ck_assert_uint_eq(l.n, LASTUSE_KEYS_MAX);
	snprintf(fp, sizeof(fp), "SHA256:key%d", LASTUSE_KEYS_MAX + 9);
	ck_assert_str_eq(l.e[0].fingerprint, fp);
	ck_assert_ptr_null(lastuse_find(&l, "SHA256:key9"));
	ck_assert_ptr_nonnull(lastuse_find(&l, "SHA256:key10"));
	lastuse_list_done(&l);

	path = state_path("lastuse.bob");
	unit_write("/", path + 1,
		   FP_A " 12 10.0.0.1\n"
			"garbage\n" FP_B " -4 10.0.0.2\n" FP_B " x 10.0.0.2\n" FP_B " 5 \n" FP_B
			" 6 10.0.0.3\n" FP_A " 13 10.0.0.4\nSHA256:cut 7 10.0.0.5");
	free(path);
	ck_assert_int_eq(lastuse_load(rootfd, "bob", &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.e[0].addr, "10.0.0.1");
	ck_assert_int_eq(l.e[1].when, 6);
	lastuse_list_done(&l);
}
END_TEST

START_TEST(times)
{
	char buf[LASTUSE_TIME_MAX];

	ck_assert_str_eq(lastuse_iso(T0, buf), "2026-12-06T14:02:00Z");
	ck_assert_str_eq(lastuse_human(T0, buf), "2026-12-06 14:02 UTC");
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("lastuse");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, unit_root_setup, unit_root_teardown);
	tcase_add_test(tc, times);
	/* The state is root's: its directory is made root's. */
	if (geteuid() == 0) {
		tcase_add_test(tc, record_and_load);
		tcase_add_test(tc, logins_from_an_address);
		tcase_add_test(tc, bounded_and_defensive);
	}
	suite_add_tcase(s, tc);
	return s;
}
