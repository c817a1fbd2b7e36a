/* SPDX-License-Identifier: Apache-2.0 */
#include "check-main.h"
#include "engine.h"
#include "keyindex.h"
#include "keys.h"
#include "unit-helpers.h"

/*
 * The daemon's index of keys on a throw-away root: root, a, b, c, d and e, each a login user (in
 * that order, numbers 0 to 5); a and b hold K1, c holds K2 twice and K3 on a line sshd refuses (a
 * plain key with principals=), d's keys file is a symlink; e's has a second name.
 */

#define K1 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJVmvpjWdj8D+pjtP2HrVxEneNMnJmp06fAmcsvW+ItN t1\n"
#define K2 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFi83hWvE/lGFyFg3sdPOAKq9GXUUgrApIRgyBmZDsx1 t2\n"
#define K3 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8nps1/9sSWbtPcJ9wb7Hs1HYdDCYt9Ur4Y7P3AQ6lD t3\n"

static char *root;
static struct engine *e;
static const struct user **users;
static size_t n_users;
static struct keyindex *x;

static void fp_of(const char *line, char fp[64])
{
	struct key_line k;

	ck_assert_int_eq(key_parse_line(line, strlen(line) - 1, 0, &k, NULL, 0), 0);
	memcpy(fp, k.fingerprint, 64);
	key_line_done(&k);
}

/* The holders of LINE's key (NULL: any key) but EXCEPT, at most MAX, as "1,2". */
static const char *holders(const char *line, const char *except, size_t max)
{
	static char buf[64];
	size_t held[8], n;
	char fp[64];

	if (line)
		fp_of(line, fp);
	n = keyindex_holders(x, line ? fp : NULL, except, max, held);
	buf[0] = 0;
	for (size_t k = 0; k < n; k++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%zu", k ? "," : "",
			 held[k]);
	return buf;
}

static void read_all(void)
{
	for (size_t i = 0; i < n_users; i++)
		ck_assert_int_eq(keyindex_read_user(x, e, i), 0);
}

static void setup(void)
{
	char path[4200], err[512];

	root = unit_tmproot();
	ck_assert_int_eq(chmod(root, 0755), 0);
	unit_write(root, "etc/passwd",
		   "root:x:0:0::/root:/bin/sh\n"
		   "a:x:20001:20001::/home/a:/bin/sh\n"
		   "b:x:20002:20002::/home/b:/bin/sh\n"
		   "c:x:20003:20003::/home/c:/bin/sh\n"
		   "d:x:20004:20004::/home/d:/bin/sh\n"
		   "e:x:20005:20005::/home/e:/bin/sh\n");
	unit_write(root, "etc/group", "root:x:0:\n");
	unit_write(root, "home/a/.ssh/authorized_keys", K1);
	unit_write(root, "home/b/.ssh/authorized_keys2", K2 K1);
	unit_write(root, "home/b/.ssh/authorized_keys", "# none here\n");
	unit_write(root, "home/c/.ssh/authorized_keys", K2 K2 "principals=\"x\" " K3);
	unit_write(root, "home/d/.ssh/elsewhere", K1);
	snprintf(path, sizeof(path), "%s/home/d/.ssh/authorized_keys", root);
	ck_assert_int_eq(symlink("elsewhere", path), 0);
	unit_write(root, "home/e/.ssh/authorized_keys", K1);
	snprintf(path, sizeof(path), "%s/home/e/.ssh/authorized_keys", root);
	snprintf(err, sizeof(err), "%s/home/e/.ssh/other", root);
	ck_assert_int_eq(link(path, err), 0);
	ck_assert_msg(engine_open(root, NULL, &e, err, sizeof(err)) == 0, "engine_open: %s", err);
	ck_assert_int_eq(engine_select_users(e, NULL, &users, &n_users, err, sizeof(err)), 0);
	ck_assert_uint_eq(n_users, 6);
	ck_assert_int_eq(keyindex_new(&x), 0);
	ck_assert_int_eq(keyindex_reset(x, e, users, n_users), 0);
}

static void teardown(void)
{
	keyindex_free(x);
	free(users);
	engine_free(e);
	unit_rmtree(root);
	free(root);
}

START_TEST(holders_in_order)
{
	ck_assert(!keyindex_known(x, 1));
	ck_assert_str_eq(holders(K1, NULL, 8), ""); /* nothing read yet */
	read_all();
	ck_assert_str_eq(holders(K1, NULL, 8), "1,2");
	ck_assert_str_eq(holders(K1, "a", 8), "2");
	ck_assert_str_eq(holders(K1, NULL, 1), "1");
	ck_assert_str_eq(holders(K2, NULL, 8), "2,3");
	/* A line sshd refuses for its options holds no key, as for why's scan. */
	ck_assert_str_eq(holders(K3, NULL, 8), "");
	ck_assert_str_eq(holders(NULL, NULL, 8), "1,2,3");
	ck_assert_str_eq(holders(NULL, "b", 2), "1,3");
}
END_TEST

