/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key options step of `sshmend why`: the options of the keys file line that holds the key
 * as sshd judges them (auth-options.c, auth2-pubkeyfile.c): cert-authority, principals=,
 * expiry-time=, and from= against the client's host and address (match_host_and_ip()).
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keyopts.h"
#include "macro.h"
#include "whymodel.h"

/* sshd's sentences for the key's options, as sshd 9.x and 10.x log them (auth2-pubkeyfile.c). */
#define SSHD_FROM                                                                                  \
	"%s:%u: Authentication tried for %s with correct key but not from a permitted host "       \
	"(host=%s, ip=%s, required=%s)."
#define SSHD_KEY_OPTIONS "Refused by key options"

/* An IPv4 or IPv6 network "ADDR/BITS" holding IP. */
static bool cidr_match(const char *ip, const char *net)
{
	unsigned char a[16], b[16];
	char buf[64];
	const char *slash = strchr(net, '/');
	int fam = strchr(net, ':') ? AF_INET6 : AF_INET, max = fam == AF_INET ? 32 : 128, bits;

	if (!slash || (size_t)(slash - net) >= sizeof(buf))
		return false;
	memcpy(buf, net, (size_t)(slash - net));
	buf[slash - net] = 0;
	bits = atoi(slash + 1);
	if (bits < 0 || bits > max || inet_pton(fam, buf, a) != 1 || inet_pton(fam, ip, b) != 1)
		return false;
	for (int i = 0; i < bits; i++)
		if ((a[i / 8] ^ b[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* match_host_and_ip(): 1 when HOST or IP is in the from= list, 0 when not or negated. */
static int from_match(const char *list, const char *host, const char *ip)
{
	_cleanup_free_ char *copy = strdup(list);
	bool hit = false;
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		bool neg = *p == '!';
		const char *pat = p + neg;
		bool m = strchr(pat, '/')
			     ? cidr_match(ip, pat)
			     : fnmatch(pat, ip, FNM_NOESCAPE) == 0 ||
				   (host && fnmatch(pat, host, FNM_NOESCAPE | FNM_CASEFOLD) == 0);

		if (m && neg)
			return 0;
		hit |= m;
	}
	return hit;
}

static int from_step(struct why *w, const struct user *u, const char *from, const char *file,
		     unsigned lineno, const struct why_client *cl)
{
	char hint[WHY_HINT_MAX], m[WHY_HINT_MAX];
	int r;

	if (!cl || !cl->addr)
		return why_ok(w, "key-options", "from=\"%s\" (no --from: not evaluated)", from) < 0
			   ? -ENOMEM
			   : 1;
	r = from_match(from, cl->host ? cl->host : cl->addr, cl->addr);
	if (r < 0)
		return r;
	if (r)
		return why_ok(w, "key-options", "%s is in from=\"%s\"", cl->addr, from) < 0
			   ? -ENOMEM
			   : 1;
	snprintf(hint, sizeof(hint),
		 "%s:%u allows the key only from %s: log in from there, or add %s to its from=",
		 file, lineno, from, cl->addr);
	snprintf(m, sizeof(m), SSHD_FROM, file, lineno, u->name, cl->host ? cl->host : cl->addr,
		 cl->addr, from);
	r = why_refuse(w, WHY_KEY_OPTION, "key-options", m, hint, "%s",
		       "from= refuses this address");
	return r < 0 ? r : 0;
}

int why_key_options(struct why *w, const struct user *u, const struct key_line *line,
		    const char *file, unsigned lineno, const struct why_client *cl, int64_t now)
{
	_cleanup_free_ char *from = NULL, *expiry = NULL, *principals = NULL;
	char hint[WHY_HINT_MAX];
	int64_t t;
	int r;

	if (!line->options)
		return why_ok(w, "key-options", "none") < 0 ? -ENOMEM : 1;
	if ((r = keyopts_value(line->options, "expiry-time", &expiry)) < 0 ||
	    (r = keyopts_value(line->options, "principals", &principals)) < 0 ||
	    (r = keyopts_value(line->options, "from", &from)) < 0)
		return r;
	if (line->cert_authority && !line->certificate) {
		snprintf(hint, sizeof(hint),
			 "%s:%u marks the key cert-authority: it only signs certificates; log in "
			 "with a certificate it signed, or take cert-authority off the line",
			 file, lineno);
		/* sshd passes over the line for a plain key: the key is not found. */
		r = why_refuse_failed(w, WHY_KEY_OPTION, "key-options", hint,
				      "cert-authority: a plain key is not accepted by this line", u,
				      cl, line);
		return r < 0 ? r : 0;
	}
	if (principals) {
		snprintf(hint, sizeof(hint),
			 "%s:%u has principals= without cert-authority: take principals= off", file,
			 lineno);
		r = why_refuse(w, WHY_KEY_OPTION, "key-options", SSHD_KEY_OPTIONS, hint,
			       "principals=\"%s\" on a key that is no certificate authority",
			       principals);
		return r < 0 ? r : 0;
	}
	if (expiry && keyopts_expiry_time(expiry, &t) == 0 && t < now) {
		snprintf(hint, sizeof(hint),
			 "%s:%u expired (expiry-time=\"%s\"): renew the key's line", file, lineno,
			 expiry);
		r = why_refuse(w, WHY_KEY_OPTION, "key-options", SSHD_KEY_OPTIONS, hint,
			       "expiry-time=\"%s\" is past", expiry);
		return r < 0 ? r : 0;
	}
	if (from)
		return from_step(w, u, from, file, lineno, cl);
	return why_ok(w, "key-options", "%s", line->options) < 0 ? -ENOMEM : 1;
}
