/* SPDX-License-Identifier: Apache-2.0 */
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
	in = (struct policy_input){
	    .mode = POLICY_SSHD, .user = userdb_by_name(db, "alice"), .db = db};
}

static void teardown(void)
{
	userdb_free(db);
	unit_rmtree(root);
	free(root);
}

/* PLANTABLE: a directory above the element was alice's (true), or none was (false). */
static enum policy_result expect_of(const struct stat *st, bool plantable, enum zone z,
				    bool is_file, struct expect *x)
{
	struct policy_element el = {
	    .st = st, .plantable = plantable, .zone = z, .is_file = is_file};

	return policy_expect(&in, &el, x);
}

static struct stat st_of(mode_t type_mode, uid_t uid, gid_t gid)
{
	return (struct stat){.st_mode = type_mode, .st_uid = uid, .st_gid = gid, .st_nlink = 1};
}

#define BELOW_ROOT_ONLY false
#define BELOW_USERS true

START_TEST(sshd_clears_group_other_write_only)
{
	struct stat st = st_of(S_IFDIR | 0777, 1001, 1001);
	struct expect x;

	ck_assert_int_eq(expect_of(&st, BELOW_USERS, ZONE_INSIDE, false, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.mode, 0755);
	ck_assert_uint_eq(x.uid, 1001);
	/* 6777: set-id bits stay, as everything sshd does not care about. */
	st.st_mode = S_IFDIR | 06777;
	expect_of(&st, BELOW_USERS, ZONE_INSIDE, false, &x);
	ck_assert_uint_eq(x.mode, 06755);
	/* Already fine: nothing to do. */
	st.st_mode = S_IFDIR | 0750;
	ck_assert_int_eq(expect_of(&st, BELOW_USERS, ZONE_INSIDE, false, &x), POLICY_MATCHES);
}
END_TEST

START_TEST(sshd_adds_access)
{
	struct stat st = st_of(S_IFREG | 0200, 1001, 1001);
	struct expect x;

	expect_of(&st, BELOW_USERS, ZONE_INSIDE, true, &x);
	ck_assert_uint_eq(x.mode, 0600);
	/* A root-owned unreadable keys file no directory of alice's holds: o+r, not chowned. */
	st = st_of(S_IFREG | 0600, 0, 0);
	ck_assert_int_eq(expect_of(&st, BELOW_ROOT_ONLY, ZONE_INSIDE, true, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.uid, 0);
	ck_assert_uint_eq(x.mode, 0604);
	/* /home root 0700: o+x. */
	st = st_of(S_IFDIR | 0700, 0, 0);
	expect_of(&st, BELOW_ROOT_ONLY, ZONE_HOME_PARENT, false, &x);
	ck_assert_uint_eq(x.mode, 0701);
	/* The group already lets alice in: nothing to add. */
	st = st_of(S_IFDIR | 0710, 0, 1001);
	ck_assert_int_eq(expect_of(&st, BELOW_ROOT_ONLY, ZONE_HOME_PARENT, false, &x),
			 POLICY_MATCHES);
}
END_TEST

/* chown -R root ~/.ssh leaves the group alice's: the group bits decide, not the others'. */
START_TEST(access_goes_to_the_class_that_applies)
{
	struct stat st = st_of(S_IFDIR | 0700, 0, 1001);
	struct policy_element el = {
	    .st = &st, .plantable = true, .zone = ZONE_INSIDE, .nothing_to_steal = true};
	struct expect x;

	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.mode, 0710);
	ck_assert_uint_eq(x.uid, 0);
	/* Holding what a .ssh does not (a root 0700 directory with a readable file in it,
	 * renamed to .ssh): not opened up. */
	el.nothing_to_steal = false;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_PLANTED);
	el.nothing_to_steal = true;
	st = st_of(S_IFREG | 0600, 0, 1001);
	el.is_file = true;
	el.nothing_to_steal = true;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.mode, 0640);
	/* Another group: the others' bits. */
	st = st_of(S_IFREG | 0600, 0, 1002);
	policy_expect(&in, &el, &x);
	ck_assert_uint_eq(x.mode, 0604);
	/* alice's own file: the owner's bits, even with the group's read set. */
	st = st_of(S_IFREG | 0040, 1001, 1001);
	policy_expect(&in, &el, &x);
	ck_assert_uint_eq(x.mode, 0440);
}
END_TEST

/* A root 0600 file renamed by alice to authorized_keys: not opened up, unless it is keys. */
START_TEST(planted_root_file_is_not_opened_up)
{
	struct stat st = st_of(S_IFREG | 0600, 0, 0);
	struct policy_element el = {
	    .st = &st, .plantable = true, .zone = ZONE_INSIDE, .is_file = true};
	struct expect x;

	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_PLANTED);
	in.mode = POLICY_STRICT;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_PLANTED);
	/* An unknown uid's file is not handed over either. */
	st.st_uid = 4242;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_PLANTED);
	in.mode = POLICY_SSHD;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_PLANTED);
	/* Nothing but keys in it: nothing to steal. */
	el.nothing_to_steal = true;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.uid, 1001);
	/* Readable by alice already: nothing new to see. */
	st = st_of(S_IFREG | 0644, 0, 0);
	el.nothing_to_steal = false;
	el.user_has_access = true;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_MATCHES);
	/* Outside any directory of alice's: the same mistake as its directory, repaired. */
	st = st_of(S_IFREG | 0600, 0, 0);
	el.user_has_access = false;
	el.plantable = false;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.mode, 0604);
}
END_TEST

