/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <shadow.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "audit.h"
#include "base64.h"
#include "dropin.h"
#include "keyopts.h"
#include "macro.h"
#include "safeio.h"
#include "strv.h"
#include "whyhomes.h"
#include "whyscan.h"

/* The first read of a keys file looked through for another user's key. */
#define WHY_SCAN_HEAD (16u << 10)
/* The shadow file read whole: 10,000 users take about 1 MiB. */
#define SHADOW_MAX (64u << 20)
/* A key the quarantine took at most this long (s) before the audit saw it gone went there. */
#define WHY_QUARANTINE_SLACK 60

int why_read_file(int rootfd, const char *path, size_t max, char **ret, size_t *len)
{
	_cleanup_close_ int fd = -1;
	int r = safe_open_in_root(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);

	if (r < 0)
		return r;
	return safe_read_all(fd, max, ret, len);
}

/* The field I (0-based) of the ':'-separated LINE of LEN bytes, as a new string. */
static char *field(const char *line, size_t len, unsigned i)
{
	const char *p = line, *end = line + len;

	for (; i > 0 && p < end; i--) {
		const char *c = memchr(p, ':', (size_t)(end - p));

		if (!c)
			return NULL;
		p = c + 1;
	}
	if (i > 0)
		return NULL;
	return strndup(p, strcspn(p, ":\n") < (size_t)(end - p) ? strcspn(p, ":\n")
								: (size_t)(end - p));
}

static int shadow_from_text(const char *text, size_t len, const char *user, struct why_shadow *ret)
{
	size_t ul = strlen(user);

	for (size_t at = 0; at < len;) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) : len - at;
		_cleanup_free_ char *expire = NULL;

		at += n + 1;
		if (n <= ul || memcmp(line, user, ul) != 0 || line[ul] != ':')
			continue;
		ret->found = true;
		ret->password = field(line, n, 1);
		expire = field(line, n, 7);
		ret->expire_day = expire && *expire ? strtol(expire, NULL, 10) : -1;
		return ret->password ? 0 : -ENOMEM;
	}
	return 0;
}

int why_shadow_load(int rootfd, bool live, const char *user, struct why_shadow *ret, char *err,
		    size_t errlen)
{
	_cleanup_free_ char *text = NULL;
	struct spwd *sp;
	size_t len;
	int r;

	*ret = (struct why_shadow){.expire_day = -1};
	r = why_read_file(rootfd, "/etc/shadow", SHADOW_MAX, &text, &len);
	if (r >= 0) {
		r = shadow_from_text(text, len, user, ret);
		if (r < 0 || ret->found || !live)
			return r;
	} else if (r != -ENOENT) {
		snprintf(err, errlen, "/etc/shadow: %s", strerror(-r));
		return r;
	} else if (!live) {
		return 0; /* no shadow file: no entry, as sshd's getspnam() finds none */
	}
	/* Not in the file: NSS may know it (LDAP, SSSD). */
	errno = 0;
	sp = getspnam(user);
	if (!sp)
		return 0;
	ret->found = true;
	ret->expire_day = sp->sp_expire;
	ret->password = strdup(sp->sp_pwdp ? sp->sp_pwdp : "");
	return ret->password ? 0 : -ENOMEM;
}

void why_shadow_done(struct why_shadow *s)
{
	free(s->password);
	s->password = NULL;
}

/* A line sshd refuses for an option: the key after the options, for the caller to name it. */
static int refused_line_key(const char *line, size_t n, struct key_line *k)
{
	const char *p = line + strspn(line, " \t"), *stop;
	bool unbalanced;
	_cleanup_free_ char *copy = strndup(p, n - (size_t)(p - line));

	if (!copy)
		return -ENOMEM;
	stop = keyopts_end(copy, &unbalanced);
	if (unbalanced || !*stop)
		return -EINVAL;
	if (key_parse_line(stop, strlen(stop), 0, k, NULL, 0) != 0)
		return -EINVAL;
	k->options = strndup(copy, (size_t)(stop - copy));
	return k->options ? 0 : -ENOMEM;
}

