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
#include "sshdlines.h"
#include "strindex.h"
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

/* A file of the walk, read and cut into lines. */
struct cut_memo {
	char *path;
	struct sshd_cut_file file;
};

struct walk {
	int rootfd;
	const char *root_prefix; /* host path of the root, for glob(); "" for "/" */
	sshd_line_fn fn;
	void *userdata;
	char ***files, ***include_dirs;
	unsigned n_included; /* patterns and files, up to SSHD_INCLUDE_MAX */
	/* What each pattern globbed to, once per walk: a file met again globs the same. */
	struct glob_memo {
		char *pattern;
		char **paths;
	} * memo;
	size_t n_memo;
	struct cut_memo **cut; /* each file read, cut into lines, once per walk */
	size_t n_cut;
	char *err;
	size_t errlen;
};

static int walk_file(struct walk *w, const char *path, unsigned depth, unsigned *state);

static int walk_fail(struct walk *w, const char *file, unsigned line, const char *why)
{
	snprintf(w->err, w->errlen, "%s:%u: %s", file, line, why);
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
static int glob_once(struct walk *s, const char *full, char ***ret)
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

static void glob_memo_free(struct walk *s)
{
	for (size_t i = 0; i < s->n_memo; i++) {
		free(s->memo[i].pattern);
		strv_free(s->memo[i].paths);
	}
	free(s->memo);
}

static int walk_include(struct walk *w, const struct sshd_line *l, const char *pattern)
{
	_cleanup_free_ char *full = NULL, *dir = NULL;
	char **paths;
	int r = 0;

	if (l->depth >= SSHD_INCLUDE_DEPTH)
		return walk_fail(w, l->file, l->line, "Include nested too deeply");
	if (++w->n_included > SSHD_INCLUDE_MAX)
		return walk_fail(w, l->file, l->line, SSHD_INCLUDE_TOO_MANY);
	if (asprintf(&dir, "%s%s", pattern[0] == '/' ? "" : "/etc/ssh/", pattern) < 0)
		return -ENOMEM;
	if (*w->root_prefix)
		path_clamp(dir);
	{
		size_t names = 0;

		for (const char *p = dir; (p = strchr(p, '/')); p++)
			names++;
		if (names > SSHD_INCLUDE_COMPONENTS)
			return walk_fail(w, l->file, l->line, SSHD_INCLUDE_TOO_DEEP);
	}
	if (asprintf(&full, "%s%s", w->root_prefix, dir) < 0)
		return -ENOMEM;
	*strrchr(dir, '/') = 0;
	if (w->include_dirs && (r = strv_push_unique(w->include_dirs, *dir ? dir : "/")) < 0)
		return r;
	r = glob_once(w, full, &paths);
	if (r == -EIO)
		return walk_fail(w, l->file, l->line, "Include glob failed");
	if (r < 0)
		return r;
	/* An Include that matches nothing is no error to sshd. */
	for (size_t i = 0; paths[i] && r >= 0; i++) {
		/* The included file starts in the state of the line that includes it, and
		 * whatever it changes stays in it. */
		unsigned child = *l->state;
		const char *path = paths[i] + strlen(w->root_prefix);
		struct sshd_line begin = {
		    .file = path, .depth = l->depth + 1, .args = NULL, .rest = "", .state = &child};

		if (++w->n_included > SSHD_INCLUDE_MAX)
			return walk_fail(w, l->file, l->line, SSHD_INCLUDE_TOO_MANY);
		r = w->fn(w->userdata, &begin);
		if (r >= 0)
			r = walk_file(w, path, l->depth + 1, &child);
	}
	return r;
}

static void cut_memo_free(struct cut_memo *m)
{
	if (m) {
		free(m->path);
		sshd_cut_file_done(&m->file);
		free(m);
	}
}

/* Hand one line to the caller, and walk the files it includes. */
static int walk_line(struct walk *w, const char *path, const struct sshd_cut_line *c,
		     unsigned depth, unsigned *state)
{
	struct sshd_line l = {.file = path,
			      .line = c->lineno,
			      .depth = depth,
			      .args = c->args,
			      .rest = c->rest,
			      .state = state};
	int r;

	if (!c->args)
		return walk_fail(w, path, c->lineno, "unbalanced quote");
	r = w->fn(w->userdata, &l);
	if (r < 0 || strcasecmp(c->args[0], "Include") != 0)
		return r;
	if (!c->args[1])
		return walk_fail(w, path, c->lineno, "Include without an argument");
	for (size_t i = 1; c->args[i] && r >= 0; i++)
		r = walk_include(w, &l, c->args[i]);
	return r;
}

/*
 * PATH read and cut into lines, once per walk: a file met again through Include (up to
 * SSHD_INCLUDE_MAX times) is read and split once. NULL in *RET for a glob result removed
 * meanwhile.
 */
static int file_once(struct walk *w, const char *path, unsigned depth,
		     const struct sshd_cut_file **ret)
{
	_cleanup_close_ int fd = -1;
	struct cut_memo *m;
	char *buf = NULL;
	int r;

	*ret = NULL;
	for (size_t i = 0; i < w->n_cut; i++)
		if (strcmp(w->cut[i]->path, path) == 0) {
			*ret = &w->cut[i]->file;
			return 0;
		}
	r = safe_open_in_root(w->rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);
	if (r < 0)
		return r == -ENOENT && depth > 0 ? 0 : r;
	if (w->files && (r = strv_push_unique(w->files, path)) < 0)
		return r;
	r = safe_read_all(fd, SSHD_CONFIG_MAX, &buf, NULL);
	if (r < 0)
		return r;
	/* Each memo on its own: the file being walked stays where it is while its Include
	 * lines add more. */
	m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path)) || array_room(&w->cut, w->n_cut, sizeof(*w->cut)) < 0) {
		free(buf);
		cut_memo_free(m);
		return -ENOMEM;
	}
	r = sshd_cut_text(buf, &m->file);
	if (r < 0) {
		cut_memo_free(m);
		return r;
	}
	w->cut[w->n_cut++] = m;
	*ret = &m->file;
	return 0;
}

