/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Time spans in systemd's syntax (systemd.time(7)), in microseconds. */

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC 1000000ull

/*
 * Parse S: one or more "NUMBER[UNIT]", with or without spaces between ("1h 30s", "1h30s",
 * "1.5h"); a number without a unit is seconds ("600"). Units: us usec, ms msec, s sec second
 * seconds, m min minute minutes, h hr hour hours, d day days, w week weeks, M month months,
 * y year years. Returns -EINVAL for anything else, -ERANGE past UINT64_MAX microseconds.
 */
int timespan_parse(const char *s, uint64_t *ret);

/* USEC the way systemd writes it ("10min", "1h 30s", "500ms"; "0" for none), into BUF. */
char *timespan_format(uint64_t usec, char *buf, size_t len);
