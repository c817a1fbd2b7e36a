/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "macro.h"
#include "safeio.h"
#include "sshdconf.h"
#include "strv.h"

#define SSHD_CONFIG_MAX (4u << 20)
#define SSHD_INCLUDE_DEPTH 16
/*
 * Include patterns and the files they name, in one load: a few files that each include the
 * next many times over would otherwise be read a number of times that grows as a power.
 */
#define SSHD_INCLUDE_MAX 32
/*
 * The directories of one Include pattern: glob() pays for each with a copy of the whole
 * pattern, so that a pattern of thousands costs milliseconds; no path that means something is
 * that deep.
 */
#define SSHD_INCLUDE_COMPONENTS 64
#define STR_(x) #x
#define STR(x) STR_(x)
#define SSHD_INCLUDE_TOO_MANY                                                                      \
	"more than " STR(SSHD_INCLUDE_MAX) " Include patterns and files in all"
#define SSHD_INCLUDE_TOO_DEEP "Include pattern of more than " STR(SSHD_INCLUDE_COMPONENTS) " names"

struct parse_state {
	int rootfd;
	const char *root_prefix; /* host path of the root, for glob(); "" for "/" */
	struct sshd_config *c;
	bool global_keys_set;
	bool strict_modes_set;
	unsigned n_included; /* patterns and files, up to SSHD_INCLUDE_MAX */
	/* What each pattern globbed to, once per load: a file met again globs the same. */
	struct glob_memo {
		char *pattern;
		char **paths;
	} * memo;
	size_t n_memo;
	char *err;
	size_t errlen;
};

int sshd_split_args(const char *line, char ***ret)
{
	char **l = calloc(1, sizeof(char *));
	const char *p = line;
	/* Each word is built here in turn: one buffer for the line, not one for each word. */
	_cleanup_free_ char *w = malloc(strlen(line) + 1);

	if (!l || !w)
		goto nomem;
	for (;;) {
		size_t n = 0;
		char quote = 0;

		p += strspn(p, " \t\r\n");
		if (!*p || *p == '#')
			break;
		for (; *p; p++) {
			if (quote) {
				if (*p == '\\' && (p[1] == quote || p[1] == '\\'))
					w[n++] = *++p;
				else if (*p == quote)
					quote = 0;
				else
					w[n++] = *p;
			} else if (*p == '"' || *p == '\'') {
				quote = *p;
			} else if (*p == '\\' && p[1]) {
				w[n++] = *++p;
			} else if (strchr(" \t\r\n", *p)) {
				break;
			} else {
				w[n++] = *p;
			}
		}
		if (quote) {
			strv_free(l);
			return -EBADMSG;
		}
		w[n] = 0;
		if (strv_push(&l, w) < 0)
			goto nomem;
	}
	*ret = l;
	return 0;
nomem:
	strv_free(l);
	return -ENOMEM;
}

static int parse_file(struct parse_state *s, const char *path, bool in_match, unsigned depth);

static int fail(struct parse_state *s, const char *file, unsigned line, const char *why)
{
	snprintf(s->err, s->errlen, "%s:%u: %s", file, line, why);
	return -EINVAL;
}

/*
 * Resolve "." and ".." in the absolute PATH by its text, never above "/": below a root, glob()
 * must not leave it, as the kernel never goes above "/" either.
 */
static void path_clamp(char *path)
{
	size_t n = 0;

	for (const char *p = path, *e; *p; p = e) {
		p += strspn(p, "/");
		e = p + strcspn(p, "/");
		if (e == p || (e - p == 1 && p[0] == '.'))
			continue;
		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && path[--n] != '/')
				;
			continue;
		}
		path[n++] = '/';
		memmove(path + n, p, (size_t)(e - p));
		n += (size_t)(e - p);
	}
	if (n == 0)
		path[n++] = '/';
	path[n] = 0;
}

/* glob() below a root: "." and ".." are never names it matches (".*" would take it up). */
static struct dirent *readdir_no_dots(void *d)
{
	struct dirent *de;

	while ((de = readdir(d)) && (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0))
		;
	return de;
}

static void *glob_opendir(const char *path)
{
	return opendir(path);
}

static void glob_closedir(void *d)
{
	closedir(d);
}

static int glob_in_root(const char *pattern, glob_t *g)
{
	g->gl_opendir = glob_opendir;
	g->gl_readdir = readdir_no_dots;
	g->gl_closedir = glob_closedir;
	g->gl_lstat = lstat;
	g->gl_stat = stat;
	return glob(pattern, GLOB_ALTDIRFUNC, NULL, g);
}

