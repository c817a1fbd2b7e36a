/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 (RFC 4648, the standard alphabet), as key lines carry their blobs. */
#include <errno.h>
#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ASCII by hand: no locale can change what a character is worth. */
int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t base64_encode(const uint8_t *in, size_t len, char *out)
{
	char *o = out;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return (size_t)(o - out);
}

long base64_decode(const char *in, size_t len, uint8_t *out)
{
	size_t pad = 0, n = 0;

	if (len % 4 != 0)
		return -EINVAL;
	while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int quad = i + 4 < len ? 4 : 4 - (int)pad;

		for (int k = 0; k < 4; k++) {
			int x = k < quad ? base64_value(in[i + k]) : 0;

			if (x < 0)
				return -EINVAL;
			v = v << 6 | (uint32_t)x;
		}
		/* A pad's leftover bits must be zero: the same bytes have one encoding only. */
		if ((quad == 3 && (v & 0xff)) || (quad == 2 && (v & 0xffff)))
			return -EINVAL;
		out[n++] = (uint8_t)(v >> 16);
		if (quad > 2)
			out[n++] = (uint8_t)(v >> 8);
		if (quad > 3)
			out[n++] = (uint8_t)v;
	}
	return (long)n;
}
