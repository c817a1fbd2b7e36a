/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "keytext.h"

int key_fail(char *why, size_t whylen, int r, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Text from the file goes into log lines: printable ASCII only, and not too much of it. */
const char *key_shown(char *buf, size_t size, const void *text, size_t len)
{
	const unsigned char *s = text;
	size_t max = size - 4 < KEY_SHOWN_MAX ? size - 4 : KEY_SHOWN_MAX, i;

	for (i = 0; i < len && i < max; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (i < len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = 0;
	return buf;
}
