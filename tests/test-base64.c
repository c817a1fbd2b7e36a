/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base64.h"
#include "check-main.h"

/* RFC 4648, section 10. */
static const char *const vectors[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

START_TEST(rfc4648_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(*vectors); i++) {
		const char *plain = vectors[i][0], *enc = vectors[i][1];
		char out[16];
		uint8_t dec[16];
		long n;

		ck_assert_uint_eq(base64_encode((const uint8_t *)plain, strlen(plain), out),
				  strlen(enc));
		ck_assert_uint_eq(BASE64_ENCODED_LEN(strlen(plain)), strlen(enc));
		ck_assert_str_eq(out, enc);
		n = base64_decode(enc, strlen(enc), dec);
		ck_assert_int_eq(n, (long)strlen(plain));
		ck_assert_int_eq(memcmp(dec, plain, (size_t)n), 0);
	}
}
END_TEST

/* Every byte value in every position of the three in a group comes back as it went. */
START_TEST(round_trip)
{
	uint8_t in[259], dec[259];
	char enc[BASE64_ENCODED_LEN(259) + 1];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(in); len++) {
		size_t n = base64_encode(in, len, enc);

		ck_assert_int_eq(base64_decode(enc, n, dec), (long)len);
		ck_assert_int_eq(memcmp(dec, in, len), 0);
	}
}
END_TEST

/* What sshd's b64_pton() refuses: stray bits under a pad, '=' inside or thrice, a length
 * that is no multiple of four, a character outside the alphabet. */
START_TEST(refusals)
{
	static const char *const bad[] = {
	    "Zh==", "Zm9=", "Zg=v", "Z===", "Zm9vY", "Zm-v", "Zm9v\n", "Zm9v===="};
	uint8_t dec[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(base64_decode(bad[i], strlen(bad[i]), dec) == -EINVAL,
			      "\"%s\" decoded", bad[i]);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rfc4648_vectors);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, refusals);
	suite_add_tcase(s, tc);
	return s;
}
