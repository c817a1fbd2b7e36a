/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include "macro.h"
#include "safeio.h"
#include "strv.h"
#include "users.h"

#define PASSWD_MAX (64u << 20)

static const struct userdb *sort_db;

static int cmp_name(const void *a, const void *b)
{
	return strcmp(sort_db->users[*(const size_t *)a].name,
		      sort_db->users[*(const size_t *)b].name);
}

static int cmp_uid(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	uid_t ux = sort_db->users[x].uid, uy = sort_db->users[y].uid;

	if (ux != uy)
		return ux < uy ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Homes compare without trailing slashes: "/home/a/" is "/home/a". */
static size_t home_len(const char *h)
{
	size_t n = strlen(h);

	while (n > 1 && h[n - 1] == '/')
		n--;
	return n;
}

static int cmp_home(const char *a, const char *b)
{
	size_t la = home_len(a), lb = home_len(b);
	int c = memcmp(a, b, la < lb ? la : lb);

	return c ? c : la < lb ? -1 : la > lb;
}

static int cmp_home_idx(const void *a, const void *b)
{
	return cmp_home(sort_db->users[*(const size_t *)a].home,
			sort_db->users[*(const size_t *)b].home);
}

/* Mark every user whose home another name's entry gives too. */
static int mark_shared_homes(struct userdb *db)
{
	_cleanup_free_ size_t *by_home = malloc((db->n_users + 1) * sizeof(size_t));

	if (!by_home)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_users; i++)
		by_home[i] = i;
	sort_db = db;
	qsort(by_home, db->n_users, sizeof(size_t), cmp_home_idx);
	sort_db = NULL;
	for (size_t i = 0, j; i < db->n_users; i = j) {
		bool shared = false;

		for (j = i + 1; j < db->n_users && cmp_home(db->users[by_home[i]].home,
							    db->users[by_home[j]].home) == 0;
		     j++)
			shared = shared || strcmp(db->users[by_home[i]].name,
						  db->users[by_home[j]].name) != 0;
		for (size_t k = i; shared && k < j; k++)
			db->users[by_home[k]].home_shared = true;
	}
	return 0;
}

