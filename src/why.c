/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <getopt.h>
#include <string.h>
#include <time.h>
#include "chain.h"
#include "engine.h"
#include "escape.h"
#include "macro.h"
#include "relabel.h"
#include "strv.h"
#include "verdict.h"
#include "why.h"
#include "whyask.h"

#define WHY_USAGE                                                                                  \
	"Usage: sshmend [--root DIR] [--config FILE] why USER [--key FILE|-] [--from ADDR] "       \
	"[--json]\n"
/* What a binary KRL starts with (PROTOCOL.krl). */
#define KRL_MAGIC "SSHKRL\n\0"
#define KRL_MAGIC_LEN 8
#define SECONDS_PER_DAY 86400

/* One keys file of the user, as sshd would take it. */
struct keys_file {
	char *path;
	bool read;	 /* sshd reads it: the verdict accepts it and it exists */
	bool refused;	 /* the verdict refuses it */
	char *message;	 /* sshd's words, when refused */
	char *denied;	 /* an element of its chain the SELinux policy keeps sshd from */
	char *label;	 /* that element's label and the policy's, when denied */
	bool holds_keys; /* a valid key line stands in it */
};

struct walk {
	const struct engine *e;
	const struct user *u;
	const struct sshd_settings *s;
	struct why_client cl;
	const struct key_line *offered; /* NULL: any key found */
	const char *revoked;
	size_t revoked_len;
	const char *revoked_err;
	struct keys_file *files;
	size_t n_files;
	const struct why_shadow *sh;
	int64_t now;
	struct why *w;
};

/* Move SRC's steps and verdict into DST, which has not refused yet. */
static void why_take(struct why *dst, struct why *src)
{
	for (size_t i = 0; i < src->n_steps; i++) {
		if (array_room(&dst->steps, dst->n_steps, sizeof(*dst->steps)) < 0)
			break;
		dst->steps[dst->n_steps++] = src->steps[i];
		src->steps[i] = (struct why_step){0};
	}
	dst->cause = src->cause;
	dst->accepts = src->cause == WHY_ACCEPTED;
	free(dst->sshd_message);
	free(dst->hint);
	dst->sshd_message = TAKE_PTR(src->sshd_message);
	dst->hint = TAKE_PTR(src->hint);
	why_done(src);
}

/* The verdict on each keys file sshd would look at, as check gives it. */
static int judge_files(struct walk *k)
{
	struct chain home;
	struct verdict_input vin = {.db = k->e->db,
				    .user = k->u,
				    .strict_modes = k->s->strict_modes,
				    .flavor = k->e->flavor};
	char *const *pats = k->s->authorized_keys_files;
	int r = chain_resolve(k->e->rootfd, k->u->home, NULL, &home);

	if (r < 0)
		return r;
	if (home.status == CHAIN_OK && S_ISDIR(chain_last(&home)->st.st_mode))
		vin.home_realpath = chain_last(&home)->path;
	for (size_t i = 0; r >= 0 && pats && pats[i]; i++) {
		struct keys_file *f;
		struct verdict v;
		struct chain c;

		if (strcmp(pats[i], "none") == 0)
			continue;
		if ((r = array_room(&k->files, k->n_files, sizeof(*k->files))) < 0)
			break;
		f = &k->files[k->n_files];
		*f = (struct keys_file){0};
		if (sshd_expand_authorized_keys(pats[i], k->u, &f->path) < 0)
			continue;
		k->n_files++;
		if ((r = chain_resolve(k->e->rootfd, f->path, NULL, &c)) < 0)
			break;
		verdict_keys_file(&vin, f->path, &c, &v);
		f->refused = !v.accepts;
		f->read = v.accepts && c.status == CHAIN_OK && S_ISREG(chain_last(&c)->st.st_mode);
		if (f->refused && !(f->message = strdup(v.message)))
			r = -ENOMEM;
		else if (!f->refused &&
			 (r = relabel_denied(k->e->labels, &c, &f->denied, &f->label)) > 0) {
			f->refused = true;
			f->read = false;
			r = 0;
		}
		chain_done(&c);
	}
	chain_done(&home);
	return r;
}

static enum why_cause file_cause(const struct keys_file *f)
{
	if (f->label)
		return WHY_KEYS_UNREADABLE;
	return strncmp(f->message, "Authentication refused:", 23) == 0 ? WHY_STRICT_MODES
								       : WHY_KEYS_UNREADABLE;
}

