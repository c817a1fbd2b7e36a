#include <fcntl.h>
#include "check-main.h"
#include "policy.h"
#include "unit-helpers.h"

static struct userdb *db;
static char *root;
static struct policy_input in;

static void setup(void)
{
	int fd;

	root = unit_tmproot();
	unit_write(root, "etc/passwd",
		   "root:x:0:0::/root:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/bash\n"
		   "bob:x:1002:1002::/home/bob:/bin/bash\n");
	unit_write(root, "etc/group", "root:x:0:\nalice:x:1001:\nbob:x:1002:\n");
	fd = open(root, O_PATH | O_DIRECTORY);
	ck_assert_int_eq(userdb_load(fd, &db), 0);
	close(fd);
	in = (struct policy_input){.mode = POLICY_SSHD, .user = userdb_by_name(db, "alice"),
				   .db = db};
}

static void teardown(void)
{
	userdb_free(db);
	unit_rmtree(root);
	free(root);
}

static enum policy_result expect_of(const struct stat *st, const struct stat *parent, enum zone z,
				    bool is_file, struct expect *x)
{
	struct policy_element el = {.st = st, .parent = parent, .zone = z, .is_file = is_file};

	return policy_expect(&in, &el, x);
}

static struct stat st_of(mode_t type_mode, uid_t uid, gid_t gid)
{
	return (struct stat){.st_mode = type_mode, .st_uid = uid, .st_gid = gid, .st_nlink = 1};
}

static const struct stat root_dir = {.st_mode = S_IFDIR | 0755};
static const struct stat user_dir = {.st_mode = S_IFDIR | 0700, .st_uid = 1001, .st_gid = 1001};

START_TEST(sshd_clears_group_other_write_only)
{
	struct stat st = st_of(S_IFDIR | 0777, 1001, 1001);
	struct expect x;

	ck_assert_int_eq(expect_of(&st, &user_dir, ZONE_INSIDE, false, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.mode, 0755);
	ck_assert_uint_eq(x.uid, 1001);
	/* 6777: set-id bits stay, as everything sshd does not care about. */
	st.st_mode = S_IFDIR | 06777;
	expect_of(&st, &user_dir, ZONE_INSIDE, false, &x);
	ck_assert_uint_eq(x.mode, 06755);
	/* Already fine: nothing to do. */
	st.st_mode = S_IFDIR | 0750;
	ck_assert_int_eq(expect_of(&st, &user_dir, ZONE_INSIDE, false, &x),
			 POLICY_MATCHES);
}
END_TEST

START_TEST(sshd_adds_access)
{
	struct stat st = st_of(S_IFREG | 0200, 1001, 1001);
	struct expect x;

	expect_of(&st, &user_dir, ZONE_INSIDE, true, &x);
	ck_assert_uint_eq(x.mode, 0600);
	/* A root-owned unreadable keys file becomes readable by others, not chowned. */
	st = st_of(S_IFREG | 0600, 0, 0);
	expect_of(&st, &user_dir, ZONE_INSIDE, true, &x);
	ck_assert_uint_eq(x.uid, 0);
	ck_assert_uint_eq(x.mode, 0604);
	/* /home root 0700: o+x. */
	st = st_of(S_IFDIR | 0700, 0, 0);
	expect_of(&st, &root_dir, ZONE_HOME_PARENT, false, &x);
	ck_assert_uint_eq(x.mode, 0701);
	/* The group already lets alice in: nothing to add. */
	st = st_of(S_IFDIR | 0710, 0, 1001);
	ck_assert_int_eq(expect_of(&st, &root_dir, ZONE_HOME_PARENT, false, &x),
			 POLICY_MATCHES);
}
END_TEST

START_TEST(owners)
{
	struct stat st = st_of(S_IFDIR | 0700, 1002, 1002);
	struct expect x;

	/* bob owns alice's home in a root-only /home: the user could not plant it. */
	ck_assert_int_eq(expect_of(&st, &root_dir, ZONE_HOME, false, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.uid, 1001);
	ck_assert_uint_eq(x.gid, 1001);
	/* bob owns .ssh inside alice's home: may have been moved in, refuse. */
	ck_assert_int_eq(expect_of(&st, &user_dir, ZONE_INSIDE, false, &x),
			 POLICY_FOREIGN);
	/* An unknown uid is taken. */
	st.st_uid = 4242;
	ck_assert_int_eq(expect_of(&st, &user_dir, ZONE_INSIDE, false, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.uid, 1001);
	/* Outside home the owner is root. */
	st = st_of(S_IFDIR | 0755, 1001, 1001);
	expect_of(&st, &root_dir, ZONE_HOME_PARENT, false, &x);
	ck_assert_uint_eq(x.uid, 0);
	/* Root-owned .ssh stays root's under Mode=sshd. */
	st = st_of(S_IFDIR | 0755, 0, 0);
	ck_assert_int_eq(expect_of(&st, &user_dir, ZONE_INSIDE, false, &x),
			 POLICY_MATCHES);
}
END_TEST

START_TEST(sticky_above_home_is_left_writable)
{
	struct stat st = st_of(S_IFDIR | 01777, 0, 0);
	struct expect x;

	/* /tmp above a home: shared by design, and sshd does not check it. */
	ck_assert_int_eq(expect_of(&st, &root_dir, ZONE_HOME_PARENT, false, &x), POLICY_MATCHES);
	ck_assert_int_eq(expect_of(&st, &root_dir, ZONE_OUTSIDE, false, &x), POLICY_MATCHES);
	/* A sticky home or .ssh is the user's own: write for others still goes. */
	st = st_of(S_IFDIR | 01777, 1001, 1001);
	expect_of(&st, &root_dir, ZONE_HOME, false, &x);
	ck_assert_uint_eq(x.mode, 01755);
}
END_TEST

START_TEST(acl_access_is_kept)
{
	struct stat st = st_of(S_IFREG | 0600, 0, 0);
	struct policy_element el = {.st = &st, .parent = &user_dir, .zone = ZONE_INSIDE,
				    .is_file = true, .user_has_access = true};
	struct expect x;

	/* An ACL lets alice read root's 0600 file: no o+r. */
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_MATCHES);
	el.user_has_access = false;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.mode, 0604);
}
END_TEST

START_TEST(strict)
{
	struct stat st = st_of(S_IFDIR | 0755, 0, 0);
	struct expect x;

	in.mode = POLICY_STRICT;
	expect_of(&st, &user_dir, ZONE_INSIDE, false, &x);
	ck_assert_uint_eq(x.uid, 1001);
	ck_assert_uint_eq(x.gid, 1001);
	ck_assert_uint_eq(x.mode, 0700);
	st = st_of(S_IFREG | 0644, 1001, 1001);
	expect_of(&st, &user_dir, ZONE_INSIDE, true, &x);
	ck_assert_uint_eq(x.mode, 0600);
	st = st_of(S_IFDIR | 0711, 0, 0);
	expect_of(&st, &root_dir, ZONE_HOME_PARENT, false, &x);
	ck_assert_uint_eq(x.mode, 0755);
	st = st_of(S_IFDIR | 02770, 1001, 1001);
	expect_of(&st, &root_dir, ZONE_HOME, false, &x);
	ck_assert_uint_eq(x.mode, 0700);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sshd_clears_group_other_write_only);
	tcase_add_test(tc, sshd_adds_access);
	tcase_add_test(tc, owners);
	tcase_add_test(tc, sticky_above_home_is_left_writable);
	tcase_add_test(tc, acl_access_is_kept);
	tcase_add_test(tc, strict);
	suite_add_tcase(s, tc);
	return s;
}