START_TEST(symlink_unknown)
{
	read_all();
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(keyindex_known(x, i), "user %zu", i);
	/* why follows it; the daemon's watches may not: not vouched for. */
	ck_assert(!keyindex_known(x, 4));
	/* A change through its other name is seen by no watch. */
	ck_assert(!keyindex_known(x, 5));
}
END_TEST

START_TEST(changes)
{
	read_all();
	unit_write(root, "home/b/.ssh/authorized_keys2", K3);
	ck_assert_int_eq(keyindex_read_user(x, e, 2), 0);
	ck_assert_str_eq(holders(K1, NULL, 8), "1");
	ck_assert_str_eq(holders(K2, NULL, 8), "3");
	ck_assert_str_eq(holders(K3, NULL, 8), "2");
	keyindex_forget(x, 1);
	ck_assert(!keyindex_known(x, 1));
	ck_assert_str_eq(holders(K1, NULL, 8), "");
	ck_assert_int_eq(keyindex_read_user(x, e, 1), 0);
	ck_assert_str_eq(holders(K1, NULL, 8), "1");
	keyindex_forget_all(x);
	ck_assert_str_eq(holders(K2, NULL, 8), "");
	/* A reset forgets every user; blind until it succeeds. */
	ck_assert(!keyindex_blind(x));
	keyindex_set_blind(x, true);
	ck_assert(keyindex_blind(x));
	ck_assert_int_eq(keyindex_reset(x, e, users, n_users), 0);
	ck_assert(!keyindex_blind(x));
	ck_assert(!keyindex_known(x, 3));
}
END_TEST

START_TEST(stale_read_again)
{
	/* Healed users are read again later, in batches, each once, the others left alone. */
	for (size_t i = 0; i < n_users; i++)
		keyindex_stale(x, i);
	keyindex_stale(x, 1);
	ck_assert_uint_eq(keyindex_refresh(x, 2), 4);
	ck_assert_uint_eq(keyindex_refresh(x, SIZE_MAX), 0);
	ck_assert_str_eq(holders(K1, NULL, 8), "1,2");
	/* A change the index has not read yet: stale, unknown (never answered from) until read. */
	unit_write(root, "home/b/.ssh/authorized_keys2", K3);
	keyindex_stale(x, 2);
	ck_assert(!keyindex_known(x, 2));
	ck_assert_str_eq(holders(K1, NULL, 8), "1");
	ck_assert_str_eq(holders(K3, NULL, 8), "");
	ck_assert_uint_eq(keyindex_refresh(x, SIZE_MAX), 0);
	ck_assert(keyindex_known(x, 2));
	ck_assert_str_eq(holders(K1, NULL, 8), "1");
	ck_assert_str_eq(holders(K3, NULL, 8), "2");
	/* Forgotten: no longer stale, unknown until read. */
	keyindex_stale(x, 3);
	keyindex_forget(x, 3);
	ck_assert_uint_eq(keyindex_refresh(x, SIZE_MAX), 0);
	ck_assert(!keyindex_known(x, 3));
}
END_TEST

START_TEST(digest)
{
	uint8_t d[SHA256_LEN];
	const struct user *swapped[6];

	ck_assert_int_eq(keyindex_digest(e, users, n_users, d), 0);
	ck_assert_mem_eq(d, keyindex_get_digest(x), SHA256_LEN);
	/* Another order, another set: another digest. */
	memcpy(swapped, users, sizeof(swapped));
	swapped[1] = users[2];
	swapped[2] = users[1];
	ck_assert_int_eq(keyindex_digest(e, swapped, n_users, d), 0);
	ck_assert_mem_ne(d, keyindex_get_digest(x), SHA256_LEN);
	ck_assert_int_eq(keyindex_digest(e, users, n_users - 1, d), 0);
	ck_assert_mem_ne(d, keyindex_get_digest(x), SHA256_LEN);
}
END_TEST

START_TEST(no_index)
{
	/* A daemon under --root keeps none: the calls that change it do nothing. */
	ck_assert_int_eq(keyindex_reset(NULL, e, users, n_users), 0);
	ck_assert_int_eq(keyindex_read_user(NULL, e, 1), 0);
	keyindex_forget(NULL, 1);
	keyindex_forget_all(NULL);
	keyindex_set_blind(NULL, true);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("keyindex");
	TCase *tc = tcase_create("keyindex");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, holders_in_order);
	tcase_add_test(tc, symlink_unknown);
	tcase_add_test(tc, changes);
	tcase_add_test(tc, stale_read_again);
	tcase_add_test(tc, digest);
	tcase_add_test(tc, no_index);
	suite_add_tcase(s, tc);
	return s;
}