static int cmp_gid(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	gid_t gx = sort_db->groups[x].gid, gy = sort_db->groups[y].gid;

	if (gx != gy)
		return gx < gy ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int add_user(struct userdb *db, const char *name, uid_t uid, gid_t gid, const char *home,
		    const char *shell)
{
	struct user *u;

	if ((db->n_users & (db->n_users - 1)) == 0) {
		size_t cap = db->n_users ? db->n_users * 2 : 16;
		struct user *n = realloc(db->users, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		db->users = n;
	}
	u = &db->users[db->n_users];
	*u = (struct user){.uid = uid, .gid = gid};
	/* One allocation holds the three strings (tens of thousands of users stay small);
	 * NAME owns it. */
	{
		size_t ln = strlen(name) + 1, lh = strlen(home) + 1, ls = strlen(shell) + 1;
		char *buf = malloc(ln + lh + ls);

		if (!buf)
			return -ENOMEM;
		u->name = memcpy(buf, name, ln);
		u->home = memcpy(buf + ln, home, lh);
		u->shell = memcpy(buf + ln + lh, shell, ls);
	}
	db->n_users++;
	return 0;
}

static int add_group(struct userdb *db, const char *name, gid_t gid, char *const *members)
{
	struct group_entry *g;

	if ((db->n_groups & (db->n_groups - 1)) == 0) {
		size_t cap = db->n_groups ? db->n_groups * 2 : 16;
		struct group_entry *n = realloc(db->groups, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		db->groups = n;
	}
	g = &db->groups[db->n_groups];
	*g = (struct group_entry){.gid = gid};
	g->name = strdup(name);
	if (!g->name)
		return -ENOMEM;
	g->members = calloc(1, sizeof(char *));
	if (!g->members) {
		free(g->name);
		return -ENOMEM;
	}
	for (size_t i = 0; members && members[i]; i++)
		if (strv_push(&g->members, members[i]) < 0) {
			strv_free(g->members);
			free(g->name);
			return -ENOMEM;
		}
	db->n_groups++;
	return 0;
}

static int parse_id(const char *s, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= (uid_t)-1)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Split LINE at ':' into exactly N fields, in place. */
static int split_fields(char *line, char **f, size_t n)
{
	size_t i = 0;

	f[i++] = line;
	for (char *p = line; *p; p++)
		if (*p == ':') {
			if (i == n)
				return -EINVAL;
			*p = 0;
			f[i++] = p + 1;
		}
	return i == n ? 0 : -EINVAL;
}

static int warn(struct userdb *db, const char *file, unsigned line, const char *what)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s:%u: %s, ignoring", file, line, what);
	return strv_push(&db->warnings, buf);
}

typedef int (*line_fn)(struct userdb *db, const char *file, unsigned lineno, char *line);

static int read_lines(struct userdb *db, int rootfd, const char *path, line_fn fn)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	unsigned lineno = 0;
	char *p, *nl;
	int r;

	r = safe_open_in_root(rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);
	if (r < 0)
		return r;
	r = safe_read_all(fd, PASSWD_MAX, &buf, NULL);
	if (r < 0)
		return r;
	for (p = buf; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		if (!*p || *p == '#')
			continue;
		r = fn(db, path, lineno, p);
		if (r < 0)
			return r;
		if (!nl)
			break;
	}
	return 0;
}

static int passwd_line(struct userdb *db, const char *file, unsigned lineno, char *line)
{
	char *f[7];
	unsigned long uid, gid;

	if (*line == '+' || *line == '-')
		return 0; /* NIS compat entries are resolved by NSS, not by us */
	if (split_fields(line, f, 7) < 0 || !*f[0])
		return warn(db, file, lineno, "malformed passwd entry");
	if (parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0)
		return warn(db, file, lineno, "bad uid or gid");
	return add_user(db, f[0], (uid_t)uid, (gid_t)gid, f[5], f[6]);
}

static int group_line(struct userdb *db, const char *file, unsigned lineno, char *line)
{
	char *f[4];
	char **members = NULL;
	unsigned long gid;
	int r = 0;

	if (*line == '+' || *line == '-')
		return 0;
	if (split_fields(line, f, 4) < 0 || !*f[0])
		return warn(db, file, lineno, "malformed group entry");
	if (parse_id(f[2], &gid) < 0)
		return warn(db, file, lineno, "bad gid");
	for (char *m = f[3], *c; m && *m; m = c ? c + 1 : NULL) {
		c = strchr(m, ',');
		if (c)
			*c = 0;
		if (*m && (r = strv_push(&members, m)) < 0)
			break;
	}
	if (r >= 0)
		r = add_group(db, f[0], (gid_t)gid, members);
	strv_free(members);
	return r;
}

static int logindefs_line(struct userdb *db, _unused_ const char *file, _unused_ unsigned lineno,
			  char *line)
{
	unsigned long v;
	char *p = line + strspn(line, " \t");

	if (strncmp(p, "UID_MIN", 7) != 0 || !isspace((unsigned char)p[7]))
		return 0;
	p += 7;
	p += strspn(p, " \t");
	p[strcspn(p, " \t\r")] = 0;
	if (parse_id(p, &v) == 0)
		db->uid_min = (uid_t)v;
	return 0;
}

static int load_nss(struct userdb *db)
{
	struct passwd *pw;
	struct group *gr;
	int r = 0;

	setpwent();
	while ((errno = 0, pw = getpwent()))
		if ((r = add_user(db, pw->pw_name, pw->pw_uid, pw->pw_gid,
				  pw->pw_dir ? pw->pw_dir : "/",
				  pw->pw_shell ? pw->pw_shell : "")) < 0)
			break;
	endpwent();
	if (r < 0)
		return r;
	setgrent();
	while ((errno = 0, gr = getgrent()))
		if ((r = add_group(db, gr->gr_name, gr->gr_gid, gr->gr_mem)) < 0)
			break;
	endgrent();
	return r;
}

static int build_indexes(struct userdb *db)
{
	db->by_name = malloc((db->n_users + 1) * sizeof(size_t));
	db->by_uid = malloc((db->n_users + 1) * sizeof(size_t));
	db->by_gid = malloc((db->n_groups + 1) * sizeof(size_t));
	if (!db->by_name || !db->by_uid || !db->by_gid)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_users; i++)
		db->by_name[i] = db->by_uid[i] = i;
	for (size_t i = 0; i < db->n_groups; i++)
		db->by_gid[i] = i;
	sort_db = db;
	qsort(db->by_name, db->n_users, sizeof(size_t), cmp_name);
	qsort(db->by_uid, db->n_users, sizeof(size_t), cmp_uid);
	qsort(db->by_gid, db->n_groups, sizeof(size_t), cmp_gid);
	sort_db = NULL;
	if (mark_shared_homes(db) < 0)
		return -ENOMEM;

	/* Supplementary groups, by member name. */
	for (size_t g = 0; g < db->n_groups; g++)
		for (char **m = db->groups[g].members; *m; m++) {
			struct user *u = (struct user *)userdb_by_name(db, *m);
			gid_t *n;

			if (!u)
				continue;
			n = realloc(u->groups, (u->n_groups + 1) * sizeof(gid_t));
			if (!n)
				return -ENOMEM;
			u->groups = n;
			u->groups[u->n_groups++] = db->groups[g].gid;
		}
	return 0;
}

