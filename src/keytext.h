/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "macro.h"

/* How the parsers of a key line say what is wrong, with the line's own text kept harmless. */

/* The most of a line's text a reason quotes. */
#define KEY_SHOWN_MAX 48

/* Write the reason FMT into WHY (when not NULL) and return R. */
int key_fail(char *why, size_t whylen, int r, const char *fmt, ...) _printf_(4, 5);

/* TEXT (LEN bytes) as a reason may quote it, in BUF (SIZE: at least KEY_SHOWN_MAX + 4). */
const char *key_shown(char *buf, size_t size, const void *text, size_t len);

/* isspace() in the C locale, which is what b64_pton() skips: no locale changes what a key is. */
static inline bool key_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}
