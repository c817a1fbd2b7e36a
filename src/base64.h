/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode() writes for LEN bytes, padding included, without the NUL. */
#define BASE64_ENCODED_LEN(len) (((len) + 2) / 3 * 4)

/* What character C is worth in the alphabet (0 to 63), or -1 for one outside it ('=' too). */
int base64_value(char c);

/* RFC 4648 base64 of LEN bytes into OUT (BASE64_ENCODED_LEN(LEN) + 1 bytes, NUL-terminated,
 * with '=' padding); returns the characters written. */
size_t base64_encode(const uint8_t *in, size_t len, char *out);

/*
 * Decode LEN characters (a multiple of 4, white space already taken out) into OUT
 * (LEN / 4 * 3 bytes). '=' is taken only as one or two pads at the very end, and the bits a
 * pad leaves over must be zero, as sshd's b64_pton() has it. Returns the bytes decoded, or
 * -EINVAL.
 */
long base64_decode(const char *in, size_t len, uint8_t *out);
