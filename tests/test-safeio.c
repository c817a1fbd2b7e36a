/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "macro.h"
#include "safeio.h"
#include "unit-helpers.h"

/* The safe_* calls in a temp dir the running user owns: what they change is the user's own. */

UNIT_ROOT_FIXTURE

static void at(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

static void lstat_at(const char *rel, struct stat *st)
{
	char p[4200];

	at(rel, p, sizeof(p));
	ck_assert_int_eq(lstat(p, st), 0);
}

static char *read_at(const char *rel)
{
	char p[4200], *s;
	size_t len;
	int fd;

	at(rel, p, sizeof(p));
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(safe_read_all(fd, 1 << 20, &s, &len), 0);
	close(fd);
	ck_assert_uint_eq(strlen(s), len);
	return s;
}

/* safe_replace_file() with the running user as owner. */
static int replace(int dirfd, const char *name, const struct stat *expect, const char *text,
		   mode_t mode)
{
	return safe_replace_file(dirfd, name, expect, text, strlen(text), geteuid(), getegid(),
				 mode, true);
}

START_TEST(open_root_is_a_directory)
{
	struct stat a, b;
	char p[4200];
	int fd;

	ck_assert_int_eq(safe_open_root(root, &fd), 0);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(fstat(rootfd, &b), 0);
	ck_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	close(fd);
	unit_write(root, "file", "");
	at("file", p, sizeof(p));
	ck_assert_int_eq(safe_open_root(p, &fd), -ENOTDIR);
}
END_TEST

START_TEST(component_never_follows_a_symlink)
{
	struct stat st;
	char p[4200], *target;
	int fd;

	unit_write(root, "real/file", "x\n");
	at("link", p, sizeof(p));
	ck_assert_int_eq(symlink("real", p), 0);
	/* The link itself, not the directory it names. */
	ck_assert_int_eq(safe_open_component(rootfd, "link", &fd), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(safe_readlink(fd, &target), 0);
	ck_assert_str_eq(target, "real");
	free(target);
	/* Refused outright where a regular file is wanted. */
	ck_assert_int_eq(safe_open_regular(rootfd, "link", &(int){-1}, &st), -EBADFD);
	close(fd);
	/* One name only: no path, no "..". */
	ck_assert_int_eq(safe_open_component(rootfd, "real/file", &fd), -EINVAL);
	ck_assert_int_eq(safe_open_component(rootfd, "..", &fd), -EINVAL);
}
END_TEST

START_TEST(regular_only)
{
	struct stat st;
	char p[4200];
	int fd;

	unit_write(root, "file", "hello\n");
	ck_assert_int_eq(safe_open_regular(rootfd, "file", &fd, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	close(fd);
	/* A FIFO is looked at, never opened (an open would block). */
	at("fifo", p, sizeof(p));
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	ck_assert_int_eq(safe_open_regular(rootfd, "fifo", &fd, &st), -EBADFD);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(safe_open_regular(rootfd, "missing", &fd, &st), -ENOENT);
}
END_TEST

START_TEST(in_root_stays_in_root)
{
	char p[4200];
	int fd;

	unit_write(root, "etc/secret", "inside\n");
	at("abs", p, sizeof(p));
	/* An absolute symlink means the same path inside the root, not the host's. */
	ck_assert_int_eq(symlink("/etc/secret", p), 0);
	ck_assert_int_eq(safe_open_in_root(rootfd, "/abs", O_RDONLY, &fd), 0);
	{
		char *s;
		size_t len;

		ck_assert_int_eq(safe_read_all(fd, 100, &s, &len), 0);
		ck_assert_str_eq(s, "inside\n");
		free(s);
	}
	close(fd);
	at("up", p, sizeof(p));
	ck_assert_int_eq(symlink("../../../../../../etc/secret", p), 0);
	ck_assert_int_eq(safe_open_in_root(rootfd, "up", O_RDONLY, &fd), 0);
	close(fd);
}
END_TEST

START_TEST(read_all_limit)
{
	char *s;
	size_t len;
	int fd;
	char p[4200];

	unit_write(root, "big", "0123456789");
	at("big", p, sizeof(p));
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(safe_read_all(fd, 4, &s, &len), -EFBIG);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(safe_read_all(fd, 10, &s, &len), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert_str_eq(s, "0123456789");
	free(s);
	close(fd);
}
END_TEST

/* A file larger than any first buffer, and a pipe, whose size is not known: read whole. */
START_TEST(read_all_sizes)
{
	const size_t big = 300001;
	char *s, *want = malloc(big + 1), p[4200];
	size_t len;
	int fd, pfd[2];

	ck_assert_ptr_nonnull(want);
	for (size_t i = 0; i < big; i++)
		want[i] = (char)('a' + i % 26);
	want[big] = '\0';
	unit_write(root, "large", want);
	at("large", p, sizeof(p));
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(safe_read_all(fd, big, &s, &len), 0);
	ck_assert_uint_eq(len, big);
	ck_assert_int_eq(memcmp(s, want, big), 0);
	ck_assert_int_eq(s[big], '\0');
	free(s);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(safe_read_all(fd, big - 1, &s, &len), -EFBIG);
	close(fd);
	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_eq(write(pfd[1], want, 20000), 20000);
	close(pfd[1]);
	ck_assert_int_eq(safe_read_all(pfd[0], big, &s, &len), 0);
	ck_assert_uint_eq(len, 20000);
	ck_assert_int_eq(memcmp(s, want, 20000), 0);
	free(s);
	close(pfd[0]);
	free(want);
}
END_TEST

START_TEST(set_mode_own_file)
{
	struct stat st;
	int fd;

	unit_write(root, "d/keys", "k\n");
	ck_assert_int_eq(safe_open_component(rootfd, "d", &fd), 0);
	{
		char p[4200];

		at("d", p, sizeof(p));
		ck_assert_int_eq(chmod(p, 0777), 0);
	}
	lstat_at("d", &st);
	ck_assert_int_eq(safe_set_owner_mode(fd, &st, st.st_uid, st.st_gid, 0755), 0);
	lstat_at("d", &st);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	close(fd);
}
END_TEST

START_TEST(set_mode_refuses_what_changed)
{
	struct stat st, other;
	char p[4200], q[4200];
	int fd;

	unit_write(root, "keys", "k\n");
	unit_write(root, "other", "o\n");
	at("keys", p, sizeof(p));
	ck_assert_int_eq(chmod(p, 0666), 0);
	lstat_at("keys", &st);
	lstat_at("other", &other);
	ck_assert_int_eq(safe_open_component(rootfd, "keys", &fd), 0);
	/* Taken for another inode: stale. */
	ck_assert_int_eq(safe_set_owner_mode(fd, &other, st.st_uid, st.st_gid, 0600), -ESTALE);
	/* A second link gained since: the same file stands elsewhere, never changed. */
	at("keys.link", q, sizeof(q));
	ck_assert_int_eq(link(p, q), 0);
	ck_assert_int_eq(safe_set_owner_mode(fd, &st, st.st_uid, st.st_gid, 0600), -EMLINK);
	lstat_at("keys", &st);
	ck_assert_uint_eq(st.st_mode & 07777, 0666);
	close(fd);
	/* A symlink is never changed through. */
	at("sl", q, sizeof(q));
	ck_assert_int_eq(symlink("keys", q), 0);
	ck_assert_int_eq(safe_open_component(rootfd, "sl", &fd), 0);
	lstat_at("sl", &st);
	ck_assert_int_eq(safe_set_owner_mode(fd, &st, st.st_uid, st.st_gid, 0600), -ELOOP);
	close(fd);
}
END_TEST

START_TEST(replace_file_whole_or_nothing)
{
	struct stat st, now;
	char *s;

	unit_write(root, "keys", "old\n");
	lstat_at("keys", &st);
	ck_assert_int_eq(replace(rootfd, "keys", &st, "new\n", 0600), 0);
	s = read_at("keys");
	ck_assert_str_eq(s, "new\n");
	free(s);
	lstat_at("keys", &now);
	ck_assert_uint_eq(now.st_mode & 07777, 0600);
	ck_assert_uint_eq(now.st_uid, geteuid());
	ck_assert(now.st_ino != st.st_ino); /* a new file, renamed over the old */

	/* Changed since it was read (st is the old file's): nothing replaced. */
	ck_assert_int_eq(replace(rootfd, "keys", &st, "lost\n", 0600), -EAGAIN);
	s = read_at("keys");
	ck_assert_str_eq(s, "new\n");
	free(s);
	/* Expected absent, but there: nothing replaced either. */
	ck_assert_int_eq(replace(rootfd, "keys", NULL, "lost\n", 0600), -EAGAIN);
	ck_assert_int_eq(replace(rootfd, "fresh", NULL, "f\n", 0644), 0);
	s = read_at("fresh");
	ck_assert_str_eq(s, "f\n");
	free(s);
	ck_assert_int_eq(replace(rootfd, "a/b", NULL, "", 0644), -EINVAL);
}
END_TEST

START_TEST(replace_file_leaves_no_temp)
{
	struct stat st;
	char p[4200], cmd[4400];

	unit_write(root, "d/keys", "old\n");
	at("d", p, sizeof(p));
	{
		int dfd;

		ck_assert_int_eq(safe_open_component(rootfd, "d", &dfd), 0);
		lstat_at("d/keys", &st);
		st.st_size++; /* as if appended to since: refused */
		ck_assert_int_eq(replace(dfd, "keys", &st, "x\n", 0600), -EAGAIN);
		close(dfd);
	}
	snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = keys", p);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* What a writer killed before its rename left goes; anything else under such a name stays. */
static int count_removed(void *userdata, const char *name)
{
	(void)name;
	(*(int *)userdata)++;
	return 0;
}

START_TEST(remove_leftovers_only_the_writers)
{
	static const char *const stay[] = {
	    ".keys.sshmend-0123456789abcdeF",  /* not the writer's digits */
	    ".keys.sshmend-0123456789abcde",   /* too short */
	    ".other.sshmend-0123456789abcdef", /* another file's */
	    "keys.sshmend-0123456789abcdef",   /* no dot */
	    ".keys.sshmend-00000000deadbeef",  /* a symlink */
	    ".keys.sshmend-1111111111111111",  /* a FIFO */
	    ".keys.sshmend-2222222222222222",  /* a hard link */
	    ".keys.sshmend-3333333333333333",  /* a directory */
	};
	char p[4200], q[4200], cmd[9000], *outside;
	int dfd, n = 0;

	unit_write(root, "d/keys", "old\n");
	unit_write(root, "d/.keys.sshmend-0123456789abcdef", "half a write");
	unit_write(root, "d/.keys.sshmend-0123456789abcdeF", "");
	unit_write(root, "d/.keys.sshmend-0123456789abcde", "");
	unit_write(root, "d/.other.sshmend-0123456789abcdef", "");
	unit_write(root, "d/keys.sshmend-0123456789abcdef", "");
	unit_write(root, "outside", "outside\n");
	at("outside", p, sizeof(p));
	at("d/.keys.sshmend-00000000deadbeef", q, sizeof(q));
	ck_assert_int_eq(symlink(p, q), 0);
	at("d/.keys.sshmend-1111111111111111", q, sizeof(q));
	ck_assert_int_eq(mkfifo(q, 0600), 0);
	at("d/.keys.sshmend-2222222222222222", q, sizeof(q));
	ck_assert_int_eq(link(p, q), 0);
	at("d/.keys.sshmend-3333333333333333", q, sizeof(q));
	ck_assert_int_eq(mkdir(q, 0700), 0);
	ck_assert_int_eq(safe_open_component(rootfd, "d", &dfd), 0);
	ck_assert_int_eq(safe_remove_leftovers(dfd, "keys", geteuid(), count_removed, &n), 1);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(safe_remove_leftovers(dfd, "keys", geteuid(), count_removed, &n), 0);
	/* Of any name: the other file's goes too. */
	ck_assert_int_eq(safe_remove_leftovers(dfd, NULL, geteuid(), NULL, NULL), 1);
	close(dfd);
	at("d", p, sizeof(p));
	for (size_t i = 0; i < ELEMENTSOF(stay); i++) {
		if (strcmp(stay[i], ".other.sshmend-0123456789abcdef") == 0)
			continue;
		snprintf(cmd, sizeof(cmd), "test -e '%s/%s' -o -L '%s/%s'", p, stay[i], p, stay[i]);
		ck_assert_msg(system(cmd) == 0, "%s was removed", stay[i]);
	}
	outside = read_at("outside");
	ck_assert_str_eq(outside, "outside\n");
	free(outside);
}
END_TEST

START_TEST(mkdir_in_root_and_make_component)
{
	struct stat st;
	int fd;

	ck_assert_int_eq(safe_mkdir_in_root(rootfd, "/var/lib/x/", 0700, &fd), 0);
	close(fd);
	lstat_at("var/lib/x", &st);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	lstat_at("var/lib", &st);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(safe_mkdir_in_root(rootfd, "relative", 0700, &fd), -EINVAL);

	ck_assert_int_eq(safe_make_component(rootfd, "made", 0711, &fd, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_uid, geteuid());
	close(fd);
	/* It exists: opened as it is. */
	ck_assert_int_eq(safe_make_component(rootfd, "made", 0700, &fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0711 & ~(mode_t)umask(umask(0)));
	close(fd);
}
END_TEST

/* Needs root: a chown. Owner and mode change together, the owner first narrowed. */
START_TEST(set_owner_as_root)
{
	struct stat st;
	int fd;

	unit_write(root, "keys", "k\n");
	lstat_at("keys", &st);
	ck_assert_int_eq(safe_open_component(rootfd, "keys", &fd), 0);
	ck_assert_int_eq(safe_set_owner_mode(fd, &st, 20001, 20001, 04600), 0);
	lstat_at("keys", &st);
	ck_assert_uint_eq(st.st_uid, 20001);
	ck_assert_uint_eq(st.st_gid, 20001);
	ck_assert_uint_eq(st.st_mode & 07777, 04600); /* set after the chown cleared set-id */
	close(fd);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("safeio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, unit_root_setup, unit_root_teardown);
	tcase_add_test(tc, open_root_is_a_directory);
	tcase_add_test(tc, component_never_follows_a_symlink);
	tcase_add_test(tc, regular_only);
	tcase_add_test(tc, in_root_stays_in_root);
	tcase_add_test(tc, read_all_limit);
	tcase_add_test(tc, read_all_sizes);
	tcase_add_test(tc, set_mode_own_file);
	tcase_add_test(tc, set_mode_refuses_what_changed);
	tcase_add_test(tc, replace_file_whole_or_nothing);
	tcase_add_test(tc, replace_file_leaves_no_temp);
	tcase_add_test(tc, remove_leftovers_only_the_writers);
	tcase_add_test(tc, mkdir_in_root_and_make_component);
	/* What needs root (a chown) runs as root alone. */
	if (geteuid() == 0)
		tcase_add_test(tc, set_owner_as_root);
	suite_add_tcase(s, tc);
	return s;
}
