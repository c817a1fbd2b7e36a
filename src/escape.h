/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "macro.h"

/*
 * Text read from what users own (user names, paths, key comments, reasons that quote them)
 * shown to a person: whatever could drive a terminal is written as \xHH, byte by byte, so
 * that what is shown is what is there. That is a C0 control (tab and newline included),
 * DEL, a C1 control (U+0080 to U+009F, as UTF-8), a bidirectional embedding, override or
 * isolate (U+202A to U+202E, U+2066 to U+2069), and a byte that is not part of valid UTF-8.
 * Everything else is shown as it is.
 */

/*
 * The character at S (not at its NUL): its length in bytes, with *CP its code point (-1 for
 * a byte that is not valid UTF-8, of length 1) and *SHOWN whether it is shown as it is.
 */
size_t escape_scan(const char *s, long *cp, bool *shown);

/* Write S to OUT, escaped. */
void escape_write(FILE *out, const char *s);

/* Format, then write the text to OUT escaped (a newline in it too: write that apart). */
void escape_printf(FILE *out, const char *fmt, ...) _printf_(2, 3);

/* "sshmend: ", the formatted text escaped, and a newline, on standard error. */
void escape_say(const char *fmt, ...) _printf_(1, 2);