/* The paths FULL globs to (an empty list for none), globbed once per load; -EIO if glob fails. */
static int glob_once(struct parse_state *s, const char *full, char ***ret)
{
	glob_t g = {0};
	char **paths = NULL;
	int gr, r = 0;

	for (size_t i = 0; i < s->n_memo; i++)
		if (strcmp(s->memo[i].pattern, full) == 0) {
			*ret = s->memo[i].paths;
			return 0;
		}
	gr = *s->root_prefix ? glob_in_root(full, &g) : glob(full, 0, NULL, &g);
	if (gr != 0 && gr != GLOB_NOMATCH) {
		globfree(&g);
		return -EIO;
	}
	paths = calloc(1, sizeof(char *));
	for (size_t i = 0; paths && gr == 0 && i < g.gl_pathc && r >= 0; i++)
		r = strv_push(&paths, g.gl_pathv[i]);
	globfree(&g);
	if (!paths || r < 0 || array_room(&s->memo, s->n_memo, sizeof(*s->memo)) < 0) {
		strv_free(paths);
		return -ENOMEM;
	}
	s->memo[s->n_memo].pattern = strdup(full);
	if (!s->memo[s->n_memo].pattern) {
		strv_free(paths);
		return -ENOMEM;
	}
	s->memo[s->n_memo++].paths = paths;
	*ret = paths;
	return 0;
}

static void glob_memo_free(struct parse_state *s)
{
	for (size_t i = 0; i < s->n_memo; i++) {
		free(s->memo[i].pattern);
		strv_free(s->memo[i].paths);
	}
	free(s->memo);
}

static int do_include(struct parse_state *s, const char *file, unsigned line, const char *pattern,
		      bool in_match, unsigned depth)
{
	_cleanup_free_ char *full = NULL, *dir = NULL;
	char **paths;
	int r = 0;

	if (depth >= SSHD_INCLUDE_DEPTH)
		return fail(s, file, line, "Include nested too deeply");
	if (++s->n_included > SSHD_INCLUDE_MAX)
		return fail(s, file, line, SSHD_INCLUDE_TOO_MANY);
	if (asprintf(&dir, "%s%s", pattern[0] == '/' ? "" : "/etc/ssh/", pattern) < 0)
		return -ENOMEM;
	if (*s->root_prefix)
		path_clamp(dir);
	{
		size_t names = 0;

		for (const char *p = dir; (p = strchr(p, '/')); p++)
			names++;
		if (names > SSHD_INCLUDE_COMPONENTS)
			return fail(s, file, line, SSHD_INCLUDE_TOO_DEEP);
	}
	if (asprintf(&full, "%s%s", s->root_prefix, dir) < 0)
		return -ENOMEM;
	*strrchr(dir, '/') = 0;
	r = strv_push_unique(&s->c->include_dirs, *dir ? dir : "/");
	if (r < 0)
		return r;
	r = glob_once(s, full, &paths);
	if (r == -EIO)
		return fail(s, file, line, "Include glob failed");
	if (r < 0)
		return r;
	/* An Include that matches nothing is no error to sshd. */
	for (size_t i = 0; paths[i] && r >= 0; i++)
		r = ++s->n_included > SSHD_INCLUDE_MAX
			? fail(s, file, line, SSHD_INCLUDE_TOO_MANY)
			: parse_file(s, paths[i] + strlen(s->root_prefix), in_match, depth + 1);
	return r;
}

static int parse_line(struct parse_state *s, const char *file, unsigned line, char **args,
		      bool *in_match, unsigned depth)
{
	const char *kw = args[0];
	int r;

	if (strcasecmp(kw, "Match") == 0) {
		/* "Match all" applies to everyone; any other Match to someone. Either way
		 * its paths count, so the union of all blocks is what we watch. */
		*in_match = true;
		return 0;
	}
	if (strcasecmp(kw, "Include") == 0) {
		if (!args[1])
			return fail(s, file, line, "Include without an argument");
		for (size_t i = 1; args[i]; i++)
			if ((r = do_include(s, file, line, args[i], *in_match, depth)) < 0)
				return r;
		return 0;
	}
	if (strcasecmp(kw, "AuthorizedKeysFile") == 0) {
		if (!args[1])
			return fail(s, file, line, "AuthorizedKeysFile without an argument");
		if (!*in_match) {
			/* The first occurrence wins, as sshd reads it. */
			if (s->global_keys_set)
				return 0;
			s->global_keys_set = true;
			strv_free(s->c->authorized_keys);
			s->c->authorized_keys = calloc(1, sizeof(char *));
			if (!s->c->authorized_keys)
				return -ENOMEM;
		}
		for (size_t i = 1; args[i]; i++)
			if (strcmp(args[i], "none") != 0 &&
			    (r = strv_push_unique(&s->c->authorized_keys, args[i])) < 0)
				return r;
		return 0;
	}
	if (strcasecmp(kw, "StrictModes") == 0 && !*in_match) {
		if (!args[1])
			return fail(s, file, line, "StrictModes without an argument");
		if (s->strict_modes_set)
			return 0;
		if (strcasecmp(args[1], "yes") == 0)
			s->c->strict_modes = true;
		else if (strcasecmp(args[1], "no") == 0)
			s->c->strict_modes = false;
		else
			return fail(s, file, line, "StrictModes must be yes or no");
		s->strict_modes_set = true;
	}
	return 0;
}

