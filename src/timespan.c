/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "macro.h"
#include "timespan.h"

#define USEC_PER_MIN (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (3600 * USEC_PER_SEC)
#define USEC_PER_DAY (86400 * USEC_PER_SEC)
#define USEC_PER_WEEK (7 * USEC_PER_DAY)
/* As systemd counts them: a year of 365.25 days, a month a twelfth of it. */
#define USEC_PER_YEAR (31557600 * USEC_PER_SEC)
#define USEC_PER_MONTH (USEC_PER_YEAR / 12)

/* A unit's name is matched whole: "min" and "ms" are not "m" followed by more. */
static const struct unit {
	const char *name;
	uint64_t usec;
} units[] = {
    {"seconds", USEC_PER_SEC},
    {"second", USEC_PER_SEC},
    {"sec", USEC_PER_SEC},
    {"s", USEC_PER_SEC},
    {"minutes", USEC_PER_MIN},
    {"minute", USEC_PER_MIN},
    {"min", USEC_PER_MIN},
    {"months", USEC_PER_MONTH},
    {"month", USEC_PER_MONTH},
    {"msec", USEC_PER_MSEC},
    {"ms", USEC_PER_MSEC},
    {"m", USEC_PER_MIN},
    {"hours", USEC_PER_HOUR},
    {"hour", USEC_PER_HOUR},
    {"hr", USEC_PER_HOUR},
    {"h", USEC_PER_HOUR},
    {"days", USEC_PER_DAY},
    {"day", USEC_PER_DAY},
    {"d", USEC_PER_DAY},
    {"weeks", USEC_PER_WEEK},
    {"week", USEC_PER_WEEK},
    {"w", USEC_PER_WEEK},
    {"M", USEC_PER_MONTH},
    {"years", USEC_PER_YEAR},
    {"year", USEC_PER_YEAR},
    {"y", USEC_PER_YEAR},
    {"usec", 1},
    {"us", 1},
};

/* The unit at *P (seconds when none), *P moved past it; NULL when it is not one. */
static const struct unit *unit_at(const char **p)
{
	static const struct unit seconds = {"", USEC_PER_SEC};
	const char *s = *p;
	size_t n = 0;

	while (isalpha((unsigned char)s[n]))
		n++;
	if (n == 0)
		return &seconds;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (strlen(units[i].name) == n && strncmp(units[i].name, s, n) == 0) {
			*p = s + n;
			return &units[i];
		}
	return NULL;
}

int timespan_parse(const char *s, uint64_t *ret)
{
	uint64_t total = 0;
	const char *p = s;
	bool any = false;

	for (;;) {
		uint64_t whole = 0, frac = 0, scale = 1, v;
		const struct unit *u;

		p += strspn(p, " \t");
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (whole > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			whole = whole * 10 + (uint64_t)(*p - '0');
		}
		if (*p == '.') {
			if (!isdigit((unsigned char)*++p))
				return -EINVAL;
			/* Beyond a millionth of the largest unit nothing counts: digits past it go.
			 */
			for (; isdigit((unsigned char)*p); p++)
				if (scale < 100000000000000ull) {
					frac = frac * 10 + (uint64_t)(*p - '0');
					scale *= 10;
				}
		}
		p += strspn(p, " \t");
		u = unit_at(&p);
		if (!u)
			return -EINVAL;
		if (whole > UINT64_MAX / u->usec)
			return -ERANGE;
		v = whole * u->usec + (uint64_t)((long double)frac * u->usec / scale);
		if (v < whole * u->usec || total > UINT64_MAX - v)
			return -ERANGE;
		total += v;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret = total;
	return 0;
}

char *timespan_format(uint64_t usec, char *buf, size_t len)
{
	static const struct unit parts[] = {
	    {"y", USEC_PER_YEAR}, {"month", USEC_PER_MONTH}, {"w", USEC_PER_WEEK},
	    {"d", USEC_PER_DAY},  {"h", USEC_PER_HOUR},	     {"min", USEC_PER_MIN},
	    {"s", USEC_PER_SEC},  {"ms", USEC_PER_MSEC},     {"us", 1},
	};
	size_t n = 0;

	*buf = 0;
	if (usec == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	for (size_t i = 0; i < ELEMENTSOF(parts) && usec && n < len; i++) {
		uint64_t k = usec / parts[i].usec;

		if (!k)
			continue;
		usec -= k * parts[i].usec;
		n += (size_t)snprintf(buf + n, len - n, "%s%llu%s", n ? " " : "",
				      (unsigned long long)k, parts[i].name);
	}
	return buf;
}
