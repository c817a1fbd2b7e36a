/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "macro.h"
#include "sshdalgs.h"
#include "sshdeval.h"
#include "sshdmatch.h"
#include "sshdvalue.h"
#include "strv.h"

static const char *const flag_words[] = {"yes", "no"};
static const char *const root_words[] = {"yes", "prohibit-password", "without-password",
					 "forced-commands-only", "no"};
/* sshd's log levels; DEBUG1 is DEBUG, and Debian's sshd also takes SILENT for QUIET. */
static const char *const log_levels[] = {"QUIET", "FATAL",  "ERROR",  "INFO",	"VERBOSE",
					 "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", "SILENT"};
/* The methods AuthenticationMethods may name (auth2.c authmethods[]). */
static const char *const methods[] = {
    "none", "publickey", "gssapi-with-mic", "password", "keyboard-interactive", "hostbased"};

static int bad(char *why, size_t whylen, const char *fmt, ...) _printf_(3, 4);
static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int word_index(const char *const *words, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(words[i], w) == 0)
			return (int)i;
	return -1;
}

/* A number as sshd takes it: 0 to INT_MAX, in decimal. */
static int int_parse(const char *s, int *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > 0x7fffffff)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

bool sshd_methods_valid(const char *list, bool (*on)(const char *method, void *userdata),
			void *userdata)
{
	_cleanup_free_ char *copy = strdup(list);
	char *m, *next;

	if (!copy || !*copy)
		return false;
	for (m = copy; m; m = next) {
		size_t i;

		next = strchr(m, ',');
		if (next)
			*next++ = 0;
		m[strcspn(m, ":")] = 0;
		for (i = 0; i < ELEMENTSOF(methods) && strcmp(methods[i], m) != 0; i++)
			;
		if (i == ELEMENTSOF(methods))
			return false;
		if (on && !on(m, userdata))
			return false;
	}
	return true;
}

static int parse_methods(char *const *args, char *why, size_t whylen)
{
	bool any = false;

	for (size_t i = 1; args[i]; i++) {
		if (strcmp(args[i], "any") == 0) {
			if (i > 1)
				return bad(why, whylen, "\"any\" must appear alone in %s", args[0]);
			any = true;
		} else if (any) {
			return bad(why, whylen, "\"any\" must appear alone in %s", args[0]);
		} else if (!sshd_methods_valid(args[i], NULL, NULL)) {
			return bad(why, whylen, "invalid %s method list.", args[0]);
		}
	}
	return 0;
}

/* Patterns or files: every word, none empty. */
static int parse_words(enum sshd_kind kind, char *const *args, unsigned version, char *why,
		       size_t whylen)
{
	for (size_t i = 1; args[i]; i++) {
		if (!*args[i])
			return bad(why, whylen, "keyword %s empty argument", args[0]);
		if (kind == SSHD_USERS && sshd_match_user(NULL, NULL, NULL, args[i]) < 0)
			return bad(why, whylen, "invalid %s pattern: \"%s\"", args[0], args[i]);
		if (kind == SSHD_FILES && version >= SSHD_VERSION_10_3 &&
		    strcasecmp(args[i], "none") == 0 && (i > 1 || args[i + 1]))
			return bad(why, whylen, "keyword %s \"none\" argument must appear alone.",
				   args[0]);
	}
	return 0;
}

/* The value of one word of KIND as sshd keeps it, in BUF; or NULL for a bad word. */
static const char *parse_word(enum sshd_kind kind, const char *w, char *buf, size_t len)
{
	int i, n;

	switch (kind) {
	case SSHD_FLAG:
		i = word_index(flag_words, ELEMENTSOF(flag_words), w);
		return i < 0 ? NULL : flag_words[i];
	case SSHD_ROOT:
		i = word_index(root_words, ELEMENTSOF(root_words), w);
		return i < 0 ? NULL : i == 2 ? "prohibit-password" : root_words[i];
	case SSHD_LOG_LEVEL:
		i = word_index(log_levels, ELEMENTSOF(log_levels), w);
		return i < 0 ? NULL : i == 6 ? "DEBUG" : i == 9 ? "QUIET" : log_levels[i];
	case SSHD_INT:
		if (int_parse(w, &n) < 0)
			return NULL;
		snprintf(buf, len, "%d", n);
		return buf;
	case SSHD_PATH:
		if (strcasecmp(w, "none") == 0)
			return "none";
		/* Relative to where sshd started: "/" for a service. */
		snprintf(buf, len, "%s%s", w[0] == '/' ? "" : "//", w);
		return buf;
	default:
		return w;
	}
}

int sshd_value_parse(enum sshd_kind kind, char *const *args, const char *rest, unsigned version,
		     char *const *all, char ***ret, char *why, size_t whylen)
{
	char buf[4200];
	const char *v = args[1];
	int r;

	switch (kind) {
	case SSHD_USERS:
	case SSHD_GROUPS:
	case SSHD_FILES:
	case SSHD_METHODS:
		r = kind == SSHD_METHODS ? parse_methods(args, why, whylen)
					 : parse_words(kind, args, version, why, whylen);
		for (size_t i = 1; r >= 0 && args[i]; i++)
			r = strv_push(ret, args[i]);
		return r;
	case SSHD_COMMAND:
		if (rest[0] != '/' && strcasecmp(rest, "none") != 0)
			return bad(why, whylen, "%s must be an absolute path", args[0]);
		return strv_push(ret, rest);
	default:
		break;
	}
	/* One word, and nothing after it. */
	if (args[2])
		return bad(why, whylen, "keyword %s extra arguments at end of line", args[0]);
	if (!*v)
		return bad(why, whylen, "missing %s argument", args[0]);
	if (kind == SSHD_ALGORITHMS) {
		if (*v != '-' && !sshd_algorithms_valid(*v == '+' || *v == '^' ? v + 1 : v, all))
			return bad(why, whylen, "Bad key types '%s'.", v);
		return strv_push(ret, v);
	}
	v = parse_word(kind, v, buf, sizeof(buf));
	if (!v)
		return bad(why, whylen, "unsupported option \"%s\".", args[1]);
	return strv_push(ret, v);
}
