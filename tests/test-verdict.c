/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include "check-main.h"
#include "unit-helpers.h"
#include "verdict.h"

/*
 * Synthetic chains: "/" -> /home -> /home/alice -> .ssh -> authorized_keys, with
 * stats set per case, judged against the rules sshd applies.
 */
static struct userdb *db;
static const struct user *alice;
static char *root;

static void setup(void)
{
	int fd;

	root = unit_tmproot();
	unit_write(root, "etc/passwd",
		   "root:x:0:0::/root:/bin/bash\n"
		   "alice:x:1001:1001::/home/alice:/bin/bash\n"
		   "bob:x:1002:1002::/home/bob:/bin/bash\n"
		   "carol:x:1003:1100::/home/carol:/bin/bash\n"
		   "dave:x:1004:1100::/home/dave:/bin/bash\n");
	unit_write(root, "etc/group",
		   "root:x:0:\nalice:x:1001:\nbob:x:1002:\nshared:x:1100:\nstaff:x:50:alice\n"
		   "listed:x:1200:alice\n");
	fd = open(root, O_PATH | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(userdb_load(fd, &db), 0);
	close(fd);
	alice = userdb_by_name(db, "alice");
	ck_assert_ptr_nonnull(alice);
}

static void teardown(void)
{
	userdb_free(db);
	unit_rmtree(root);
	free(root);
}

struct fake {
	struct chain c;
	struct chain_elem e[5];
	struct stat searched[4];
	char *spaths[4];
};

static void fake_chain(struct fake *f, mode_t home_mode, mode_t ssh_mode, mode_t file_mode)
{
	static const char *paths[] = {"/", "/home", "/home/alice", "/home/alice/.ssh",
				      "/home/alice/.ssh/authorized_keys"};
	mode_t modes[] = {S_IFDIR | 0755, S_IFDIR | 0755, S_IFDIR | home_mode, S_IFDIR | ssh_mode,
			  S_IFREG | file_mode};

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 5; i++) {
		f->e[i].path = (char *)paths[i];
		f->e[i].fd = -1;
		f->e[i].st.st_ino = (ino_t)(i + 1);
		f->e[i].st.st_mode = modes[i];
		f->e[i].st.st_uid = i < 2 ? 0 : 1001;
		f->e[i].st.st_gid = i < 2 ? 0 : 1001;
		f->e[i].st.st_nlink = 1;
		if (i < 4) {
			f->searched[i] = f->e[i].st;
			f->spaths[i] = (char *)paths[i];
		}
	}
	f->c.elems = f->e;
	f->c.n_elems = 5;
	f->c.searched = f->searched;
	f->c.searched_paths = f->spaths;
	f->c.n_searched = 4;
	f->c.status = CHAIN_OK;
}

static void resync(struct fake *f)
{
	for (int i = 0; i < 4; i++)
		f->searched[i] = f->e[i].st;
}

/* Alice under an upstream sshd with StrictModes, her home resolved to HOME. */
static struct verdict_input strict_upstream(const char *home)
{
	return (struct verdict_input){.db = db,
				      .user = alice,
				      .strict_modes = true,
				      .flavor = FLAVOR_UPSTREAM,
				      .home_realpath = home};
}

static bool judge(struct fake *f, enum sshd_flavor flavor, bool strict, struct verdict *v)
{
	struct verdict_input in = {.db = db,
				   .user = alice,
				   .strict_modes = strict,
				   .flavor = flavor,
				   .home_realpath = "/home/alice"};

	resync(f);
	verdict_keys_file(&in, "/home/alice/.ssh/authorized_keys", &f->c, v);
	return v->accepts;
}

START_TEST(accepts_clean_chain)
{
	struct fake f;
	struct verdict v;

	fake_chain(&f, 0700, 0700, 0600);
	ck_assert(judge(&f, FLAVOR_UPSTREAM, true, &v));
	ck_assert(judge(&f, FLAVOR_DEBIAN, true, &v));
	ck_assert_str_eq(v.message, "");
}
END_TEST

START_TEST(world_writable_home)
{
	struct fake f;
	struct verdict v;

	fake_chain(&f, 0777, 0700, 0600);
	ck_assert(!judge(&f, FLAVOR_DEBIAN, true, &v));
	ck_assert_str_eq(
	    v.message, "Authentication refused: bad ownership or modes for directory /home/alice");
	ck_assert_str_eq(v.blamed, "/home/alice");
	/* StrictModes no: only the open and regular-file checks remain. */
	ck_assert(judge(&f, FLAVOR_UPSTREAM, false, &v));
}
END_TEST

