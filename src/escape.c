/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdlib.h>
#include "escape.h"

/* A continuation byte, 10xxxxxx. */
static bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t escape_scan(const char *s, long *cp, bool *shown)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	long c;

	if (p[0] < 0x80) {
		*cp = p[0];
		*shown = p[0] >= 0x20 && p[0] != 0x7f;
		return 1;
	}
	/* The lead byte says the length; the second byte's range rules out overlong forms,
	 * surrogates and code points past U+10FFFF. */
	if (p[0] >= 0xc2 && p[0] <= 0xdf && cont(p[1])) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef && cont(p[1]) && cont(p[2]) &&
		   (p[0] != 0xe0 || p[1] >= 0xa0) && (p[0] != 0xed || p[1] < 0xa0)) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4 && cont(p[1]) && cont(p[2]) && cont(p[3]) &&
		   (p[0] != 0xf0 || p[1] >= 0x90) && (p[0] != 0xf4 || p[1] < 0x90)) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		*cp = -1;
		*shown = false;
		return 1;
	}
	for (size_t k = 1; k < n; k++)
		c = (c << 6) | (p[k] & 0x3f);
	*cp = c;
	*shown = !(c >= 0x80 && c <= 0x9f) && !(c >= 0x202a && c <= 0x202e) &&
		 !(c >= 0x2066 && c <= 0x2069);
	return n;
}

void escape_write(FILE *out, const char *s)
{
	while (*s) {
		long cp;
		bool shown;
		size_t n = escape_scan(s, &cp, &shown);

		if (shown)
			fwrite(s, 1, n, out);
		else
			for (size_t k = 0; k < n; k++)
				fprintf(out, "\\x%02x", (unsigned char)s[k]);
		s += n;
	}
}

static void escape_vprintf(FILE *out, const char *fmt, va_list ap)
{
	char *text = NULL;

	if (vasprintf(&text, fmt, ap) < 0) {
		fputs("(out of memory)", out);
		return;
	}
	escape_write(out, text);
	free(text);
}

void escape_printf(FILE *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	escape_vprintf(out, fmt, ap);
	va_end(ap);
}

void escape_say(const char *fmt, ...)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	va_list ap;

	/* Built whole, then written at once: stderr is unbuffered. */
	if (!f)
		return;
	fputs("sshmend: ", f);
	va_start(ap, fmt);
	escape_vprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (fclose(f) == 0)
		fwrite(line, 1, len, stderr);
	free(line);
}
