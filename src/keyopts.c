/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "keyopts.h"
#include "keytext.h"
#include "macro.h"
#include "services.h"

#define TUNNEL_ID_MAX (INT_MAX - 2)

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII by hand: whatever locale the daemon runs in must not change what a key is. */
static bool ascii_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* The value checks sshauthopt_parse() makes when it reads the line. */

/* strtonum() as sshd has it: all of S a decimal in [min, max]. */
static bool number_parse(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || *end || errno == ERANGE || n < min || n > max)
		return false;
	*ret = n;
	return true;
}

/* a2port(): a number, or a service name from /etc/services as sshd looks it up. */
static long long port_parse(const char *s)
{
	long long n;

	if (number_parse(s, 0, 65535, &n))
		return n;
	return service_tcp_port(s);
}

/* YYYYMMDD[HHMM[SS]], local time unless it ends in Z or UTC (parse_absolute_time()). */
int keyopts_expiry_time(const char *v, int64_t *ret)
{
	size_t l = strlen(v);
	bool utc = false;
	char buf[32];
	const char *fmt, *end;
	struct tm tm = {0};
	time_t t;

	if (l > 1 && strcasecmp(v + l - 1, "Z") == 0) {
		utc = true;
		l--;
	} else if (l > 3 && strcasecmp(v + l - 3, "UTC") == 0) {
		utc = true;
		l -= 3;
	}
	/* strptime() wants something between conversions, so the fields get separators. */
	switch (l) {
	case 8:
		fmt = "%Y-%m-%d";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2s", v, v + 4, v + 6);
		break;
	case 12:
		fmt = "%Y-%m-%dT%H:%M";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2sT%.2s:%.2s", v, v + 4, v + 6, v + 8,
			 v + 10);
		break;
	case 14:
		fmt = "%Y-%m-%dT%H:%M:%S";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", v, v + 4, v + 6, v + 8,
			 v + 10, v + 12);
		break;
	default:
		return -EINVAL;
	}
	end = strptime(buf, fmt, &tm);
	if (!end || *end)
		return -EINVAL;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t <= 0)
		return -EINVAL;
	*ret = (int64_t)t;
	return 0;
}

static bool expiry_valid(const char *v)
{
	int64_t t;

	return keyopts_expiry_time(v, &t) == 0;
}