START_TEST(group_writable_private_group)
{
	struct fake f;
	struct verdict v;

	/* alice's group 1001 has alice alone: Debian accepts, upstream refuses. */
	fake_chain(&f, 0775, 0770, 0660);
	ck_assert(judge(&f, FLAVOR_DEBIAN, true, &v));
	ck_assert(!judge(&f, FLAVOR_UPSTREAM, true, &v));
	ck_assert_str_eq(v.message, "Authentication refused: bad ownership or modes for file "
				    "/home/alice/.ssh/authorized_keys");
}
END_TEST

START_TEST(group_writable_shared_group)
{
	struct fake f;
	struct verdict v;

	/* A group with two members by primary gid is no private group. */
	fake_chain(&f, 0775, 0700, 0600);
	f.e[2].st.st_gid = 1100;
	ck_assert(!judge(&f, FLAVOR_DEBIAN, true, &v));
	/* A group whose only listed member is alice but which is nobody's primary... */
	f.e[2].st.st_gid = 1200;
	ck_assert(judge(&f, FLAVOR_DEBIAN, true, &v));
	/* ...and an unknown group. */
	f.e[2].st.st_gid = 4242;
	ck_assert(!judge(&f, FLAVOR_DEBIAN, true, &v));
}
END_TEST

START_TEST(owner_rules)
{
	struct fake f;
	struct verdict v;

	fake_chain(&f, 0700, 0755, 0644);
	f.e[3].st.st_uid = 0; /* root-owned .ssh 0755 is fine */
	f.e[4].st.st_uid = 0; /* root-owned readable keys are fine */
	ck_assert(judge(&f, FLAVOR_UPSTREAM, true, &v));
	f.e[3].st.st_uid = 1002; /* bob's .ssh */
	ck_assert(!judge(&f, FLAVOR_UPSTREAM, true, &v));
	ck_assert_str_eq(v.blamed, "/home/alice/.ssh");
}
END_TEST

START_TEST(unreadable_root_file)
{
	struct fake f;
	struct verdict v;

	fake_chain(&f, 0700, 0700, 0600);
	f.e[4].st.st_uid = 0;
	ck_assert(!judge(&f, FLAVOR_UPSTREAM, false, &v));
	ck_assert_str_eq(v.message, "Could not open user 'alice' authorized keys "
				    "'/home/alice/.ssh/authorized_keys': Permission denied");
	/* Through the group it can read it. */
	f.e[4].st.st_gid = 50;
	f.e[4].st.st_mode = S_IFREG | 0640;
	ck_assert(judge(&f, FLAVOR_UPSTREAM, true, &v));
}
END_TEST

START_TEST(no_search_on_home_parent)
{
	struct fake f;
	struct verdict v;

	fake_chain(&f, 0700, 0700, 0600);
	f.e[1].st.st_mode = S_IFDIR | 0700; /* /home root 0700 */
	ck_assert(!judge(&f, FLAVOR_DEBIAN, true, &v));
	ck_assert_str_eq(v.blamed, "/home");
	/* /home's modes are not checked by safe_path, only searched. */
	f.e[1].st.st_mode = S_IFDIR | 0777;
	ck_assert(judge(&f, FLAVOR_UPSTREAM, true, &v));
}
END_TEST

START_TEST(outside_home_checks_to_root)
{
	struct fake f;
	struct verdict v;
	struct verdict_input in = strict_upstream("/elsewhere");

	fake_chain(&f, 0700, 0700, 0600);
	f.e[1].st.st_mode = S_IFDIR | 0777;
	resync(&f);
	verdict_keys_file(&in, "/home/alice/.ssh/authorized_keys", &f.c, &v);
	ck_assert(!v.accepts);
	ck_assert_str_eq(v.blamed, "/home");
}
END_TEST

START_TEST(not_regular)
{
	struct fake f;
	struct verdict v;

	fake_chain(&f, 0700, 0700, 0600);
	f.e[4].st.st_mode = S_IFIFO | 0600;
	ck_assert(!judge(&f, FLAVOR_UPSTREAM, true, &v));
	ck_assert_str_eq(v.message,
			 "User 'alice' authorized keys '/home/alice/.ssh/authorized_keys' "
			 "is not a regular file");
	f.e[4].st.st_mode = S_IFSOCK | 0600;
	ck_assert(!judge(&f, FLAVOR_UPSTREAM, true, &v));
}
END_TEST