START_TEST(owners)
{
	struct stat st = st_of(S_IFDIR | 0700, 1002, 1002);
	struct expect x;

	/* bob owns alice's home in a root-only /home: the user could not plant it. */
	ck_assert_int_eq(expect_of(&st, BELOW_ROOT_ONLY, ZONE_HOME, false, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.uid, 1001);
	ck_assert_uint_eq(x.gid, 1001);
	/* chown -R bob ~alice: .ssh below the home bob owns is the same mistake. */
	ck_assert_int_eq(expect_of(&st, BELOW_ROOT_ONLY, ZONE_INSIDE, false, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.uid, 1001);
	/* bob owns .ssh inside alice's own home: may have been moved in, refuse. */
	ck_assert_int_eq(expect_of(&st, BELOW_USERS, ZONE_INSIDE, false, &x), POLICY_FOREIGN);
	/* So is bob's file, whatever it holds. */
	st = st_of(S_IFREG | 0644, 1002, 1002);
	ck_assert_int_eq(expect_of(&st, BELOW_USERS, ZONE_INSIDE, true, &x), POLICY_FOREIGN);
	/* An unknown uid's directory where alice could have moved it: not given either... */
	st = st_of(S_IFDIR | 0700, 4242, 4242);
	ck_assert_int_eq(expect_of(&st, BELOW_USERS, ZONE_INSIDE, false, &x), POLICY_PLANTED);
	/* ...unless it holds nothing to steal. */
	{
		struct policy_element el = {
		    .st = &st, .plantable = true, .zone = ZONE_INSIDE, .nothing_to_steal = true};

		ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_CHANGE);
		ck_assert_uint_eq(x.uid, 1001);
	}
	ck_assert_int_eq(expect_of(&st, BELOW_ROOT_ONLY, ZONE_INSIDE, false, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.uid, 1001);
	/* Outside home the owner is root. */
	st = st_of(S_IFDIR | 0755, 1001, 1001);
	expect_of(&st, BELOW_ROOT_ONLY, ZONE_HOME_PARENT, false, &x);
	ck_assert_uint_eq(x.uid, 0);
	/* Root-owned .ssh stays root's under Mode=sshd. */
	st = st_of(S_IFDIR | 0755, 0, 0);
	ck_assert_int_eq(expect_of(&st, BELOW_USERS, ZONE_INSIDE, false, &x), POLICY_MATCHES);
}
END_TEST

START_TEST(sticky_above_home_is_left_writable)
{
	struct stat st = st_of(S_IFDIR | 01777, 0, 0);
	struct expect x;

	/* /tmp above a home: shared by design, and sshd does not check it. */
	ck_assert_int_eq(expect_of(&st, BELOW_ROOT_ONLY, ZONE_HOME_PARENT, false, &x),
			 POLICY_MATCHES);
	ck_assert_int_eq(expect_of(&st, BELOW_ROOT_ONLY, ZONE_OUTSIDE, false, &x), POLICY_MATCHES);
	/* A sticky home or .ssh is the user's own: write for others still goes. */
	st = st_of(S_IFDIR | 01777, 1001, 1001);
	expect_of(&st, BELOW_ROOT_ONLY, ZONE_HOME, false, &x);
	ck_assert_uint_eq(x.mode, 01755);
}
END_TEST

START_TEST(acl_access_is_kept)
{
	struct stat st = st_of(S_IFREG | 0600, 0, 0);
	struct policy_element el = {.st = &st,
				    .plantable = true,
				    .zone = ZONE_INSIDE,
				    .is_file = true,
				    .user_has_access = true};
	struct expect x;

	/* An ACL lets alice read root's 0600 file: no o+r. */
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_MATCHES);
	el.user_has_access = false;
	el.nothing_to_steal = true;
	ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_CHANGE);
	ck_assert_uint_eq(x.mode, 0604);
}
END_TEST

START_TEST(strict)
{
	struct stat st = st_of(S_IFDIR | 0755, 0, 0);
	struct expect x;

	in.mode = POLICY_STRICT;
	expect_of(&st, BELOW_ROOT_ONLY, ZONE_INSIDE, false, &x);
	ck_assert_uint_eq(x.uid, 1001);
	ck_assert_uint_eq(x.gid, 1001);
	ck_assert_uint_eq(x.mode, 0700);
	/* Root's .ssh in alice's own home, not known to hold nothing to steal: refused... */
	ck_assert_int_eq(expect_of(&st, BELOW_USERS, ZONE_INSIDE, false, &x), POLICY_PLANTED);
	/* ...unless alice could search it already: it stays root's, search for her. */
	{
		struct policy_element el = {
		    .st = &st, .plantable = true, .zone = ZONE_INSIDE, .user_has_access = true};

		ck_assert_int_eq(policy_expect(&in, &el, &x), POLICY_CHANGE);
		ck_assert_uint_eq(x.uid, 0);
		ck_assert_uint_eq(x.mode, 0701);
	}
	st = st_of(S_IFREG | 0644, 1001, 1001);
	expect_of(&st, BELOW_USERS, ZONE_INSIDE, true, &x);
	ck_assert_uint_eq(x.mode, 0600);
	st = st_of(S_IFDIR | 0711, 0, 0);
	expect_of(&st, BELOW_ROOT_ONLY, ZONE_HOME_PARENT, false, &x);
	ck_assert_uint_eq(x.mode, 0755);
	st = st_of(S_IFDIR | 02770, 1001, 1001);
	expect_of(&st, BELOW_ROOT_ONLY, ZONE_HOME, false, &x);
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
	tcase_add_test(tc, access_goes_to_the_class_that_applies);
	tcase_add_test(tc, planted_root_file_is_not_opened_up);
	tcase_add_test(tc, owners);
	tcase_add_test(tc, sticky_above_home_is_left_writable);
	tcase_add_test(tc, acl_access_is_kept);
	tcase_add_test(tc, strict);
	suite_add_tcase(s, tc);
	return s;
}