static int walk_file(struct walk *w, const char *path, unsigned depth, unsigned *state)
{
	const struct sshd_cut_file *f;
	int r = file_once(w, path, depth, &f);

	for (size_t i = 0; r >= 0 && f && i < f->n_lines; i++)
		r = walk_line(w, path, &f->lines[i], depth, state);
	return r;
}

int sshd_config_walk(int rootfd, const char *root_prefix, const char *path, sshd_line_fn fn,
		     void *userdata, char ***files, char ***include_dirs, char *err, size_t errlen)
{
	struct walk w = {
	    .rootfd = rootfd,
	    .root_prefix = root_prefix ? root_prefix : "",
	    .fn = fn,
	    .userdata = userdata,
	    .files = files,
	    .include_dirs = include_dirs,
	    .err = err,
	    .errlen = errlen,
	};
	unsigned state = 0;
	struct sshd_line begin = {
	    .file = path ? path : SSHD_CONFIG_PATH, .rest = "", .state = &state};
	int r;

	r = fn(userdata, &begin);
	if (r >= 0)
		r = walk_file(&w, begin.file, 0, &state);
	glob_memo_free(&w);
	for (size_t i = 0; i < w.n_cut; i++)
		cut_memo_free(w.cut[i]);
	free(w.cut);
	if (r == -ENOENT)
		return 0; /* sshd's defaults */
	if (r < 0 && r != -EINVAL)
		snprintf(err, errlen, "%s: %s", path ? path : SSHD_CONFIG_PATH, strerror(-r));
	return r;
}

/* What sshd_config_load() keeps: the state of a file is whether a Match block is open. */
struct load_state {
	struct sshd_config *c;
	bool global_keys_set;
	bool strict_modes_set;
	/* The global AuthorizedKeysFile (its first occurrence), and the paths of every Match
	 * block, each kept apart until the end: a global line after a Match block (an Include
	 * of Match blocks, then the main file's own line) must not drop what the blocks added. */
	char **global_keys;
	size_t n_global;
	char **match_keys;
	size_t n_match;
	/* The paths of match_keys, hashed: a Match block of thousands of paths, met again
	 * through Include, costs their number, not its square. */
	struct strindex *match_seen;
	char *err;
	size_t errlen;
};

#define LOAD_IN_MATCH 1u

static int load_fail(struct load_state *s, const struct sshd_line *l, const char *why)
{
	snprintf(s->err, s->errlen, "%s:%u: %s", l->file, l->line, why);
	return -EINVAL;
}

