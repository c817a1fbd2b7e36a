/* SPDX-License-Identifier: Apache-2.0 */
#include "check-main.h"
#include "escape.h"
#include "macro.h"
#include "unit-helpers.h"

/* What escape_write() makes of S. */
static char *escaped(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	escape_write(f, s);
	ck_assert_int_eq(fclose(f), 0);
	return out;
}

static void expect(const char *in, const char *want)
{
	char *got = escaped(in);

	ck_assert_str_eq(got, want);
	free(got);
}

/* SECURITY.md, scenario 24: what a comment could do to a terminal is shown, not done. */
START_TEST(controls_are_escaped)
{
	/* A comment whose carriage return and "erase line" rewrote the status shown. */
	expect("x\r\x1b[2Kalice: approved", "x\\x0d\\x1b[2Kalice: approved");
	expect("tab\there\nnewline", "tab\\x09here\\x0anewline");
	expect("del\x7f", "del\\x7f");
	expect("\x01\x1f", "\\x01\\x1f");
	/* C1 controls as UTF-8: CSI (U+009B) and the first and last of them. */
	expect("\xc2\x9b\x32K", "\\xc2\\x9b2K"); /* \x32: '2' */
	expect("\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f");
	/* Bidirectional overrides and isolates reorder what is shown. */
	expect("a\xe2\x80\xae\x62", "a\\xe2\\x80\\xaeb"); /* \x62: 'b' */
	expect("\xe2\x81\xa6\xe2\x81\xa9", "\\xe2\\x81\\xa6\\xe2\\x81\\xa9");
}
END_TEST

START_TEST(invalid_utf8_is_escaped)
{
	expect("\xff", "\\xff");
	/* An overlong '/', a surrogate, past U+10FFFF, a lone continuation byte. */
	expect("\xc0\xaf", "\\xc0\\xaf");
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80");
	expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	expect("\x80", "\\x80");
	/* Cut short at the end of the string, or by an ASCII byte. */
	expect("ab\xe2\x82", "ab\\xe2\\x82");
	expect("\xe2\x82\x61", "\\xe2\\x82a"); /* \x61: 'a' */
}
END_TEST

START_TEST(text_passes_as_it_is)
{
	const char *keep[] = {
	    "alice: /home/alice/.ssh/authorized_keys:1: user SHA256:abc ssh-ed25519 ops@corp",
	    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x91", /* é, 日本, a key emoji */
	    "\xc2\xa0\xc2\xbf",		/* U+00A0 and U+00BF: past the C1 controls */
	    "\xe2\x80\x8f\xe2\x80\xaf", /* U+200F and U+202F: not overrides */
	    "back\\slash",
	};

	for (size_t i = 0; i < ELEMENTSOF(keep); i++)
		expect(keep[i], keep[i]);
}
END_TEST

START_TEST(scan_gives_code_points)
{
	long cp;
	bool shown;

	ck_assert_uint_eq(escape_scan("\xc3\xa9", &cp, &shown), 2);
	ck_assert_int_eq(cp, 0xe9);
	ck_assert(shown);
	ck_assert_uint_eq(escape_scan("\xc2\x9b", &cp, &shown), 2);
	ck_assert_int_eq(cp, 0x9b);
	ck_assert(!shown);
	ck_assert_uint_eq(escape_scan("\xe2\x80\xae", &cp, &shown), 3);
	ck_assert_int_eq(cp, 0x202e);
	ck_assert(!shown);
	ck_assert_uint_eq(escape_scan("\xf0\x9f\x94\x91", &cp, &shown), 4);
	ck_assert_int_eq(cp, 0x1f511);
	ck_assert(shown);
	ck_assert_uint_eq(escape_scan("\xff", &cp, &shown), 1);
	ck_assert_int_eq(cp, -1);
	ck_assert(!shown);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, controls_are_escaped);
	tcase_add_test(tc, invalid_utf8_is_escaped);
	tcase_add_test(tc, text_passes_as_it_is);
	tcase_add_test(tc, scan_gives_code_points);
	suite_add_tcase(s, tc);
	return s;
}