static int refuse_file(struct walk *k, const struct keys_file *f)
{
	char hint[4400];

	/* sshd logs no line of its own for an SELinux denial (before 9.1): the open just fails. */
	if (f->label) {
		snprintf(hint, sizeof(hint),
			 "the enforcing SELinux policy keeps sshd from %s: sshmend fix %s (or "
			 "restorecon -v %s) restores its label",
			 f->denied, k->u->name, f->denied);
		return why_refuse(k->w, WHY_KEYS_UNREADABLE, "keys-file", NULL, hint, "%s",
				  f->label);
	}
	snprintf(hint, sizeof(hint),
		 "sshd does not read %s: sshmend check %s says what is wrong, sshmend fix %s "
		 "repairs it",
		 f->path, k->u->name, k->u->name);
	return why_refuse(k->w, file_cause(f), "keys-file", f->message, hint, "%s", f->path);
}

/* The lines of the keys files that hold a key: the offered one, or any. */
struct candidate {
	struct key_line key;
	const char *file;
	unsigned lineno;
	bool refused;
};

struct collect {
	struct walk *k;
	const char *file;
	struct candidate *c;
	size_t n;
	bool any;
};

static int on_candidate(void *userdata, const struct key_line *line, unsigned lineno, bool refused)
{
	struct collect *col = userdata;
	const struct key_line *want = col->k->offered;
	struct candidate *c;

	if (line->certificate)
		return 0; /* sshd never takes a certificate from a keys file */
	col->any = true;
	if (want && strcmp(want->fingerprint, line->fingerprint) != 0)
		return 0;
	if (array_room(&col->c, col->n, sizeof(*col->c)) < 0)
		return -ENOMEM;
	c = &col->c[col->n];
	*c = (struct candidate){.file = col->file, .lineno = lineno, .refused = refused};
	c->key = *line;
	/* The callee frees the line: keep copies. */
	c->key.options = line->options ? strdup(line->options) : NULL;
	c->key.type = strdup(line->type);
	c->key.comment = NULL;
	c->key.blob = NULL;
	c->key.blob_len = 0;
	if (!c->key.type || (line->options && !c->key.options)) {
		key_line_done(&c->key);
		return -ENOMEM;
	}
	col->n++;
	return 0;
}

/* sshd's steps after finding the key on a line: its options, root, a second method. */
static int try_line(struct walk *k, const struct candidate *c, struct why *out)
{
	int r;

	if (!k->offered) {
		r = why_offered_key(out, &c->key, k->s, k->revoked, k->revoked_len, k->revoked_err);
		if (r <= 0)
			return r;
	}
	r = why_ok(out, "key", "%s %s at %s:%u", why_key_type_name(c->key.type), c->key.fingerprint,
		   c->file, c->lineno);
	if (r < 0)
		return r;
	r = why_key_options(out, k->u, &c->key, c->file, c->lineno, &k->cl, k->now);
	if (r <= 0)
		return r;
	r = why_after_key(out, k->u, k->offered ? k->offered : &c->key, k->s, &k->cl);
	if (r <= 0)
		return r;
	return why_pam_account(out, k->u, k->sh, k->s, (long)(k->now / SECONDS_PER_DAY));
}

/* The first line that lets the key in, or the first refusal. */
static int try_candidates(struct walk *k, struct collect *col)
{
	struct why first = {.accepts = true};
	int r = 0;

	for (size_t i = 0; i < col->n; i++) {
		struct why one = {.accepts = true};

		r = try_line(k, &col->c[i], &one);
		if (r < 0) {
			why_done(&one);
			break;
		}
		if (one.cause == WHY_ACCEPTED) {
			why_done(&first);
			why_take(k->w, &one);
			return 0;
		}
		if (i == 0)
			first = one;
		else
			why_done(&one);
	}
	if (r >= 0)
		why_take(k->w, &first);
	else
		why_done(&first);
	return r;
}

