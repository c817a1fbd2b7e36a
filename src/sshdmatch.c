/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include "macro.h"
#include "services.h"
#include "sshdmatch.h"

/* sshd gives up on a list entry this long (and on the whole list with it). */
#define SSHD_PATTERN_MAX 1023
/* sshd copies a CIDR entry into a buffer of this size; a longer one is only a pattern. */
#define SSHD_CIDR_MAX 63

bool sshd_match_pattern(const char *s, const char *pattern)
{
	const char *star = NULL, *resume = NULL;

	/* Greedy with one point to come back to: enough for '*' and '?' alone. */
	while (*s) {
		if (*pattern == '*') {
			star = ++pattern;
			resume = s;
		} else if (*pattern && (*pattern == '?' || *pattern == *s)) {
			pattern++;
			s++;
		} else if (star) {
			pattern = star;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return !*pattern;
}

int sshd_match_pattern_list(const char *s, const char *list, bool lower)
{
	char sub[SSHD_PATTERN_MAX + 1];
	bool positive = false;
	size_t len = strlen(list), i = 0;

	while (i < len) {
		bool negated = list[i] == '!';
		size_t n = 0;

		if (negated)
			i++;
		for (; i < len && list[i] != ',' && n < SSHD_PATTERN_MAX; i++, n++)
			sub[n] = lower ? (char)tolower((unsigned char)list[i]) : list[i];
		if (n >= SSHD_PATTERN_MAX)
			return 0;
		if (i < len && list[i] == ',')
			i++;
		sub[n] = 0;
		if (sshd_match_pattern(s, sub)) {
			if (negated)
				return -1;
			positive = true;
		}
	}
	return positive ? 1 : 0;
}

int sshd_match_hostname(const char *host, const char *list)
{
	_cleanup_free_ char *h = strdup(host);

	if (!h)
		return 0;
	for (char *p = h; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return sshd_match_pattern_list(h, list, true);
}

/* An address as sshd holds it: the family and up to 16 bytes. */
struct addr {
	int family;
	unsigned char bytes[16];
	unsigned bits; /* 32 or 128 */
};

static int addr_parse(const char *s, struct addr *a)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;

	if (getaddrinfo(s, NULL, &hints, &ai) != 0 || !ai)
		return -1;
	*a = (struct addr){.family = ai->ai_family};
	if (ai->ai_family == AF_INET) {
		memcpy(a->bytes, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		a->bits = 32;
	} else if (ai->ai_family == AF_INET6) {
		memcpy(a->bytes, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
		a->bits = 128;
	} else {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

/* Do A and B agree in their first BITS bits? */
static bool addr_prefix_equal(const struct addr *a, const struct addr *b, unsigned bits)
{
	for (unsigned i = 0; i < a->bits / 8; i++) {
		unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;
		unsigned char mask = (unsigned char)(0xff00u >> keep);

		if ((a->bytes[i] & mask) != (b->bytes[i] & mask))
			return false;
	}
	return true;
}

static bool addr_host_bits_zero(const struct addr *a, unsigned bits)
{
	for (unsigned i = 0; i < a->bits / 8; i++) {
		unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? bits - i * 8 : 0;

		if (a->bytes[i] & (unsigned char)~(0xff00u >> keep))
			return false;
	}
	return true;
}

/* 0 a network (in NET and BITS), -1 not a network (a pattern, then), -2 an invalid one. */
static int cidr_parse(const char *s, struct addr *net, unsigned *bits)
{
	char buf[SSHD_CIDR_MAX + 1], *slash, *end;
	unsigned long mask = 0;

	if (strlen(s) > SSHD_CIDR_MAX)
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash++ = 0;
		if (!*slash || !isdigit((unsigned char)*slash))
			return -1;
		errno = 0;
		mask = strtoul(slash, &end, 10);
		if (*end || errno || mask > INT32_MAX)
			return -1;
	}
	if (addr_parse(buf, net) < 0)
		return -1;
	if (!slash)
		mask = net->bits;
	if (mask > net->bits || !addr_host_bits_zero(net, (unsigned)mask))
		return -2;
	*bits = (unsigned)mask;
	return 0;
}

int sshd_match_addr_list(const char *addr, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	struct addr a;
	char *entry, *next;
	int ret = 0;

	if (addr && addr_parse(addr, &a) < 0)
		return 0;
	if (!copy)
		return -2;
	for (entry = copy; entry; entry = next) {
		bool negated = *entry == '!', found;
		struct addr net;
		unsigned bits;
		int r;

		next = strchr(entry, ',');
		if (next)
			*next++ = 0;
		if (negated)
			entry++;
		if (!*entry)
			return -2;
		r = cidr_parse(entry, &net, &bits);
		if (r == -2)
			return -2;
		if (!addr)
			continue;
		if (r == 0)
			found = net.family == a.family && addr_prefix_equal(&a, &net, bits);
		else
			found = sshd_match_pattern(addr, entry);
		if (!found)
			continue;
		if (negated)
			return -1;
		ret = 1;
	}
	return ret;
}

/* HOST and ADDR against the host part of an AllowUsers pattern: 1, 0, or -1 invalid. */
static int match_host_and_addr(const char *host, const char *addr, const char *list)
{
	int ra = sshd_match_addr_list(addr, list), rh;

	if (ra == -2)
		return -1;
	if (!host || !addr || ra == -1)
		return 0;
	rh = sshd_match_hostname(host, list);
	if (rh == -1)
		return 0;
	return rh == 1 || ra == 1 ? 1 : 0;
}

int sshd_match_user(const char *user, const char *host, const char *addr, const char *pattern)
{
	_cleanup_free_ char *copy = NULL;
	char *at = strrchr(pattern, '@');

	if (!user && !host && !addr)
		return at && match_host_and_addr(NULL, NULL, at + 1) < 0 ? -1 : 0;
	if (!user)
		return 0;
	if (!at)
		return sshd_match_pattern(user, pattern) ? 1 : 0;
	copy = strdup(pattern);
	if (!copy)
		return 0;
	copy[at - pattern] = 0;
	if (!sshd_match_pattern(user, copy))
		return 0;
	return match_host_and_addr(host, addr, at + 1);
}

bool sshd_match_groups(const char *const *groups, char *const *patterns)
{
	for (size_t i = 0; groups && groups[i]; i++)
		for (size_t j = 0; patterns && patterns[j]; j++)
			if (sshd_match_pattern(groups[i], patterns[j]))
				return true;
	return false;
}

/* Match Group: one group matched, none negated. An unknown user is in no group. */
static int match_group_list(const char *const *groups, const char *list)
{
	bool found = false;

	for (size_t i = 0; groups && groups[i]; i++) {
		int r = sshd_match_pattern_list(groups[i], list, false);

		if (r == -1)
			return 0;
		if (r == 1)
			found = true;
	}
	return found;
}

/* a2port(): a number, or a service name from /etc/services as sshd looks it up. */
static int port_parse(const char *s)
{
	char *end;
	unsigned long v;

	if (isdigit((unsigned char)*s)) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (!*end && !errno && v <= 65535)
			return (int)v;
	}
	return service_tcp_port(s);
}

static int match_fail(char *why, size_t whylen, const char *fmt, const char *arg)
{
	snprintf(why, whylen, fmt, arg);
	return -EINVAL;
}

/* One criterion ATTR ARG: 1, 0, or -EINVAL. */
static int match_criterion(const char *attr, const char *arg, const struct sshd_conn *c,
			   unsigned version, char *why, size_t whylen)
{
	char release[32];

	if (strcasecmp(attr, "user") == 0)
		return c && c->user && sshd_match_pattern_list(c->user, arg, false) == 1;
	if (strcasecmp(attr, "group") == 0)
		return c && c->user && match_group_list(c->groups, arg) == 1;
	if (strcasecmp(attr, "host") == 0)
		return c && c->host && sshd_match_hostname(c->host, arg) == 1;
	if (strcasecmp(attr, "address") == 0 || strcasecmp(attr, "localaddress") == 0) {
		const char *a = !c ? NULL : attr[0] == 'a' || attr[0] == 'A' ? c->addr : c->laddr;
		int r = sshd_match_addr_list(a, arg);

		if (r == -2)
			return match_fail(why, whylen, "Invalid Match address argument '%s'", arg);
		return r == 1;
	}
	if (strcasecmp(attr, "localport") == 0) {
		int port = port_parse(arg);

		if (port < 0)
			return match_fail(why, whylen, "Invalid LocalPort '%s' on Match line", arg);
		return c && c->lport > 0 && c->lport == port;
	}
	if (strcasecmp(attr, "rdomain") == 0)
		return 0; /* no routing domain known here */
	if (version >= SSHD_VERSION_10_0 && strcasecmp(attr, "version") == 0) {
		/* sshd's release is "OpenSSH_10.0p2": the portable release is not known here. */
		snprintf(release, sizeof(release), "OpenSSH_%u.%u", version / 100, version % 100);
		return sshd_match_pattern_list(release, arg, false) == 1;
	}
	return match_fail(why, whylen, "Unsupported Match attribute %s", attr);
}

/* Is ATTR, up to EQ, one of the criteria OpenSSH 10 takes as "Attribute=value"? */
static bool attr_with_value(const char *attr, const char *eq)
{
	static const char *const names[] = {"user",	    "group",	 "host",    "address",
					    "localaddress", "localport", "rdomain", "version"};
	size_t n = (size_t)(eq - attr);

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strlen(names[i]) == n && strncasecmp(attr, names[i], n) == 0)
			return true;
	return false;
}

int sshd_match_line(char *const *criteria, const struct sshd_conn *conn, unsigned version,
		    char *why, size_t whylen)
{
	int result = 1;
	size_t n = 0;

	for (size_t i = 0; criteria[i]; i++, n++) {
		_cleanup_free_ char *attr = strdup(criteria[i]);
		const char *arg;
		char *eq;
		int r;

		if (!attr)
			return -ENOMEM;
		if (strcasecmp(attr, "all") == 0) {
			if (n > 0 || criteria[i + 1])
				return match_fail(why, whylen, "%s",
						  "'all' cannot be combined with other Match "
						  "attributes");
			return 1;
		}
		if (version >= SSHD_VERSION_10_0 && strcasecmp(attr, "invalid-user") == 0) {
			/* The user does not exist. */
			if (!conn || conn->groups)
				result = 0;
			continue;
		}
		eq = strchr(attr, '=');
		if (version >= SSHD_VERSION_10_0 && eq && attr_with_value(attr, eq)) {
			/* "User=alice" */
			*eq = 0;
			arg = eq + 1;
		} else {
			arg = criteria[++i];
		}
		if (!arg || !*arg)
			return match_fail(why, whylen, "Missing Match criteria for %s", attr);
		r = match_criterion(attr, arg, conn, version, why, whylen);
		if (r < 0)
			return r;
		if (r == 0)
			result = 0;
	}
	if (n == 0)
		return match_fail(why, whylen, "%s", "One or more attributes required for Match");
	return result;
}

/* allowed_user() in auth.c, in its order and words. */
bool sshd_settings_refuse_user(const struct sshd_settings *s, const struct sshd_conn *conn,
			       char *why, size_t whylen)
{
	const char *user = conn->user ? conn->user : "", *host = conn->host ? conn->host : "";
	size_t i;

	/* An unknown user never gets here. */
	if (!conn->groups)
		return false;
	for (i = 0; s->deny_users && s->deny_users[i]; i++)
		if (sshd_match_user(user, conn->host, conn->addr, s->deny_users[i]) != 0) {
			snprintf(why, whylen,
				 "User %.100s from %.100s not allowed because listed in DenyUsers",
				 user, host);
			return true;
		}
	for (i = 0; s->allow_users && s->allow_users[i]; i++)
		if (sshd_match_user(user, conn->host, conn->addr, s->allow_users[i]) == 1)
			break;
	if (s->allow_users && s->allow_users[0] && !s->allow_users[i]) {
		snprintf(why, whylen,
			 "User %.100s from %.100s not allowed because not listed in AllowUsers",
			 user, host);
		return true;
	}
	if ((!s->deny_groups || !s->deny_groups[0]) && (!s->allow_groups || !s->allow_groups[0]))
		return false;
	if (!conn->groups[0]) {
		snprintf(why, whylen,
			 "User %.100s from %.100s not allowed because not in any group", user,
			 host);
		return true;
	}
	if (sshd_match_groups(conn->groups, s->deny_groups)) {
		snprintf(why, whylen,
			 "User %.100s from %.100s not allowed because a group is listed in "
			 "DenyGroups",
			 user, host);
		return true;
	}
	if (s->allow_groups && s->allow_groups[0] &&
	    !sshd_match_groups(conn->groups, s->allow_groups)) {
		snprintf(why, whylen,
			 "User %.100s from %.100s not allowed because none of user's groups are "
			 "listed in AllowGroups",
			 user, host);
		return true;
	}
	return false;
}