START_TEST(missing_is_silent)
{
	struct fake f;
	struct verdict v;

	fake_chain(&f, 0777, 0700, 0600);
	f.c.status = CHAIN_MISSING;
	f.c.n_elems = 4;
	ck_assert(judge(&f, FLAVOR_UPSTREAM, true, &v));
}
END_TEST

/* Each element is judged on its own: all that sshd would blame, not only the first. */
START_TEST(each_element_alone)
{
	struct fake f;
	struct verdict v;
	struct verdict_input in = strict_upstream("/home/alice");
	const char *path = "/home/alice/.ssh/authorized_keys";
	char buf[VERDICT_MESSAGE_MAX];

	fake_chain(&f, 0777, 0700, 0600);
	f.e[1].st.st_mode = S_IFDIR | 0777; /* above the home: safe_path() stops there */
	f.e[4].st.st_uid = 0;		    /* root's 0600: alice cannot read it */
	resync(&f);
	verdict_keys_file(&in, path, &f.c, &v);
	ck_assert(!v.accepts);
	ck_assert_str_eq(v.blamed, path);
	ck_assert_ptr_null(verdict_element(&in, path, &f.c, 0, &v, buf, sizeof(buf)));
	ck_assert_ptr_null(verdict_element(&in, path, &f.c, 1, &v, buf, sizeof(buf)));
	ck_assert_str_eq(
	    verdict_element(&in, path, &f.c, 2, &v, buf, sizeof(buf)),
	    "Authentication refused: bad ownership or modes for directory /home/alice");
	ck_assert_ptr_null(verdict_element(&in, path, &f.c, 3, &v, buf, sizeof(buf)));
	ck_assert_str_eq(verdict_element(&in, path, &f.c, 4, &v, buf, sizeof(buf)), v.message);
	ck_assert_str_eq(verdict_message_body(buf), "Could not open user 'alice' authorized keys "
						    "'/home/alice/.ssh/authorized_keys': "
						    "Permission denied");
	/* On the way to a symlink: search alone. */
	f.e[1].st.st_mode = S_IFDIR | 0700;
	ck_assert_ptr_nonnull(verdict_search_element(&in, path, &f.e[1], buf, sizeof(buf)));
	ck_assert_ptr_null(verdict_search_element(&in, path, &f.e[2], buf, sizeof(buf)));
	/* A walk that stopped: the element it stopped at carries the verdict's words. */
	fake_chain(&f, 0700, 0700, 0600);
	f.c.status = CHAIN_NOTDIR;
	f.c.n_elems = 4;
	f.c.stopped_at = "/home/alice/.ssh";
	f.e[3].st.st_mode = S_IFREG | 0700; /* searchable: the open fails further on */
	resync(&f);
	verdict_keys_file(&in, path, &f.c, &v);
	ck_assert_str_eq(verdict_element(&in, path, &f.c, 3, &v, buf, sizeof(buf)),
			 "Could not open user 'alice' authorized keys "
			 "'/home/alice/.ssh/authorized_keys': Not a directory");
	ck_assert_ptr_null(verdict_element(&in, path, &f.c, 2, &v, buf, sizeof(buf)));
}
END_TEST