static int key_not_found(struct walk *k, bool any)
{
	_cleanup_free_ char *elsewhere = NULL, *gone = NULL, *gone_hint = NULL;
	char buf[4400];
	int r;

	/* A file sshd refuses may be where the key stands. */
	for (size_t i = 0; i < k->n_files; i++) {
		struct collect col = {.k = k, .file = k->files[i].path};

		if (!k->files[i].refused)
			continue;
		r = why_scan_file(k->e->rootfd, k->files[i].path, on_candidate, &col);
		for (size_t j = 0; j < col.n; j++)
			key_line_done(&col.c[j].key);
		free(col.c);
		if (r == -ENOMEM)
			return r;
		if (col.n || (!k->offered && col.any))
			return refuse_file(k, &k->files[i]);
	}
	if (!k->offered) {
		for (size_t i = 0; i < k->n_files; i++)
			if (k->files[i].refused)
				return refuse_file(k, &k->files[i]);
		snprintf(
		    buf, sizeof(buf),
		    "add a public key to ~%s/.ssh/authorized_keys, or approve one in the drop-in "
		    "directory and run sshmend fix %s",
		    k->u->name, k->u->name);
		return why_refuse(k->w, WHY_NO_KEYS, "key", NULL, buf,
				  "no keys file sshd reads holds a key");
	}
	/* Whose key is it? Only asked here: the daemon's index, or every user's keys files. */
	r = whyask_users_with_key(k->e, k->e->keys_files, k->u->name, k->offered, WHY_HINT_USERS,
				  &k->w->authorized_for);
	if (r < 0)
		return r;
	if (k->w->authorized_for) {
		_cleanup_free_ char *names = NULL;

		if (why_join_names(k->w->authorized_for, &names) < 0)
			return -ENOMEM;
		if (asprintf(&elsewhere, "the key is authorized for %s, not %s: log in as %s",
			     names, k->u->name, k->w->authorized_for[0]) < 0)
			return -ENOMEM;
	} else if ((r = why_key_elsewhere(k->e, k->u->name, k->offered->fingerprint, &elsewhere)) <
		       0 ||
		   (r = why_key_gone(k->e, k->u->name, k->offered->fingerprint, &gone_hint,
				     &gone)) < 0) {
		return r;
	}
	if (!elsewhere)
		elsewhere = TAKE_PTR(gone_hint);
	if (!elsewhere && k->s->authorized_keys_command &&
	    asprintf(&elsewhere,
		     "the key is in no keys file; AuthorizedKeysCommand %s may give it, which "
		     "sshmend does not run",
		     k->s->authorized_keys_command) < 0)
		return -ENOMEM;
	return why_key_removed(k->w, k->u, k->offered, &k->cl, any, elsewhere, gone);
}

/* The keys files, then the key in them. */
static int walk_keys(struct walk *k)
{
	struct collect col = {.k = k};
	int r = judge_files(k);

	if (r < 0)
		return r;
	for (size_t i = 0; i < k->n_files; i++) {
		struct keys_file *f = &k->files[i];

		if (!f->read) {
			r = f->refused ? 0
				       : why_ok(k->w, "keys-file", "%s: does not exist", f->path);
			if (r < 0)
				break;
			continue;
		}
		col.file = f->path;
		r = why_scan_file(k->e->rootfd, f->path, on_candidate, &col);
		if (r < 0 && r != -ENOENT)
			break;
		r = why_ok(k->w, "keys-file", "%s: read by sshd", f->path);
		if (r < 0)
			break;
	}
	if (r >= 0 && k->s->authorized_keys_command)
		r = why_ok(k->w, "keys-command",
			   "AuthorizedKeysCommand %s: not run by sshmend, its keys are not seen",
			   k->s->authorized_keys_command);
	if (r >= 0 && col.n)
		r = try_candidates(k, &col);
	else if (r >= 0)
		r = key_not_found(k, col.any);
	for (size_t i = 0; i < col.n; i++)
		key_line_done(&col.c[i].key);
	free(col.c);
	return r;
}

/* The revoked keys file, as sshd would read it. */
static int load_revoked(struct walk *k, char **text, char *err, size_t errlen)
{
	size_t len = 0;
	int r;

	if (!k->s->revoked_keys)
		return 0;
	r = why_read_file(k->e->rootfd, k->s->revoked_keys, KEYS_FILE_MAX, text, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		k->revoked_err = err;
	} else if (len >= KRL_MAGIC_LEN && memcmp(*text, KRL_MAGIC, KRL_MAGIC_LEN) == 0) {
		k->revoked = NULL; /* a KRL: not evaluated */
	} else {
		k->revoked = *text;
		k->revoked_len = len;
	}
	return 0;
}

