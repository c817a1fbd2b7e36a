/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "check-main.h"
#include "sha256.h"

static void hex(const uint8_t md[SHA256_LEN], char out[2 * SHA256_LEN + 1])
{
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void assert_digest(const void *data, size_t len, const char *want)
{
	uint8_t md[SHA256_LEN];
	char got[2 * SHA256_LEN + 1];

	sha256(data, len, md);
	hex(md, got);
	ck_assert_str_eq(got, want);
}

/* FIPS 180-4's examples (one block, two blocks), the empty message, a million 'a'. */
START_TEST(known_answers)
{
	static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char *million = malloc(1000000);

	ck_assert_ptr_nonnull(million);
	memset(million, 'a', 1000000);
	assert_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_digest(two, strlen(two),
		      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_digest(million, 1000000,
		      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}
END_TEST

/* Every length up to four blocks and more, padding across each block edge, against
 * libcrypto's SHA-256. */
START_TEST(agrees_with_libcrypto_at_every_length)
{
	unsigned char data[300], want[EVP_MAX_MD_SIZE];
	uint8_t got[SHA256_LEN];
	unsigned n;

	srand(1);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)rand();
	for (size_t len = 0; len <= sizeof(data); len++) {
		ck_assert_int_eq(EVP_Digest(data, len, want, &n, EVP_sha256(), NULL), 1);
		ck_assert_uint_eq(n, SHA256_LEN);
		sha256(data, len, got);
		ck_assert_msg(memcmp(got, want, SHA256_LEN) == 0, "digest of %zu bytes differs",
			      len);
	}
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, known_answers);
	tcase_add_test(tc, agrees_with_libcrypto_at_every_length);
	suite_add_tcase(s, tc);
	return s;
}