int why_scan_text(const char *text, size_t len, why_line_fn fn, void *userdata)
{
	unsigned lineno = 0;

	for (size_t at = 0; at < len;) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t n = nl ? (size_t)(nl - line) : len - at;
		struct key_line k;
		bool refused = false;
		int r;

		at += n + 1;
		lineno++;
		r = key_parse_line(line, n, 0, &k, NULL, 0);
		if (r == -EKEYREJECTED) {
			refused = true;
			r = refused_line_key(line, n, &k);
			if (r == -ENOMEM)
				return r;
		}
		if (r != 0)
			continue;
		r = fn(userdata, &k, lineno, refused);
		key_line_done(&k);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return 0;
}

int why_scan_file(int rootfd, const char *path, why_line_fn fn, void *userdata)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = why_read_file(rootfd, path, KEYS_FILE_MAX, &text, &len);

	if (r < 0)
		return r;
	return why_scan_text(text, len, fn, userdata);
}

struct has_key {
	const char *fp;
	bool hit;
};

static int on_line(void *userdata, const struct key_line *k, unsigned lineno, bool refused)
{
	struct has_key *h = userdata;

	(void)lineno;
	if (!why_line_counts(k, refused) || (h->fp && strcmp(h->fp, k->fingerprint) != 0))
		return 0;
	h->hit = true;
	return 1;
}

/*
 * Does the keys file PATH hold the key (FP; any key when NULL)? Most keys files are small: one
 * read, and a key whose base64 text (B64) is not in it is not there, with no line parsed.
 */
static int file_has_key(int rootfd, const char *path, const char *fp, const char *b64, bool *ret)
{
	_cleanup_close_ int fd = -1;
	char buf[WHY_SCAN_HEAD];
	struct has_key h = {.fp = fp};
	ssize_t n;
	int r;

	*ret = false;
	r = safe_open_in_root(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return 0;
	if ((size_t)n == sizeof(buf) - 1) {
		r = why_scan_file(rootfd, path, on_line, &h); /* a large file: read it whole */
		*ret = h.hit;
		return r == -ENOMEM ? r : 0;
	}
	buf[n] = 0;
	if (b64 && !strstr(buf, b64))
		return 0;
	r = why_scan_text(buf, (size_t)n, on_line, &h);
	*ret = h.hit;
	return r;
}

int why_users_with_key(const struct engine *e, char *const *patterns, const char *except,
		       const struct key_line *key, size_t max, const struct why_known *known,
		       char ***ret)
{
	_cleanup_(strv_freep) char **names = NULL;
	_cleanup_(why_homes_freep) struct why_homes *homes = NULL;
	_cleanup_free_ char *b64 = NULL;
	size_t n = 0;
	int r;

	/*
	 * A certificate's fingerprint is its key's, whose text is not in the certificate's; a key
	 * known by its fingerprint alone (as sshd logs it) has no text to look for either.
	 */
	if (key && !key->certificate && key->blob_len) {
		b64 = malloc(BASE64_ENCODED_LEN(key->blob_len) + 1);
		if (!b64)
			return -ENOMEM;
		base64_encode(key->blob, key->blob_len, b64);
	}
	if ((r = why_homes_new(&homes)) < 0)
		return r;
	for (size_t i = 0; i < e->db->n_users && n < max; i++) {
		const struct user *u = &e->db->users[i];
		size_t hl = strlen(u->home);
		/* A user KNOWN answers for: its answer, no file read. */
		bool answered = known && known->in[i], hit = false;

		if (!why_user_looked_at(u, except))
			continue;
		if (answered)
			hit = strv_contains(known->holders, u->name);
		for (size_t j = 0; patterns && patterns[j] && !answered && !hit; j++) {
			_cleanup_free_ char *path = NULL;

			if (sshd_expand_authorized_keys(patterns[j], u, &path) < 0)
				continue;
			/* A file in a home that does not exist is not looked for. */
			if (strncmp(path, u->home, hl) == 0 && path[hl] == '/' &&
			    why_home_missing(homes, e->rootfd, u->home))
				continue;
			r = file_has_key(e->rootfd, path, key ? key->fingerprint : NULL, b64, &hit);
			if (r < 0)
				return r;
		}
		if (hit && !strv_contains(names, u->name)) {
			if ((r = strv_append(&names, &n, u->name, strlen(u->name))) < 0)
				return r;
		}
	}
	*ret = TAKE_PTR(names);
	return 0;
}

/* Another user's drop-in directory that approves FP: "DIR/NAME/FILE", or NULL. */
static int dropin_elsewhere(const struct engine *e, const char *user, const char *fp, char **ret)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	*ret = NULL;
	if (e->dropin_fd < 0)
		return 0;
	dfd = openat(e->dropin_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || !(d = fdopendir(dfd)))
		return 0;
	dfd = -1;
	while (!*ret && (de = readdir(d))) {
		struct dropin_set set = {0};

		if (de->d_name[0] == '.' || strcmp(de->d_name, user) == 0)
			continue;
		if (dropin_load(e->dropin_fd, NULL, e->cfg.dropin_dir, de->d_name,
				e->cfg.min_rsa_bits, &set) < 0)
			continue;
		for (size_t i = 0; i < set.n && !*ret; i++)
			if (strcmp(set.keys[i].fingerprint, fp) == 0 &&
			    asprintf(ret, "the key is approved for %s, not %s (%s/%s/%s)",
				     de->d_name, user, e->cfg.dropin_dir, de->d_name,
				     set.keys[i].source) < 0)
				*ret = NULL;
		dropin_set_done(&set);
	}
	return 0;
}