static int load_keys_file(struct load_state *s, const struct sshd_line *l)
{
	int r;

	if (!l->args[1])
		return load_fail(s, l, "AuthorizedKeysFile without an argument");
	if (!(*l->state & LOAD_IN_MATCH)) {
		/* The first occurrence wins, as sshd reads it. */
		if (s->global_keys_set)
			return 0;
		s->global_keys_set = true;
		for (size_t i = 1; l->args[i]; i++)
			if (strcmp(l->args[i], "none") != 0 &&
			    (r = strv_append(&s->global_keys, &s->n_global, l->args[i],
					     strlen(l->args[i]))) < 0)
				return r;
		return 0;
	}
	if (!s->match_seen && (r = strindex_new(&s->match_seen)) < 0)
		return r;
	for (size_t i = 1; l->args[i]; i++) {
		const char *a = l->args[i];
		size_t len = strlen(a);

		if (strcmp(a, "none") == 0 || strindex_find(s->match_seen, a, len) >= 0)
			continue;
		r = strv_append(&s->match_keys, &s->n_match, a, len);
		if (r >= 0)
			r = strindex_add(s->match_seen, s->match_keys[s->n_match - 1], len,
					 s->n_match - 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * What is watched: the global value (sshd's default without one), then whatever Match
 * blocks add, each path once, into S->c->authorized_keys (an empty list for "none" alone).
 */
static int load_keys_union(struct load_state *s)
{
	_cleanup_(strv_freep) char **out = NULL;
	struct strindex *seen = NULL;
	size_t n = 0;
	int r = strindex_new(&seen);

	if (r >= 0 && !s->global_keys_set)
		for (const char *p = SSHD_DEFAULT_AUTHORIZED_KEYS; r >= 0 && *p;) {
			size_t len = strcspn(p, " ");

			r = strv_append(&s->global_keys, &s->n_global, p, len);
			p += len + strspn(p + len, " ");
		}
	for (size_t pass = 0; pass < 2 && r >= 0; pass++) {
		char **from = pass ? s->match_keys : s->global_keys;

		for (size_t i = 0; r >= 0 && from && from[i]; i++) {
			size_t len = strlen(from[i]);

			if (strindex_find(seen, from[i], len) >= 0)
				continue;
			r = strv_append(&out, &n, from[i], len);
			if (r >= 0)
				r = strindex_add(seen, out[n - 1], len, n - 1);
		}
	}
	strindex_free(seen);
	if (r >= 0 && !out && !(out = calloc(1, sizeof(char *))))
		r = -ENOMEM;
	if (r < 0)
		return r;
	s->c->authorized_keys = TAKE_PTR(out);
	return 0;
}

static int load_line(void *userdata, const struct sshd_line *l)
{
	struct load_state *s = userdata;
	const char *kw = l->line ? l->args[0] : "";

	if (strcasecmp(kw, "Match") == 0) {
		/* "Match all" applies to everyone; any other Match to someone. Either way
		 * its paths count, so the union of all blocks is what we watch. */
		*l->state |= LOAD_IN_MATCH;
		return 0;
	}
	if (strcasecmp(kw, "AuthorizedKeysFile") == 0)
		return load_keys_file(s, l);
	if (strcasecmp(kw, "StrictModes") == 0 && !(*l->state & LOAD_IN_MATCH)) {
		if (!l->args[1])
			return load_fail(s, l, "StrictModes without an argument");
		if (s->strict_modes_set)
			return 0;
		if (strcasecmp(l->args[1], "yes") == 0)
			s->c->strict_modes = true;
		else if (strcasecmp(l->args[1], "no") == 0)
			s->c->strict_modes = false;
		else
			return load_fail(s, l, "StrictModes must be yes or no");
		s->strict_modes_set = true;
	}
	return 0;
}

int sshd_config_load(int rootfd, const char *root_prefix, const char *path, struct sshd_config *ret,
		     char *err, size_t errlen)
{
	struct sshd_config c = {.strict_modes = true};
	struct load_state s = {.c = &c, .err = err, .errlen = errlen};
	int r;

	r = sshd_config_walk(rootfd, root_prefix, path, load_line, &s, &c.files, &c.include_dirs,
			     err, errlen);
	if (r >= 0)
		r = load_keys_union(&s);
	strindex_free(s.match_seen);
	strv_free(s.global_keys);
	strv_free(s.match_keys);
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
