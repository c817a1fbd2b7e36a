/* SPDX-License-Identifier: Apache-2.0 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "macro.h"
#include "safeio.h"
#include "verdict.h"

bool verdict_user_may(const struct user *u, const struct stat *st, int what)
{
	mode_t bits = what & 07; /* R_OK, W_OK and X_OK are the other class's bits */

	if (u->uid == 0)
		return true; /* CAP_DAC_READ_SEARCH */
	if (st->st_uid == u->uid)
		return st->st_mode & (bits << 6);
	if (user_in_group(u, st->st_gid))
		return st->st_mode & (bits << 3);
	return st->st_mode & bits;
}

/* The on-disk form of system.posix_acl_access (little endian), as the kernel hands it out. */
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP_OBJ 0x04
#define ACL_TAG_GROUP 0x08
#define ACL_TAG_MASK 0x10
#define ACL_TAG_OTHER 0x20
#define ACL_XATTR_MAX 65536 /* XATTR_SIZE_MAX */

struct acl_entry_le {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

/*
 * Directories shared by every chain (/, /home) would have their ACL read once per user and
 * keys file. Their absence is remembered by inode and change time: setting an ACL changes
 * the ctime. A change stamps the ctime from the kernel's coarse clock, so one made after
 * the clock read before the lookup cannot carry a ctime at or below one that was already
 * older than that clock by more than the timestamps' granularity. That is nanoseconds on
 * ext4, xfs, btrfs and tmpfs; a filesystem whose ctimes carry no nanoseconds (FAT, old
 * ext3, some network filesystems) may round to 2 s.
 */
#define ACL_CACHE_SLOTS 64
#define ACL_CACHE_MARGIN_NSEC (10 * 1000000LL)
#define ACL_CACHE_COARSE_MARGIN_NSEC (2 * 1000000000LL)

static struct acl_absent {
	dev_t dev;
	ino_t ino;
	struct timespec ctim;
} acl_cache[ACL_CACHE_SLOTS];

static struct acl_absent *acl_slot(const struct stat *st)
{
	return &acl_cache[(st->st_ino * 0x9E3779B97F4A7C15ull ^ st->st_dev) % ACL_CACHE_SLOTS];
}

static bool acl_cached_absent(const struct stat *st)
{
	const struct acl_absent *a = acl_slot(st);

	return a->ino == st->st_ino && a->dev == st->st_dev && a->ino != 0 &&
	       a->ctim.tv_sec == st->st_ctim.tv_sec && a->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

static long long timespec_nsec(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* ST had no ACL when looked up after the coarse clock read BEFORE. */
static void acl_remember_absent(const struct stat *st, const struct timespec *before)
{
	long long margin =
	    st->st_ctim.tv_nsec ? ACL_CACHE_MARGIN_NSEC : ACL_CACHE_COARSE_MARGIN_NSEC;

	if (timespec_nsec(&st->st_ctim) + margin > timespec_nsec(before))
		return;
	*acl_slot(st) = (struct acl_absent){st->st_dev, st->st_ino, st->st_ctim};
}

/*
 * The kernel's access check for a user who does not own the inode (acl_permission_check()
 * and posix_acl_permission()): 1 allowed, 0 denied, -1 when the mode bits decide (no ACL,
 * an empty mask, or it cannot be read). FD is an O_PATH descriptor of the inode;
 * /proc/self/fd/N names that inode, never a path.
 */
static int acl_user_may(const struct user *u, int fd, const struct stat *st, int what)
{
	_cleanup_free_ unsigned char *buf = NULL;
	_cleanup_free_ struct acl_entry_le *e = NULL;
	unsigned want = what & 07;
	bool found = false;
	char proc[SAFE_PROC_FD_MAX];
	struct timespec before;
	uint32_t version;
	ssize_t n;
	size_t k;

	/* The owner gets the owner bits; with no group bits (the mask) the ACL is not read. */
	if (fd < 0 || st->st_uid == u->uid || !(st->st_mode & 070))
		return -1;
	if (acl_cached_absent(st))
		return -1;
	safe_proc_fd(fd, proc);
	if (clock_gettime(CLOCK_REALTIME_COARSE, &before) < 0)
		before = (struct timespec){0};
	n = getxattr(proc, "system.posix_acl_access", NULL, 0);
	if (n < 0 && errno == ENODATA)
		acl_remember_absent(st, &before);
	if (n < 4 || n > ACL_XATTR_MAX)
		return -1;
	buf = malloc((size_t)n);
	if (!buf)
		return -1;
	n = getxattr(proc, "system.posix_acl_access", buf, (size_t)n);
	if (n < 4 || (n - 4) % sizeof(struct acl_entry_le) != 0)
		return -1;
	memcpy(&version, buf, 4);
	if (le32toh(version) != ACL_XATTR_VERSION)
		return -1;
	k = (size_t)(n - 4) / sizeof(struct acl_entry_le);
	e = malloc(k * sizeof(*e) + 1);
	if (!e)
		return -1;
	memcpy(e, buf + 4, k * sizeof(*e));
	for (size_t i = 0; i < k; i++) {
		e[i].tag = le16toh(e[i].tag);
		e[i].perm = le16toh(e[i].perm);
		e[i].id = le32toh(e[i].id);
	}
	/* Entries come sorted: owner, named users, owning group, named groups, mask, other. */
	for (size_t i = 0; i < k; i++) {
		bool match;

		switch (e[i].tag) {
		case ACL_TAG_USER:
			match = e[i].id == u->uid;
			break;
		case ACL_TAG_GROUP_OBJ:
		case ACL_TAG_GROUP:
			match =
			    user_in_group(u, e[i].tag == ACL_TAG_GROUP_OBJ ? st->st_gid : e[i].id);
			found = found || match;
			match = match && (e[i].perm & want) == want;
			break;
		case ACL_TAG_OTHER:
			return found ? 0 : (e[i].perm & want) == want;
		default:
			match = false;
			break;
		}
		if (!match)
			continue;
		/* A named user or a granting group entry: the mask, if any, has the last word. */
		for (size_t m = i + 1; m < k; m++)
			if (e[m].tag == ACL_TAG_MASK)
				return (e[i].perm & e[m].perm & want) == want;
		return (e[i].perm & want) == want;
	}
	return -1;
}

bool verdict_user_may_fd(const struct user *u, int fd, const struct stat *st, int what)
{
	int r;

	if (u->uid == 0)
		return true;
	r = acl_user_may(u, fd, st, what);
	return r >= 0 ? r : verdict_user_may(u, st, what);
}

bool verdict_acl_denies(const struct user *u, int fd, const struct stat *st, int what)
{
	return u->uid != 0 && acl_user_may(u, fd, st, what) == 0 && verdict_user_may(u, st, what);
}

/* The descriptor the chain holds for the inode of ST, or -1. */
static int chain_fd_of(const struct chain *c, const struct stat *st)
{
	int i = chain_find(c, st);

	return i < 0 ? -1 : c->elems[i].fd;
}

/*
 * Debian's user-group-modes rule, as its sshd applies it (secure_permissions()): a
 * group-writable element passes when its group exists, every account whose primary
 * group it is is the user logging in (not the element's owner: a root-owned home in
 * the user's private group passes, a root:root g+w directory does not), the owner
 * has a passwd entry, the group lists no member or exactly the owner's name, and at
 * least one member was counted that way.
 */
static bool debian_group_write_ok(const struct verdict_input *in, const struct stat *st)
{
	const struct group_entry *g = userdb_group(in->db, st->st_gid);
	const struct user *owner;
	unsigned members = 0;

	if (!g)
		return false;
	for (size_t i = 0; i < in->db->n_users; i++)
		if (in->db->users[i].gid == st->st_gid) {
			if (in->db->users[i].uid != in->user->uid)
				return false;
			members++;
		}
	owner = userdb_by_uid(in->db, st->st_uid);
	if (!owner)
		return false;
	if (g->members[0]) {
		if (strcmp(g->members[0], owner->name) != 0 || g->members[1])
			return false;
		members++;
	}
	return members > 0;
}

bool verdict_secure(const struct verdict_input *in, const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != in->user->uid)
		return false;
	if (st->st_mode & 002)
		return false;
	if (st->st_mode & 020)
		return in->flavor == FLAVOR_DEBIAN && debian_group_write_ok(in, st);
	return true;
}

/* sshd's sentences (auth2-pubkey.c, misc.c), each written here alone. */
#define REFUSED_PREFIX "Authentication refused: "

const char *verdict_message_body(const char *message)
{
	size_t n = strlen(REFUSED_PREFIX);

	return strncmp(message, REFUSED_PREFIX, n) == 0 ? message + n : message;
}

static void say_open(char *buf, size_t len, const char *user, const char *path, const char *err)
{
	snprintf(buf, len, "Could not open user '%s' authorized keys '%s': %s", user, path, err);
}

static void say_not_regular(char *buf, size_t len, const char *user, const char *path)
{
	snprintf(buf, len, "User '%s' authorized keys '%s' is not a regular file", user, path);
}

static void say_modes(char *buf, size_t len, bool file, const char *path)
{
	snprintf(buf, len, REFUSED_PREFIX "bad ownership or modes for %s %s",
		 file ? "file" : "directory", path);
}

/* Refused, blaming BLAMED; the caller writes the words into v->message. */
static char *refuse(struct verdict *v, const char *blamed)
{
	v->accepts = false;
	snprintf(v->blamed, sizeof(v->blamed), "%s", blamed);
	return v->message;
}

/* The element safe_path() stops at: the one whose path is realpath(home), else "/". */
static size_t safe_path_top(const struct verdict_input *in, const struct chain *c)
{
	for (size_t i = c->n_elems; in->home_realpath && i-- > 0;)
		if (strcmp(c->elems[i].path, in->home_realpath) == 0)
			return i;
	return 0;
}

/* Is the directory EL one a name was looked up in, and does the user lack search on it? */
static bool search_denied(const struct verdict_input *in, const struct chain *c,
			  const struct chain_elem *el)
{
	for (size_t s = 0; s < c->n_searched; s++)
		if (c->searched[s].st_ino == el->st.st_ino &&
		    c->searched[s].st_dev == el->st.st_dev &&
		    !verdict_user_may_fd(in->user, el->fd, &el->st, X_OK))
			return true;
	return false;
}

/* Does sshd refuse for element I of a chain that reached the file, alone? Its words in BUF. */
static bool element_refused(const struct verdict_input *in, const char *path, const struct chain *c,
			    size_t i, char *buf, size_t len)
{
	const struct chain_elem *el = &c->elems[i];
	bool last = i == c->n_elems - 1;

	if (last ? !verdict_user_may_fd(in->user, el->fd, &el->st, R_OK)
		 : search_denied(in, c, el)) {
		say_open(buf, len, in->user->name, path, strerror(EACCES));
		return true;
	}
	if (in->strict_modes && i >= safe_path_top(in, c) && !verdict_secure(in, &el->st)) {
		say_modes(buf, len, last, el->path);
		return true;
	}
	return false;
}

const char *verdict_element(const struct verdict_input *in, const char *path, const struct chain *c,
			    size_t i, const struct verdict *v, char *buf, size_t len)
{
	if (c->status == CHAIN_OK && element_refused(in, path, c, i, buf, len))
		return buf;
	if (!v->accepts && strcmp(v->blamed, c->elems[i].path) == 0)
		return v->message;
	return NULL;
}

const char *verdict_search_element(const struct verdict_input *in, const char *path,
				   const struct chain_elem *el, char *buf, size_t len)
{
	if (verdict_user_may_fd(in->user, el->fd, &el->st, X_OK))
		return NULL;
	say_open(buf, len, in->user->name, path, strerror(EACCES));
	return buf;
}

/* The open as the user: the search on each directory, then the chain's end. */
static bool open_refused(const struct verdict_input *in, const char *path, const struct chain *c,
			 struct verdict *v)
{
	const char *name = in->user->name;

	/*
	 * open(O_RDONLY|O_NONBLOCK) as the user. The path walk needs search on every
	 * directory a name is looked up in, and fails there with EACCES before it can
	 * find out that something further down is missing, not a directory or a loop:
	 * root sees that /root/.ssh has no authorized_keys, the user only gets EACCES.
	 */
	for (size_t i = 0; i < c->n_searched; i++)
		if (!verdict_user_may_fd(in->user, chain_fd_of(c, &c->searched[i]), &c->searched[i],
					 X_OK)) {
			say_open(refuse(v, c->searched_paths[i]), sizeof(v->message), name, path,
				 strerror(EACCES));
			return true;
		}
	switch (c->status) {
	case CHAIN_MISSING:
		return true; /* sshd skips a missing file silently */
	case CHAIN_NOTDIR:
		say_open(refuse(v, c->stopped_at), sizeof(v->message), name, path,
			 strerror(ENOTDIR));
		return true;
	case CHAIN_LOOP:
	case CHAIN_ERROR:
		/* EXDEV: sshd would wait on the file system's server; what it then says, no
		 * one knows. Refused, in no words of sshd's. */
		if (c->error == EXDEV)
			refuse(v, c->stopped_at);
		else
			say_open(refuse(v, c->stopped_at), sizeof(v->message), name, path,
				 strerror(c->error));
		return true;
	case CHAIN_OK:
		break;
	}
	return false;
}

void verdict_keys_file(const struct verdict_input *in, const char *path, const struct chain *c,
		       struct verdict *v)
{
	const char *name = in->user->name;
	const struct chain_elem *last;

	*v = (struct verdict){.accepts = true};
	if (open_refused(in, path, c, v))
		return;
	last = chain_last(c);
	/* may_open() checks read permission first; only then does a socket fail with ENXIO. */
	if (!verdict_user_may_fd(in->user, last->fd, &last->st, R_OK)) {
		say_open(refuse(v, last->path), sizeof(v->message), name, path, strerror(EACCES));
		return;
	}
	if (S_ISSOCK(last->st.st_mode)) {
		say_open(refuse(v, last->path), sizeof(v->message), name, path, strerror(ENXIO));
		return;
	}
	if (!S_ISREG(last->st.st_mode)) {
		say_not_regular(refuse(v, last->path), sizeof(v->message), name, path);
		return;
	}
	if (!in->strict_modes)
		return;

	/* safe_path(): the file, then each directory of its realpath walking upwards. */
	for (size_t i = c->n_elems, top = safe_path_top(in, c); i-- > top;) {
		const struct chain_elem *e = &c->elems[i];

		if (!verdict_secure(in, &e->st)) {
			say_modes(refuse(v, e->path), sizeof(v->message), e == last, e->path);
			return;
		}
	}
}

int verdict_path(int rootfd, const struct verdict_input *in, const char *path, struct verdict *v)
{
	struct verdict_input vin = *in;
	struct chain home, c;
	int r;

	r = chain_resolve(rootfd, in->user->home, NULL, &home);
	if (r < 0)
		return r;
	if (home.status == CHAIN_OK && S_ISDIR(chain_last(&home)->st.st_mode))
		vin.home_realpath = chain_last(&home)->path;
	r = chain_resolve(rootfd, path, &home, &c);
	if (r >= 0) {
		verdict_keys_file(&vin, path, &c, v);
		chain_done(&c);
	}
	chain_done(&home);
	return r < 0 ? r : 0;
}
