/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "check-main.h"
#include "strv.h"

START_TEST(split_ws)
{
	char **l = NULL;

	ck_assert_int_eq(strv_split_ws(&l, "  .ssh/authorized_keys\t.ssh/authorized_keys2 "), 0);
	ck_assert_uint_eq(strv_length(l), 2);
	ck_assert_str_eq(l[0], ".ssh/authorized_keys");
	ck_assert_str_eq(l[1], ".ssh/authorized_keys2");
	strv_free(l);

	ck_assert_int_eq(strv_split_ws(&l, "   "), 0);
	ck_assert_uint_eq(strv_length(l), 0);
	strv_free(l);
}
END_TEST

START_TEST(push_unique)
{
	char **l = NULL;

	ck_assert_int_eq(strv_push_unique(&l, "a"), 0);
	ck_assert_int_eq(strv_push_unique(&l, "b"), 0);
	ck_assert_int_eq(strv_push_unique(&l, "a"), 0);
	ck_assert_uint_eq(strv_length(l), 2);
	ck_assert(strv_contains(l, "b"));
	ck_assert(!strv_contains(l, "c"));
	strv_free(l);
	strv_free(NULL);
}
END_TEST

START_TEST(append)
{
	char **l = NULL;
	size_t n = 0;

	for (size_t i = 0; i < 1000; i++)
		ck_assert_int_eq(strv_append(&l, &n, "abc" + i % 3, 3 - i % 3), 0);
	ck_assert_uint_eq(n, 1000);
	ck_assert_uint_eq(strv_length(l), 1000);
	ck_assert_str_eq(l[0], "abc");
	ck_assert_str_eq(l[998], "c");
	ck_assert_ptr_null(l[1000]);
	strv_free(l);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("strv");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, split_ws);
	tcase_add_test(tc, push_unique);
	tcase_add_test(tc, append);
	suite_add_tcase(s, tc);
	return s;
}