/* The decision on a keys file as it lies in a root, with no chain at hand. */
START_TEST(decision_from_path)
{
	struct userdb *mine = NULL;
	char passwd[256], path[4200];
	struct verdict_input in = {.strict_modes = true, .flavor = FLAVOR_UPSTREAM};
	struct verdict v;
	int fd;

	snprintf(passwd, sizeof(passwd), "me:x:%u:%u::/home/me:/bin/sh\n", getuid(), getgid());
	unit_write(root, "etc/passwd", passwd);
	unit_write(root, "home/me/.ssh/authorized_keys", "");
	snprintf(path, sizeof(path), "%s/home/me", root);
	ck_assert_int_eq(chmod(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/home/me/.ssh", root);
	ck_assert_int_eq(chmod(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/home/me/.ssh/authorized_keys", root);
	ck_assert_int_eq(chmod(path, 0600), 0);
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(userdb_load(fd, &mine), 0);
	in.db = mine;
	in.user = userdb_by_name(mine, "me");
	ck_assert_ptr_nonnull(in.user);
	ck_assert_int_eq(verdict_path(fd, &in, "/home/me/.ssh/authorized_keys", &v), 0);
	ck_assert_msg(v.accepts, "%s", v.message);
	snprintf(path, sizeof(path), "%s/home/me", root);
	ck_assert_int_eq(chmod(path, 0777), 0);
	ck_assert_int_eq(verdict_path(fd, &in, "/home/me/.ssh/authorized_keys", &v), 0);
	ck_assert(!v.accepts);
	ck_assert_str_eq(v.message,
			 "Authentication refused: bad ownership or modes for directory /home/me");
	ck_assert_str_eq(v.blamed, "/home/me");
	/* Outside the home, safe_path() goes up to "/": the root's own 0777 /home is blamed. */
	unit_write(root, "keys/me", "");
	snprintf(path, sizeof(path), "%s/keys/me", root);
	ck_assert_int_eq(chmod(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/keys", root);
	ck_assert_int_eq(chmod(path, 0777), 0);
	ck_assert_int_eq(verdict_path(fd, &in, "/keys/me", &v), 0);
	ck_assert(!v.accepts);
	ck_assert_str_eq(v.blamed, "/keys");
	close(fd);
	userdb_free(mine);
}
END_TEST

START_TEST(root_user)
{
	const struct user *r = userdb_by_name(db, "root");
	struct stat st = {.st_mode = S_IFDIR | 0000, .st_uid = 1002};

	ck_assert(verdict_user_may(r, &st, X_OK));
	ck_assert(!verdict_user_may(alice, &st, X_OK));
	st.st_mode = S_IFDIR | 0001;
	ck_assert(verdict_user_may(alice, &st, X_OK));
	st.st_gid = 50; /* alice is in staff: the group bits decide, not other */
	st.st_mode = S_IFDIR | 0001;
	ck_assert(!verdict_user_may(alice, &st, X_OK));
}
END_TEST

/* The ACL read of a directory is remembered as absent; an ACL set later is seen all the same. */
START_TEST(acl_set_after_cached_absence)
{
	/* system.posix_acl_access, little endian: user::rwx user:1001:r-x group::rwx mask::rwx
	 * other::--- */
	static const unsigned char acl[] = {
	    2, 0,    0,	   0,	 0x01, 0,    7,	   0, 0xff, 0xff, 0xff, 0xff, 0x02, 0,	  5,
	    0, 0xe9, 0x03, 0,	 0,    0x04, 0,	   7, 0,    0xff, 0xff, 0xff, 0xff, 0x10, 0,
	    7, 0,    0xff, 0xff, 0xff, 0xff, 0x20, 0, 0,    0,	  0xff, 0xff, 0xff, 0xff,
	};
	struct timespec pause = {0, 50 * 1000000L};
	char *dir;
	struct stat st;
	int fd;

	ck_assert_int_ge(asprintf(&dir, "%s/shared", root), 0);
	ck_assert_int_eq(mkdir(dir, 0770), 0);
	ck_assert_int_eq(chmod(dir, 0770), 0);
	/* The ctime well behind the clock: an absence seen now is remembered. */
	nanosleep(&pause, NULL);
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(st.st_uid != alice->uid && st.st_gid != alice->gid);
	ck_assert(!verdict_user_may_fd(alice, fd, &st, X_OK));
	ck_assert(!verdict_user_may_fd(alice, fd, &st, X_OK));
	if (setxattr(dir, "system.posix_acl_access", acl, sizeof(acl), 0) < 0) {
		ck_assert_msg(errno == EOPNOTSUPP, "setxattr: %s", strerror(errno));
		fprintf(stderr, "acl_set_after_cached_absence: no POSIX ACLs on %s, skipped\n",
			root);
	} else {
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert(verdict_user_may_fd(alice, fd, &st, X_OK));
		ck_assert(!verdict_user_may_fd(userdb_by_name(db, "bob"), fd, &st, X_OK));
	}
	close(fd);
	free(dir);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, accepts_clean_chain);
	tcase_add_test(tc, world_writable_home);
	tcase_add_test(tc, group_writable_private_group);
	tcase_add_test(tc, group_writable_shared_group);
	tcase_add_test(tc, owner_rules);
	tcase_add_test(tc, unreadable_root_file);
	tcase_add_test(tc, no_search_on_home_parent);
	tcase_add_test(tc, outside_home_checks_to_root);
	tcase_add_test(tc, not_regular);
	tcase_add_test(tc, missing_is_silent);
	tcase_add_test(tc, root_user);
	tcase_add_test(tc, each_element_alone);
	tcase_add_test(tc, decision_from_path);
	tcase_add_test(tc, acl_set_after_cached_absence);
	suite_add_tcase(s, tc);
	return s;
}
