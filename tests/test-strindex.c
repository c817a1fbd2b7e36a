/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include "check-main.h"
#include "strindex.h"

START_TEST(add_and_find)
{
	struct strindex *x = NULL;

	ck_assert_int_eq(strindex_new(&x), 0);
	ck_assert_int_eq(strindex_find(x, "a", 1), -1);
	ck_assert_int_eq(strindex_add(x, "a", 1, 7), 1);
	ck_assert_int_eq(strindex_add(x, "ab", 2, 8), 1);
	/* The first position stays. */
	ck_assert_int_eq(strindex_add(x, "a", 1, 9), 0);
	ck_assert_int_eq(strindex_find(x, "a", 1), 7);
	ck_assert_int_eq(strindex_find(x, "ab", 2), 8);
	/* By length: a prefix is another key. */
	ck_assert_int_eq(strindex_find(x, "abc", 2), 8);
	ck_assert_int_eq(strindex_find(x, "abc", 3), -1);
	ck_assert_int_eq(strindex_find(NULL, "a", 1), -1);
	strindex_free(x);
}
END_TEST

/* Many keys: every one found where it was put, through the table's growth. */
START_TEST(many)
{
	enum { N = 100000 };
	static char keys[N][16];
	struct strindex *x = NULL;

	ck_assert_int_eq(strindex_new(&x), 0);
	for (size_t i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "SHA256:%zu", i);
		ck_assert_int_eq(strindex_add(x, keys[i], strlen(keys[i]), i), 1);
	}
	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(strindex_find(x, keys[i], strlen(keys[i])), (ssize_t)i);
	ck_assert_int_eq(strindex_find(x, "SHA256:x", 8), -1);
	strindex_free(x);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("strindex");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, add_and_find);
	tcase_add_test(tc, many);
	suite_add_tcase(s, tc);
	return s;
}