int why_key_elsewhere(const struct engine *e, const char *user, const char *fp, char **ret)
{
	_cleanup_(strv_freep) char **state = NULL;
	struct quarantine_list q = {0};
	char *s = NULL;

	(void)dropin_elsewhere(e, user, fp, &s);
	if (!s && audit_quarantine_load(e->rootfd, user, &q) >= 0) {
		for (size_t i = q.n; i-- > 0 && !s;)
			if (strcmp(q.q[i].fingerprint, fp) == 0 &&
			    asprintf(
				&s,
				"the key was taken out of %s into the quarantine%s%s "
				"(Exclusive=yes): approve it with sshmend keys --restore %s %s",
				q.q[i].from, q.q[i].taken ? " at " : "",
				q.q[i].taken ? q.q[i].taken : "", user, fp) < 0)
				s = NULL;
		quarantine_list_done(&q);
	}
	if (!s && audit_state_bind(e->rootfd, false) > 0 &&
	    audit_state_load(e->rootfd, user, &state) >= 0) {
		size_t l = strlen(fp);

		for (size_t i = 0; state && state[i] && !s; i++)
			if (strncmp(state[i], fp, l) == 0 && state[i][l] == ' ' &&
			    asprintf(
				&s,
				"the key was in %s's keys file and has been removed since "
				"(journalctl SSHMEND_EVENT=key-removed SSHMEND_USER=%s says when): "
				"add it back",
				user, user) < 0)
				s = NULL;
	}
	*ret = s;
	return 0;
}

/* Does USER's drop-in directory approve FP now? */
static bool dropin_approves(const struct engine *e, const char *user, const char *fp)
{
	struct dropin_set set = {0};
	bool yes = false;

	if (e->dropin_fd < 0 ||
	    dropin_load(e->dropin_fd, NULL, e->cfg.dropin_dir, user, e->cfg.min_rsa_bits, &set) < 0)
		return false;
	for (size_t i = 0; i < set.n && !yes; i++)
		yes = strcmp(set.keys[i].fingerprint, fp) == 0;
	dropin_set_done(&set);
	return yes;
}

/* Did Exclusive= take FP into USER's quarantine in the minute up to WHEN? */
static bool quarantined_at(const struct engine *e, const char *user, const char *fp,
			   const char *when)
{
	struct quarantine_list q = {0};
	struct tm tm = {0};
	time_t gone, taken;
	bool yes = false;

	if (!strptime(when, "%Y-%m-%dT%H:%M:%SZ", &tm) ||
	    audit_quarantine_load(e->rootfd, user, &q) < 0)
		return false;
	gone = timegm(&tm);
	for (size_t i = q.n; i-- > 0 && !yes;) {
		if (strcmp(q.q[i].fingerprint, fp) != 0 || !q.q[i].taken)
			continue;
		tm = (struct tm){0};
		if (!strptime(q.q[i].taken, "%Y-%m-%dT%H:%M:%SZ", &tm))
			continue;
		taken = timegm(&tm);
		yes = taken <= gone && gone - taken <= WHY_QUARANTINE_SLACK;
	}
	quarantine_list_done(&q);
	return yes;
}