/* The user's group names, for Match Group and AllowGroups. */
static int group_names(const struct engine *e, const struct user *u, char ***ret)
{
	_cleanup_(strv_freep) char **l = NULL;
	const struct group_entry *g = userdb_group(e->db, u->gid);
	int r;

	if (g && (r = strv_push_unique(&l, g->name)) < 0)
		return r;
	for (size_t i = 0; i < u->n_groups; i++) {
		g = userdb_group(e->db, u->groups[i]);
		if (g && (r = strv_push_unique(&l, g->name)) < 0)
			return r;
	}
	if (!l && !(l = calloc(1, sizeof(char *))))
		return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

struct why_args {
	const char *user;
	const char *key_path;
	const char *from;
	bool json;
};

static int walk_user(const struct engine *e, const struct user *u, const struct why_args *a,
		     const struct key_line *key, struct why *w, char *err, size_t errlen)
{
	_cleanup_(strv_freep) char **groups = NULL;
	_cleanup_free_ char *revoked = NULL;
	char revoked_err[256];
	struct sshd_settings s = {0};
	struct why_shadow sh = {0};
	struct walk k = {.e = e, .u = u, .s = &s, .offered = key, .w = w, .sh = &sh};
	struct sshd_conn conn = {.user = u->name, .addr = a->from, .host = a->from};
	int r;

	k.cl = (struct why_client){.addr = a->from, .host = a->from};
	k.now = (int64_t)time(NULL);
	if ((r = group_names(e, u, &groups)) < 0)
		return r;
	conn.groups = (const char *const *)groups;
	r = sshd_settings_eval(e->rootfd, e->root, NULL, &conn, NULL, &s, err, errlen);
	if (r < 0)
		return r;
	r = why_ok(w, "user", "%s (uid %u, home %s)", u->name, (unsigned)u->uid, u->home);
	if (r >= 0)
		r = why_shadow_load(e->rootfd, !e->root, u->name, &sh, err, errlen);
	if (r >= 0)
		r = why_account(w, e->rootfd, u, &sh, &s, (long)(k.now / SECONDS_PER_DAY));
	if (r > 0)
		r = why_access(w, u, &s, &conn);
	if (r > 0 && key)
		r = load_revoked(&k, &revoked, revoked_err, sizeof(revoked_err));
	if (r >= 0 && key && !w->cause)
		r = why_offered_key(w, key, &s, k.revoked, k.revoked_len, k.revoked_err);
	if (r > 0 && !key)
		r = load_revoked(&k, &revoked, revoked_err, sizeof(revoked_err)) < 0 ? -ENOMEM : 1;
	if (r > 0)
		r = walk_keys(&k);
	for (size_t i = 0; i < k.n_files; i++) {
		free(k.files[i].path);
		free(k.files[i].message);
		free(k.files[i].denied);
		free(k.files[i].label);
	}
	free(k.files);
	why_shadow_done(&sh);
	sshd_settings_done(&s);
	return r < 0 ? r : 0;
}

/* A name sshd could be asked for: not empty, no '/', not "." or "..", no control character. */
static bool user_name_valid(const char *n)
{
	if (!*n || *n == '-' || strchr(n, '/') || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return false;
	for (const char *p = n; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ':')
			return false;
	return true;
}

static bool address_valid(const char *a)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1;
}

static int parse_args(int argc, char **argv, struct why_args *a)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"from", required_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			a->key_path = optarg;
			break;
		case 'f':
			a->from = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			fputs(WHY_USAGE, stdout);
			return 1;
		default:
			fputs(WHY_USAGE, stderr);
			return -EINVAL;
		}
	}
	if (argc - optind != 1) {
		escape_say("why takes one user");
		fputs(WHY_USAGE, stderr);
		return -EINVAL;
	}
	a->user = argv[optind];
	if (a->from && !address_valid(a->from)) {
		escape_say("--from '%s' is not an IPv4 or IPv6 address", a->from);
		return -EINVAL;
	}
	if (!user_name_valid(a->user)) {
		escape_say("'%s' is not a user name", a->user);
		return -EINVAL;
	}
	return 0;
}

static int answer(const struct cli_options *o, const struct why_args *a, const struct key_line *key,
		  struct why *w)
{
	struct engine *e = NULL;
	char err[4400] = "";
	const struct user *u;
	int r = engine_open(o->root, o->config, &e, err, sizeof(err));

	if (r < 0) {
		escape_say("%s", *err ? err : strerror(-r));
		return r;
	}
	u = userdb_by_name(e->db, a->user);
	w->accepts = true;
	if (key && !u)
		r = whyask_users_with_key(e, e->keys_files, a->user, key, WHY_HINT_USERS,
					  &w->authorized_for);
	if (r >= 0 && !u) {
		_cleanup_free_ char *hint = NULL;
		struct why_client cl = {.addr = a->from};

		r = why_unknown_hint(e, a->user, w->authorized_for, whyask_users_with_key, &hint);
		if (r >= 0)
			r = why_unknown_user(w, a->user, &cl, hint);
	} else if (r >= 0)
		r = walk_user(e, u, a, key, w, err, sizeof(err));
	if (r < 0)
		escape_say("%s", *err ? err : strerror(-r));
	engine_free(e);
	return r;
}

int why_command(const struct cli_options *o, int argc, char **argv)
{
	struct why_args a = {0};
	struct key_line key = {0};
	struct why w = {0};
	int r = parse_args(argc, argv, &a);

	if (r)
		return r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (a.key_path && why_read_key(a.key_path, &key) < 0)
		return CLI_EXIT_USAGE;
	r = answer(o, &a, a.key_path ? &key : NULL, &w);
	key_line_done(&key);
	if (r < 0) {
		why_done(&w);
		return CLI_EXIT_USAGE;
	}
	if (a.json)
		why_print_json(stdout, a.user, &w);
	else
		why_print_human(stdout, a.user, &w);
	r = w.accepts ? CLI_EXIT_OK : CLI_EXIT_DRIFT;
	why_done(&w);
	return r;
}
