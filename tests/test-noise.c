/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include "check-main.h"
#include "noise.h"

#define HOUR NOISE_REPEAT_USEC

/* Scanners as unknown users from many addresses: counted, never told; a summary of them. */
START_TEST(scanners_counted)
{
	struct noise *n = noise_new();
	char user[32], addr[32], sum[512];
	unsigned long total;

	ck_assert_ptr_nonnull(n);
	for (int i = 0; i < 2000; i++) {
		snprintf(user, sizeof(user), "scan%d", i);
		snprintf(addr, sizeof(addr), "127.0.0.%d", 2 + i % 50);
		ck_assert(!noise_judge(n, user, false, addr, "unknown-user", 1000 + i));
	}
	ck_assert(noise_summary(n, sum, sizeof(sum), &total));
	ck_assert_uint_eq(total, 2000);
	ck_assert_ptr_nonnull(strstr(sum, "unknown-user 2000; top addresses: 127.0.0."));
	ck_assert_ptr_nonnull(strstr(sum, " 40"));
	/* Counted afresh. */
	ck_assert(!noise_summary(n, sum, sizeof(sum), &total));
	ck_assert_uint_eq(total, 0);
	noise_free(n);
}
END_TEST

/* Told: a user who exists, a default login name, an address that logged in before; once an
 * hour per name, address and cause. */
START_TEST(told_once_an_hour)
{
	struct noise *n = noise_new();
	char sum[256];
	unsigned long total;

	ck_assert(noise_judge(n, "alice", true, "10.0.0.9", "key-not-authorized", 1));
	ck_assert(!noise_judge(n, "alice", true, "10.0.0.9", "key-not-authorized", 2));
	ck_assert(noise_judge(n, "alice", true, "10.0.0.9", "strict-modes", 3));
	ck_assert(noise_judge(n, "alice", true, "10.0.0.8", "key-not-authorized", 4));
	ck_assert(noise_judge(n, "alice", true, "10.0.0.9", "key-not-authorized", 1 + HOUR));
	ck_assert(noise_judge(n, "ubuntu", false, "203.0.113.5", "unknown-user", 5));
	ck_assert(!noise_judge(n, "ubuntu", false, "203.0.113.5", "unknown-user", 6));
	ck_assert(!noise_judge(n, "alcie", false, "198.51.100.1", "unknown-user", 7));
	noise_accepted(n, "198.51.100.1");
	ck_assert(noise_judge(n, "alcie", false, "198.51.100.1", "unknown-user", 8));
	ck_assert(noise_summary(n, sum, sizeof(sum), &total));
	ck_assert_uint_eq(total, 1); /* alcie before; the repeats held back are not noise */
	ck_assert(noise_default_name("ec2-user"));
	ck_assert(!noise_default_name("alice"));
	noise_free(n);
}
END_TEST

/* Bounded: many more names and addresses than the tables hold. */
START_TEST(bounded)
{
	struct noise *n = noise_new();
	char user[32], addr[32], sum[512];
	unsigned long total;

	for (int i = 0; i < 50000; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		ck_assert(noise_judge(n, user, true, addr, "key-not-authorized", (uint64_t)i));
		noise_judge(n, user, false, addr, "unknown-user", (uint64_t)i);
		noise_accepted(n, addr);
	}
	ck_assert(noise_summary(n, sum, sizeof(sum), &total));
	noise_free(n);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("noise");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, scanners_counted);
	tcase_add_test(tc, told_once_an_hour);
	tcase_add_test(tc, bounded);
	suite_add_tcase(s, tc);
	return s;
}