int userdb_load(int rootfd, struct userdb **ret)
{
	struct userdb *db = calloc(1, sizeof(*db));
	int r;

	if (!db)
		return -ENOMEM;
	db->uid_min = 1000;
	if (rootfd < 0) {
		r = load_nss(db);
		if (r >= 0) {
			int fd = -1;

			if (safe_open_root(NULL, &fd) >= 0) {
				(void)read_lines(db, fd, "/etc/login.defs", logindefs_line);
				close(fd);
			}
		}
	} else {
		r = read_lines(db, rootfd, "/etc/passwd", passwd_line);
		if (r >= 0) {
			r = read_lines(db, rootfd, "/etc/group", group_line);
			if (r == -ENOENT)
				r = 0;
		}
		if (r >= 0)
			(void)read_lines(db, rootfd, "/etc/login.defs", logindefs_line);
	}
	if (r >= 0)
		r = build_indexes(db);
	if (r < 0) {
		userdb_free(db);
		return r;
	}
	*ret = db;
	return 0;
}

void userdb_free(struct userdb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n_users; i++) {
		free(db->users[i].name); /* and home and shell */
		free(db->users[i].groups);
	}
	for (size_t i = 0; i < db->n_groups; i++) {
		free(db->groups[i].name);
		strv_free(db->groups[i].members);
	}
	free(db->users);
	free(db->groups);
	free(db->by_name);
	free(db->by_uid);
	free(db->by_gid);
	strv_free(db->warnings);
	free(db);
}

const struct user *userdb_by_name(const struct userdb *db, const char *name)
{
	size_t lo = 0, hi = db->n_users;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(db->users[db->by_name[mid]].name, name);

		if (c == 0)
			return &db->users[db->by_name[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct user *userdb_by_uid(const struct userdb *db, uid_t uid)
{
	size_t lo = 0, hi = db->n_users;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (db->users[db->by_uid[mid]].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < db->n_users && db->users[db->by_uid[lo]].uid == uid ? &db->users[db->by_uid[lo]]
									: NULL;
}

const struct group_entry *userdb_group(const struct userdb *db, gid_t gid)
{
	size_t lo = 0, hi = db->n_groups;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (db->groups[db->by_gid[mid]].gid < gid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < db->n_groups && db->groups[db->by_gid[lo]].gid == gid
		   ? &db->groups[db->by_gid[lo]]
		   : NULL;
}

bool user_in_group(const struct user *u, gid_t gid)
{
	if (u->gid == gid)
		return true;
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == gid)
			return true;
	return false;
}

bool user_has_login_shell(const struct user *u)
{
	const char *base = strrchr(u->shell, '/');

	base = base ? base + 1 : u->shell;
	return strcmp(base, "nologin") != 0 && strcmp(base, "false") != 0;
}