/* Does the audit still remember FP for USER (a removal it has not seen yet)? */
static bool state_remembers(const struct engine *e, const char *user, const char *fp)
{
	_cleanup_(strv_freep) char **state = NULL;
	size_t l = strlen(fp);

	if (audit_state_load(e->rootfd, user, &state) < 0)
		return false;
	for (size_t i = 0; state && state[i]; i++)
		if (strncmp(state[i], fp, l) == 0 && state[i][l] == ' ')
			return true;
	return false;
}

int why_key_gone(const struct engine *e, const char *user, const char *fp, char **hint,
		 char **detail)
{
	struct audit_gone g;
	const char *how = "";
	bool synced;
	int r;

	*hint = *detail = NULL;
	if (audit_state_bind(e->rootfd, false) <= 0)
		return 0;
	r = audit_gone_find(e->rootfd, user, fp, &g);
	if (r <= 0)
		return r == -ENOMEM ? r : 0;
	/* Removed again since it was recorded, and back in between: that time is not this one's. */
	if (state_remembers(e, user, fp))
		return 0;
	/* An approved key gone that the drop-in directory no longer approves: the key sync. */
	synced = g.was == KEY_APPROVED && !dropin_approves(e, user, fp);
	if (synced)
		how = " by sshmend's key sync (no longer approved)";
	else if (g.was != KEY_APPROVED && quarantined_at(e, user, fp, g.when))
		how = " into the quarantine (Exclusive=yes)";
	if (asprintf(detail, "removed from %s's keys file%s at %s", user, how, g.when) < 0) {
		*detail = NULL;
		return -ENOMEM;
	}
	if ((synced
		 ? asprintf(
		       hint,
		       "the key was approved for %s and sshmend's key sync took it out at %s, "
		       "when it was no longer in %s/%s/: approve it again and run sshmend fix %s",
		       user, g.when, e->cfg.dropin_dir, user, user)
		 : asprintf(hint,
			    "the key was in %s's keys file and was removed%s at %s: add it back to "
			    "~%s/.ssh/authorized_keys",
			    user, how, g.when, user)) < 0) {
		*hint = NULL;
		return -ENOMEM;
	}
	return 1;
}

/* NAMES, comma-separated. */
int why_join_names(char *const *names, char **ret)
{
	char *list = NULL;

	for (size_t i = 0; names && names[i]; i++) {
		char *n = NULL;

		if (asprintf(&n, "%s%s%s", list ? list : "", list ? ", " : "", names[i]) < 0) {
			free(list);
			return -ENOMEM;
		}
		free(list);
		list = n;
	}
	*ret = list;
	return 0;
}

int why_unknown_hint(const struct engine *e, const char *user, char *const *authorized_for,
		     why_holders_fn holders, char **ret)
{
	_cleanup_(strv_freep) char **with_keys = NULL;
	_cleanup_free_ char *cloud = NULL, *list = NULL;
	const char *what = "the key is authorized for";
	char *const *names = authorized_for;
	int r;

	*ret = NULL;
	if (!names || !*names) {
		cloud = why_cloud_default_user(e->rootfd);
		if (cloud)
			return asprintf(ret,
					"no user %s here; the image's default login user is %s "
					"(cloud-init): log in as %s",
					user, cloud, cloud) < 0
				   ? -ENOMEM
				   : 0;
		r = holders ? holders(e, e->keys_files, NULL, NULL, WHY_HINT_USERS, &with_keys)
			    : why_users_with_key(e, e->keys_files, NULL, NULL, WHY_HINT_USERS, NULL,
						 &with_keys);
		if (r < 0)
			return r;
		names = with_keys;
		what = "users with an authorized key";
	}
	if ((r = why_join_names(names, &list)) < 0)
		return r;
	if (list)
		r = asprintf(ret, "no user %s here; %s: %s", user, what, list);
	else
		r = asprintf(ret, "no user %s here, and no user has an authorized key", user);
	return r < 0 ? -ENOMEM : 0;
}