static int parse_file(struct parse_state *s, const char *path, bool in_match, unsigned depth)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	unsigned lineno = 0;
	char *p, *nl;
	int r;

	r = safe_open_in_root(s->rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);
	if (r < 0) {
		if (r == -ENOENT && depth > 0)
			return 0; /* a glob result removed meanwhile */
		return r;
	}
	r = strv_push_unique(&s->c->files, path);
	if (r < 0)
		return r;
	r = safe_read_all(fd, SSHD_CONFIG_MAX, &buf, NULL);
	if (r < 0)
		return r;
	for (p = buf; *p; p = nl + 1) {
		char **args = NULL;

		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		/* "Keyword=value" is accepted by sshd too. */
		{
			char *eq = p + strspn(p, " \t");
			eq += strcspn(eq, " \t=");
			if (*eq == '=')
				*eq = ' ';
		}
		r = sshd_split_args(p, &args);
		if (r == -EBADMSG)
			return fail(s, path, lineno, "unbalanced quote");
		if (r < 0)
			return r;
		if (args[0])
			r = parse_line(s, path, lineno, args, &in_match, depth);
		strv_free(args);
		if (r < 0)
			return r;
		if (!nl)
			break;
	}
	return 0;
}

int sshd_config_load(int rootfd, const char *root_prefix, const char *path, struct sshd_config *ret,
		     char *err, size_t errlen)
{
	struct sshd_config c = {.strict_modes = true};
	struct parse_state s = {
	    .rootfd = rootfd,
	    .root_prefix = root_prefix ? root_prefix : "",
	    .c = &c,
	    .err = err,
	    .errlen = errlen,
	};
	int r;

	r = parse_file(&s, path ? path : SSHD_CONFIG_PATH, false, 0);
	glob_memo_free(&s);
	if (r == -ENOENT)
		r = 0;
	else if (r < 0 && r != -EINVAL)
		snprintf(err, errlen, "%s: %s", path ? path : SSHD_CONFIG_PATH, strerror(-r));
	if (r >= 0 && !s.global_keys_set) {
		/* sshd's default goes first, then whatever Match blocks add. */
		char **def = NULL, **m = c.authorized_keys;

		r = strv_split_ws(&def, SSHD_DEFAULT_AUTHORIZED_KEYS);
		for (size_t i = 0; r >= 0 && m && m[i]; i++)
			r = strv_push_unique(&def, m[i]);
		strv_free(c.authorized_keys);
		c.authorized_keys = def;
	}
	if (r < 0) {
		sshd_config_done(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void sshd_config_done(struct sshd_config *c)
{
	strv_free(c->authorized_keys);
	strv_free(c->files);
	strv_free(c->include_dirs);
	*c = (struct sshd_config){0};
}

/*
 * Expand PATTERN's tokens for U into OUT (at most CAP bytes, not terminated); the length
 * the whole expansion needs, or -EINVAL for an unknown token.
 */
static ssize_t expand_tokens(const char *pattern, const struct user *u, char *out, size_t cap)
{
	char uid[24];
	size_t len = 0;

	snprintf(uid, sizeof(uid), "%lu", (unsigned long)u->uid);
	for (const char *p = pattern; *p; p++) {
		const char *add = p;
		size_t n = 1;

		if (*p == '%') {
			switch (*++p) {
			case '%':
				add = p;
				break;
			case 'h':
				add = u->home;
				n = strlen(add);
				break;
			case 'u':
				add = u->name;
				n = strlen(add);
				break;
			case 'U':
				add = uid;
				n = strlen(add);
				break;
			default:
				return -EINVAL;
			}
		}
		if (out && len + n <= cap)
			memcpy(out + len, add, n);
		len += n;
	}
	return (ssize_t)len;
}

int sshd_expand_authorized_keys(const char *pattern, const struct user *u, char **ret)
{
	ssize_t n = expand_tokens(pattern, u, NULL, 0);
	const char *h = u->home;
	size_t hl = strlen(h), sep;
	char *out;

	if (n < 0)
		return (int)n;
	out = malloc((size_t)n + 1);
	if (!out)
		return -ENOMEM;
	(void)expand_tokens(pattern, u, out, (size_t)n);
	out[n] = 0;
	if (out[0] != '/') {
		/* Relative to the home, as sshd takes it. */
		char *abs;

		sep = hl && h[hl - 1] == '/' ? 0 : 1;
		abs = malloc(hl + sep + (size_t)n + 1);
		if (!abs) {
			free(out);
			return -ENOMEM;
		}
		memcpy(abs, h, hl);
		if (sep)
			abs[hl] = '/';
		memcpy(abs + hl + sep, out, (size_t)n + 1);
		free(out);
		out = abs;
	}
	*ret = out;
	return 0;
}
