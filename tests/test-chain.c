/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "chain.h"
#include "check-main.h"
#include "unit-helpers.h"

static char *root;
static int rootfd = -1;

static void setup(void)
{
	char p[4200];

	root = unit_tmproot();
	chmod(root, 0755);
	unit_write(root, "data/home/alice/.ssh/authorized_keys", "");
	unit_write(root, "etc/shadow", "secret\n");
	snprintf(p, sizeof(p), "%s/home", root);
	ck_assert_int_eq(symlink("/data/home", p), 0);
	rootfd = open(root, O_PATH | O_DIRECTORY);
	ck_assert_int_ge(rootfd, 0);
}

static void teardown(void)
{
	close(rootfd);
	unit_rmtree(root);
	free(root);
}

static void at(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

START_TEST(trusted_symlink_followed)
{
	struct chain c;

	ck_assert_int_eq(chain_resolve(rootfd, "/home/alice/.ssh/authorized_keys", NULL, &c), 0);
	ck_assert_int_eq(c.status, CHAIN_OK);
	ck_assert_uint_eq(c.n_elems, 6);
	ck_assert_str_eq(c.elems[2].path, "/data/home");
	ck_assert_str_eq(chain_last(&c)->path, "/data/home/alice/.ssh/authorized_keys");
	ck_assert_uint_eq(c.n_links, 1);
	/* Trusted only where the link's directory is root's alone. */
	ck_assert(c.links[0].trusted == (geteuid() == 0));
	ck_assert(chain_last(&c)->tainted == (geteuid() != 0));
	chain_done(&c);
}
END_TEST

START_TEST(user_symlink_tainted_and_confined)
{
	struct chain c;
	char p[4200];

	/* A symlink in the user's .ssh to /etc/shadow means the root's /etc/shadow. */
	at("data/home/alice/.ssh/authorized_keys", p, sizeof(p));
	unlink(p);
	ck_assert_int_eq(symlink("/etc/shadow", p), 0);
	at("data/home/alice/.ssh", p, sizeof(p));
	ck_assert_int_eq(chown(p, 1001, 1001) == 0 || geteuid() != 0, 1);
	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/alice/.ssh/authorized_keys", NULL, &c),
			 0);
	ck_assert_int_eq(c.status, CHAIN_OK);
	ck_assert_str_eq(chain_last(&c)->path, "/etc/shadow");
	ck_assert(chain_last(&c)->tainted);
	ck_assert(!c.elems[0].tainted);
	ck_assert_str_eq(c.elems[1].path, "/etc");
	ck_assert(c.elems[1].tainted);
	ck_assert(!c.links[0].trusted);
	chain_done(&c);
}
END_TEST

START_TEST(dotdot_cannot_leave_root)
{
	struct chain c;

	ck_assert_int_eq(chain_resolve(rootfd, "/../../../etc/shadow", NULL, &c), 0);
	ck_assert_int_eq(c.status, CHAIN_OK);
	ck_assert_str_eq(chain_last(&c)->path, "/etc/shadow");
	chain_done(&c);
}
END_TEST

START_TEST(missing_and_notdir)
{
	struct chain c;

	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/bob/.ssh/authorized_keys", NULL, &c), 0);
	ck_assert_int_eq(c.status, CHAIN_MISSING);
	ck_assert_str_eq(c.stopped_at, "/data/home/bob");
	chain_done(&c);
	ck_assert_int_eq(chain_resolve(rootfd, "/etc/shadow/x", NULL, &c), 0);
	ck_assert_int_eq(c.status, CHAIN_NOTDIR);
	ck_assert_str_eq(c.stopped_at, "/etc/shadow");
	chain_done(&c);
}
END_TEST

START_TEST(symlink_loop)
{
	struct chain c;
	char p[4200];

	at("data/loop", p, sizeof(p));
	ck_assert_int_eq(symlink("loop", p), 0);
	ck_assert_int_eq(chain_resolve(rootfd, "/data/loop/x", NULL, &c), 0);
	ck_assert_int_eq(c.status, CHAIN_LOOP);
	chain_done(&c);
}
END_TEST

START_TEST(base_is_reused)
{
	struct chain home, c;

	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/alice", NULL, &home), 0);
	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/alice/.ssh/authorized_keys", &home, &c),
			 0);
	ck_assert_int_eq(c.status, CHAIN_OK);
	ck_assert_uint_eq(c.n_elems, 6);
	ck_assert(c.elems[3].borrowed);
	ck_assert_int_eq(c.elems[3].fd, home.elems[3].fd);
	ck_assert(!c.elems[4].borrowed);
	/* Every directory looked up in still needs search permission. */
	ck_assert_uint_eq(c.n_searched, 5);
	chain_done(&c);
	/* A path that leaves the base by ".." still resolves right. */
	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/alice/../../../etc/shadow", &home, &c),
			 0);
	ck_assert_str_eq(chain_last(&c)->path, "/etc/shadow");
	chain_done(&c);
	/* A sibling that merely shares a prefix of characters is not under the base. */
	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/alicex", &home, &c), 0);
	ck_assert_int_eq(c.status, CHAIN_MISSING);
	ck_assert(c.elems[2].borrowed);
	ck_assert_uint_eq(c.n_elems, 3);
	chain_done(&c);
	chain_done(&home);
}
END_TEST

START_TEST(rebase_takes_over_descriptors)
{
	struct chain base, c;
	int home_fd;

	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/alice", NULL, &base), 0);
	home_fd = base.elems[2].fd;
	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/alice/.ssh", &base, &c), 0);
	ck_assert(c.elems[2].borrowed);
	/* Cut to what lay above alice's home: it owns /data/home now, the old base is gone. */
	chain_rebase(&base, &c, 3);
	ck_assert_uint_eq(c.n_elems, 0);
	ck_assert_uint_eq(base.n_elems, 3);
	ck_assert_int_eq(base.elems[2].fd, home_fd);
	ck_assert(!base.elems[2].borrowed);
	ck_assert(base.elems[0].borrowed); /* the root stays the caller's */
	ck_assert_int_ge(fcntl(home_fd, F_GETFD), 0);
	/* The next walk starts from it. */
	ck_assert_int_eq(chain_resolve(rootfd, "/data/home/alice/.ssh/authorized_keys", &base, &c),
			 0);
	ck_assert_int_eq(c.status, CHAIN_OK);
	ck_assert_int_eq(c.elems[2].fd, home_fd);
	chain_done(&c);
	chain_done(&base);
	ck_assert_int_lt(fcntl(home_fd, F_GETFD), 0);
	ck_assert_int_ge(fcntl(rootfd, F_GETFD), 0);
}
END_TEST

START_TEST(fifo_does_not_hang)
{
	struct chain c;
	char p[4200];

	at("data/fifo", p, sizeof(p));
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	ck_assert_int_eq(chain_resolve(rootfd, "/data/fifo", NULL, &c), 0);
	ck_assert_int_eq(c.status, CHAIN_OK);
	ck_assert(S_ISFIFO(chain_last(&c)->st.st_mode));
	chain_done(&c);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, trusted_symlink_followed);
	tcase_add_test(tc, user_symlink_tainted_and_confined);
	tcase_add_test(tc, dotdot_cannot_leave_root);
	tcase_add_test(tc, missing_and_notdir);
	tcase_add_test(tc, symlink_loop);
	tcase_add_test(tc, base_is_reused);
	tcase_add_test(tc, rebase_takes_over_descriptors);
	tcase_add_test(tc, fifo_does_not_hang);
	suite_add_tcase(s, tc);
	return s;
}