static bool environment_valid(const char *v)
{
	const char *eq = strchr(v, '=');

	if (!eq || eq == v)
		return false;
	for (const char *p = v; p < eq; p++)
		if (!ascii_alnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

/* host:port, host/port or [v6]:port, as hpdelim2() splits it; permitlisten may be a bare port. */
static bool permit_valid(const char *v, bool bare_port)
{
	_cleanup_free_ char *s = NULL;
	char *host, *q;

	if (asprintf(&s, "%s%s", bare_port && !strchr(v, ':') ? "*:" : "", v) < 0) {
		s = NULL;
		return false;
	}
	host = s;
	if (*s == '[') {
		q = strchr(s, ']');
		if (!q)
			return false;
		q++;
	} else {
		q = strpbrk(s, ":/");
		if (!q)
			return false; /* no port */
	}
	if (*q != ':' && *q != '/')
		return false;
	*q++ = 0;
	if (strlen(host) >= NI_MAXHOST)
		return false;
	return strcmp(q, "*") == 0 || port_parse(q) > 0;
}

static bool permitopen_valid(const char *v)
{
	return permit_valid(v, false);
}

static bool permitlisten_valid(const char *v)
{
	return permit_valid(v, true);
}

static bool tunnel_valid(const char *v)
{
	long long n;

	return strcasecmp(v, "any") == 0 || number_parse(v, 0, TUNNEL_ID_MAX, &n);
}

enum option_kind { OPTION_FLAG, OPTION_NEGATABLE, OPTION_VALUE };

struct key_option {
	const char *name;
	enum option_kind kind;
	bool once; /* sshd refuses a second one */
	bool (*valid)(const char *value);
};

/*
 * sshd's options (sshauthopt_parse()), in the order it tries them. Names are matched ignoring
 * case, flags as a prefix of what follows; a value is always double-quoted. sshd caps
 * environment= at 1024 names and permitopen/permitlisten at 4096 each; sshmend does not, so
 * such a line counts as a key here: the side that never lets a key pass unseen.
 */
static const struct key_option key_options[] = {
    {"restrict", OPTION_FLAG, false, NULL},
    {"cert-authority", OPTION_FLAG, false, NULL},
    {"port-forwarding", OPTION_NEGATABLE, false, NULL},
    {"agent-forwarding", OPTION_NEGATABLE, false, NULL},
    {"x11-forwarding", OPTION_NEGATABLE, false, NULL},
    {"touch-required", OPTION_NEGATABLE, false, NULL},
    {"verify-required", OPTION_NEGATABLE, false, NULL},
    {"pty", OPTION_NEGATABLE, false, NULL},
    {"user-rc", OPTION_NEGATABLE, false, NULL},
    {"command", OPTION_VALUE, true, NULL},
    {"principals", OPTION_VALUE, true, NULL},
    {"from", OPTION_VALUE, true, NULL},
    {"expiry-time", OPTION_VALUE, false, expiry_valid},
    {"environment", OPTION_VALUE, false, environment_valid},
    {"permitopen", OPTION_VALUE, false, permitopen_valid},
    {"permitlisten", OPTION_VALUE, false, permitlisten_valid},
    {"tunnel", OPTION_VALUE, false, tunnel_valid},
};

/*
 * Where the options end (sshkey_advance_past_options()): at the first blank outside double
 * quotes; \" does not toggle quoting.
 */
const char *keyopts_end(const char *p, bool *unbalanced)
{
	bool quoted = false;

	for (; *p && (quoted || !is_blank(*p)); p++) {
		if (p[0] == '\\' && p[1] == '"')
			p++;
		else if (*p == '"')
			quoted = !quoted;
	}
	*unbalanced = quoted;
	return p;
}

static const struct key_option *option_match(const char **pp, const char *end)
{
	const char *p = *pp;

	for (size_t i = 0; i < ELEMENTSOF(key_options); i++) {
		const struct key_option *o = &key_options[i];
		size_t n = strlen(o->name);
		const char *q = p;

		if (o->kind == OPTION_VALUE) {
			if ((size_t)(end - q) > n && strncasecmp(q, o->name, n) == 0 &&
			    q[n] == '=') {
				*pp = q + n + 1;
				return o;
			}
			continue;
		}
		if (o->kind == OPTION_NEGATABLE && end - q >= 3 && strncasecmp(q, "no-", 3) == 0)
			q += 3;
		if ((size_t)(end - q) >= n && strncasecmp(q, o->name, n) == 0) {
			*pp = q + n;
			return o;
		}
	}
	return NULL;
}

/* The text between double quotes, with \" taken for a quote (opt_dequote()). */
static int option_value(const char **pp, const char *end, char **ret)
{
	const char *p = *pp, *q;
	_cleanup_free_ char *v = NULL;
	size_t n = 0;

	/* Find the closing quote first: the value is allocated at its own size, not the rest of
	 * the line's (a line of many options would cost the square of its length). */
	for (q = p + 1; q < end && *q != '"'; q++)
		if (q[0] == '\\' && q + 1 < end && q[1] == '"')
			q++;
	if (q == end)
		return -EINVAL;
	v = malloc((size_t)(q - p));
	if (!v)
		return -ENOMEM;
	for (p++; p < q; p++) {
		if (p[0] == '\\' && p + 1 < end && p[1] == '"')
			p++;
		v[n++] = *p;
	}
	v[n] = 0;
	*pp = p + 1;
	*ret = TAKE_PTR(v);
	return 0;
}

int keyopts_value(const char *options, const char *name, char **ret)
{
	const char *p = options, *end = options + strlen(options);

	*ret = NULL;
	while (p < end) {
		const struct key_option *o;

		if (*p == ',') {
			p++;
			continue;
		}
		o = option_match(&p, end);
		if (!o)
			return 0; /* sshd ignores such a line: key_parse_line() never passes it */
		if (o->kind != OPTION_VALUE) {
			if (strcmp(o->name, name) != 0)
				continue;
			*ret = strdup("");
			return *ret ? 1 : -ENOMEM;
		}
		if (*p != '"' || option_value(&p, end, ret) < 0)
			return 0;
		if (strcmp(o->name, name) == 0)
			return 1;
		free(*ret);
		*ret = NULL;
	}
	return 0;
}

/* How much of an unknown item to quote: its name, up to a value or the next item. */
static size_t option_name_len(const char *item, const char *end)
{
	size_t n = 0;

	while (item + n < end && !strchr(",=\"", item[n]))
		n++;
	return n;
}

/*
 * Whether a network in from= makes sshd's addr_match_list() fail: an address (as getaddrinfo()
 * reads it, so "10.1" is 10.0.0.1) with a mask too long for it or with bits set past the mask.
 * Anything else that is not an address is a host name pattern, and fine.
 */
static bool network_broken(const char *s)
{
	char addr[64], *slash, *end;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;
	const unsigned char *a;
	unsigned long mask = ULONG_MAX, len;
	bool broken = false;

	if (strlen(s) >= sizeof(addr))
		return false;
	strcpy(addr, s);
	slash = strchr(addr, '/');
	if (slash) {
		*slash++ = 0;
		if (*slash < '0' || *slash > '9')
			return false;
		mask = strtoul(slash, &end, 10);
		if (*end || mask > 128)
			return false;
	}
	if (getaddrinfo(addr, NULL, &hints, &ai) != 0)
		return false;
	if (!ai->ai_addr) {
		freeaddrinfo(ai);
		return false;
	}
	if (ai->ai_family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		len = 4;
	} else if (ai->ai_family == AF_INET6) {
		a = (const unsigned char *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		len = 16;
	} else {
		freeaddrinfo(ai);
		return false;
	}
	if (mask == ULONG_MAX)
		mask = len * 8;
	if (mask > len * 8)
		broken = true;
	for (unsigned long bit = mask; !broken && bit < len * 8; bit++)
		broken = a[bit / 8] & (0x80 >> (bit % 8));
	freeaddrinfo(ai);
	return broken;
}

/* from= parses whatever it holds; a bad entry makes sshd refuse every login with the key. */
static void from_check(const char *v, struct options_seen *seen)
{
	char buf[KEY_SHOWN_MAX + 4];

	for (const char *e = v;; e += strcspn(e, ",") + 1) {
		const char *entry = e + (*e == '!');
		size_t n = strcspn(entry, ",");
		_cleanup_free_ char *one = strndup(entry, n);

		if (!one) {
			seen->refused = key_fail(seen->refusal, sizeof(seen->refusal), -ENOMEM,
						 "out of memory");
			return;
		}
		if (n == 0) {
			seen->refused =
			    key_fail(seen->refusal, sizeof(seen->refusal), -EKEYREJECTED,
				     "empty entry in from=, so sshd refuses the key");
			return;
		}
		if (network_broken(one)) {
			seen->refused =
			    key_fail(seen->refusal, sizeof(seen->refusal), -EKEYREJECTED,
				     "from= network '%s' is invalid, so sshd refuses the key",
				     key_shown(buf, sizeof(buf), one, n));
			return;
		}
		if (!entry[n])
			return;
	}
}

/*
 * Check the options in [P, END) as sshd would. A syntax error is returned at once; a refusal is
 * only noted in SEEN, because a syntax error elsewhere on the line makes sshd ignore it instead.
 */
int keyopts_parse(const char *p, const char *end, struct options_seen *seen, char *why,
		  size_t whylen)
{
	bool once[ELEMENTSOF(key_options)] = {false};
	char buf[KEY_SHOWN_MAX + 4];

	while (p < end) {
		const char *item = p;
		const struct key_option *o;
		size_t i;

		/* sshd steps over an empty item, so ",," and a leading ',' pass. */
		if (*p == ',') {
			p++;
			continue;
		}
		o = option_match(&p, end);
		if (!o)
			return key_fail(
			    why, whylen, -EINVAL, "unknown option '%s'",
			    key_shown(buf, sizeof(buf), item, option_name_len(item, end)));
		i = (size_t)(o - key_options);
		if (o->once && once[i])
			return key_fail(why, whylen, -EINVAL, "option '%s' given twice", o->name);
		once[i] = true;
		if (o->kind == OPTION_VALUE) {
			_cleanup_free_ char *v = NULL;
			int r;

			if (*p != '"')
				return key_fail(why, whylen, -EINVAL,
						"option '%s' needs a double-quoted value", o->name);
			r = option_value(&p, end, &v);
			if (r == -ENOMEM)
				return key_fail(why, whylen, r, "out of memory");
			if (r < 0)
				return key_fail(why, whylen, r, "unbalanced quote in options");
			if (o->valid && !o->valid(v))
				return key_fail(why, whylen, -EINVAL, "invalid %s \"%s\"", o->name,
						key_shown(buf, sizeof(buf), v, strlen(v)));
			if (p < end && *p != ',')
				return key_fail(why, whylen, -EINVAL,
						"unexpected text after option '%s'", o->name);
			if (strcmp(o->name, "from") == 0 && !seen->refused)
				from_check(v, seen);
			else if (strcmp(o->name, "principals") == 0)
				seen->principals = true;
		} else if (p < end && *p != ',') {
			/* A flag matched as a prefix of something longer. */
			return key_fail(
			    why, whylen, -EINVAL, "unknown option '%s'",
			    key_shown(buf, sizeof(buf), item, option_name_len(item, end)));
		} else if (strcmp(o->name, "cert-authority") == 0) {
			seen->cert_authority = true;
		}
	}
	/* auth_authorise_keyopts(): principals= belongs to a CA; on a user's key it denies. */
	if (seen->principals && !seen->cert_authority && !seen->refused)
		seen->refused =
		    key_fail(seen->refusal, sizeof(seen->refusal), -EKEYREJECTED,
			     "principals= without cert-authority, so sshd refuses the key");
	return 0;
}
