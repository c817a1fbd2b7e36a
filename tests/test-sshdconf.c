/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "macro.h"
#include "sshdconf.h"
#include "strv.h"
#include "unit-helpers.h"

UNIT_ROOT_FIXTURE

static char **load(struct sshd_config *c, int expect)
{
	char err[512] = "";

	ck_assert_int_eq(sshd_config_load(rootfd, root, NULL, c, err, sizeof(err)), expect);
	return c->authorized_keys;
}

START_TEST(defaults_when_missing)
{
	struct sshd_config c;
	char **k = load(&c, 0);

	ck_assert_uint_eq(strv_length(k), 2);
	ck_assert_str_eq(k[0], ".ssh/authorized_keys");
	ck_assert_str_eq(k[1], ".ssh/authorized_keys2");
	ck_assert(c.strict_modes);
	sshd_config_done(&c);
}
END_TEST

START_TEST(first_occurrence_wins)
{
	struct sshd_config c;
	char **k;

	unit_write(root, "etc/ssh/sshd_config",
		   "# comment\n"
		   "Include sshd_config.d/*.conf\n"
		   "AuthorizedKeysFile .ssh/late\n"
		   "StrictModes yes\n");
	unit_write(root, "etc/ssh/sshd_config.d/10-a.conf",
		   "authorizedkeysfile=\"/etc/ssh/keys/%u\" %h/.ssh/ak # trailing\n"
		   "StrictModes no\n");
	unit_write(root, "etc/ssh/sshd_config.d/20-b.conf", "AuthorizedKeysFile .ssh/never\n");
	k = load(&c, 0);
	ck_assert_uint_eq(strv_length(k), 2);
	ck_assert_str_eq(k[0], "/etc/ssh/keys/%u");
	ck_assert_str_eq(k[1], "%h/.ssh/ak");
	ck_assert(!c.strict_modes);
	ck_assert(strv_contains(c.files, "/etc/ssh/sshd_config.d/20-b.conf"));
	ck_assert(strv_contains(c.include_dirs, "/etc/ssh/sshd_config.d"));
	sshd_config_done(&c);
}
END_TEST

START_TEST(match_blocks_union)
{
	struct sshd_config c;
	char **k;

	unit_write(root, "etc/ssh/sshd_config",
		   "Match User alice\n"
		   "  AuthorizedKeysFile /srv/keys/%u none\n"
		   "Match Group admins\n"
		   "  AuthorizedKeysFile .ssh/admin_keys\n");
	k = load(&c, 0);
	/* No global value: sshd's default, then every block's paths. */
	ck_assert_uint_eq(strv_length(k), 4);
	ck_assert_str_eq(k[2], "/srv/keys/%u");
	ck_assert_str_eq(k[3], ".ssh/admin_keys");
	sshd_config_done(&c);
}
END_TEST

START_TEST(global_after_match_keeps_blocks)
{
	struct sshd_config c;
	char **k;

	/* An Include of Match blocks first, then the main file's own global line: the global
	 * value comes first, and the blocks' paths stay watched. */
	unit_write(root, "etc/ssh/sshd_config",
		   "Include sshd_config.d/*.conf\n"
		   "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\n");
	unit_write(root, "etc/ssh/sshd_config.d/10-m.conf",
		   "Match User deploy\n"
		   "  AuthorizedKeysFile /srv/deploy/keys .ssh/authorized_keys\n");
	k = load(&c, 0);
	ck_assert_uint_eq(strv_length(k), 3);
	ck_assert_str_eq(k[0], ".ssh/authorized_keys");
	ck_assert_str_eq(k[1], "/etc/ssh/keys/%u");
	ck_assert_str_eq(k[2], "/srv/deploy/keys");
	sshd_config_done(&c);
	/* "none" alone globally: only what the blocks name. */
	unit_write(root, "etc/ssh/sshd_config",
		   "Include sshd_config.d/*.conf\nAuthorizedKeysFile none\n");
	k = load(&c, 0);
	ck_assert_uint_eq(strv_length(k), 2);
	ck_assert_str_eq(k[0], "/srv/deploy/keys");
	ck_assert_str_eq(k[1], ".ssh/authorized_keys");
	sshd_config_done(&c);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	struct sshd_config c;
	char err[512] = "";

	unit_write(root, "etc/ssh/sshd_config", "Port 22\nAuthorizedKeysFile \"unbalanced\n");
	ck_assert_int_eq(sshd_config_load(rootfd, root, NULL, &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "/etc/ssh/sshd_config:2: unbalanced quote");
	unit_write(root, "etc/ssh/sshd_config", "\n\nStrictModes maybe\n");
	ck_assert_int_eq(sshd_config_load(rootfd, root, NULL, &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "/etc/ssh/sshd_config:3: StrictModes must be yes or no");
	{
		/* glob() copies the whole pattern for each of its names: they are bounded. */
		char deep[256] = "Include ";

		for (int i = 0; i < 65; i++)
			strcat(deep, "/*");
		strcat(deep, "\n");
		unit_write(root, "etc/ssh/sshd_config", deep);
		ck_assert_int_eq(sshd_config_load(rootfd, root, NULL, &c, err, sizeof(err)),
				 -EINVAL);
		ck_assert_str_eq(err,
				 "/etc/ssh/sshd_config:1: Include pattern of more than 64 names");
	}
}
END_TEST

START_TEST(include_stays_in_root)
{
	struct sshd_config c;
	char **k;

	/* An absolute Include means the root's /etc, never the host's. */
	unit_write(root, "etc/ssh/sshd_config", "Include /etc/ssh/extra/*.conf\n");
	unit_write(root, "etc/ssh/extra/x.conf", "AuthorizedKeysFile .ssh/from_root\n");
	k = load(&c, 0);
	ck_assert_str_eq(k[0], ".ssh/from_root");
	sshd_config_done(&c);
	/* ".." goes no higher than the root's "/", as the kernel's goes no higher than "/". */
	unit_write(root, "etc/ssh/sshd_config", "Include /../../../../../etc/./ssh/extra/*.conf\n");
	k = load(&c, 0);
	ck_assert_str_eq(k[0], ".ssh/from_root");
	ck_assert(strv_contains(c.include_dirs, "/etc/ssh/extra"));
	sshd_config_done(&c);
}
END_TEST

/* Files that each include the next many times over are read a bounded number of times. */
START_TEST(include_fan_out_is_bounded)
{
	static const char *const names[] = {"a.conf", "b.conf", "c.conf"};
	struct sshd_config c;
	char err[512] = "", text[2048] = "", path[64];

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		text[0] = 0;
		for (int k = 0; k < 40; k++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "Include fan/%s\n",
				 i + 1 < ELEMENTSOF(names) ? names[i + 1] : "x");
		snprintf(path, sizeof(path), "etc/ssh/fan/%s", names[i]);
		unit_write(root, path, text);
	}
	unit_write(root, "etc/ssh/fan/x", "AuthorizedKeysFile .ssh/deep\n");
	unit_write(root, "etc/ssh/sshd_config", "Include fan/a.conf\n");
	ck_assert_int_eq(sshd_config_load(rootfd, root, NULL, &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err,
			 "/etc/ssh/fan/c.conf:14: more than 32 Include patterns and files in all");
	/* Within the bound, the same files are read. */
	unit_write(root, "etc/ssh/fan/a.conf", "Include fan/b.conf\nInclude fan/b.conf\n");
	unit_write(root, "etc/ssh/fan/b.conf", "Include fan/c.conf\n");
	unit_write(root, "etc/ssh/fan/c.conf", "Include fan/x\n");
	ck_assert_int_eq(sshd_config_load(rootfd, root, NULL, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.authorized_keys[0], ".ssh/deep");
	sshd_config_done(&c);
}
END_TEST

START_TEST(expand_tokens)
{
	struct user u = {.name = (char *)"alice", .uid = 1001, .home = (char *)"/home/alice"};
	char *p;

	ck_assert_int_eq(sshd_expand_authorized_keys(".ssh/authorized_keys", &u, &p), 0);
	ck_assert_str_eq(p, "/home/alice/.ssh/authorized_keys");
	free(p);
	ck_assert_int_eq(sshd_expand_authorized_keys("/etc/ssh/keys/%u.%U%%", &u, &p), 0);
	ck_assert_str_eq(p, "/etc/ssh/keys/alice.1001%");
	free(p);
	ck_assert_int_eq(sshd_expand_authorized_keys("%h/k", &u, &p), 0);
	ck_assert_str_eq(p, "/home/alice/k");
	free(p);
	ck_assert_int_eq(sshd_expand_authorized_keys("%x/k", &u, &p), -EINVAL);
	ck_assert_int_eq(sshd_expand_authorized_keys("keys%", &u, &p), -EINVAL);
	ck_assert_int_eq(sshd_expand_authorized_keys("%%h/%u", &u, &p), 0);
	ck_assert_str_eq(p, "/home/alice/%h/alice");
	free(p);
	ck_assert_int_eq(sshd_expand_authorized_keys("", &u, &p), 0);
	ck_assert_str_eq(p, "/home/alice/");
	free(p);
	u.home = (char *)"/";
	ck_assert_int_eq(sshd_expand_authorized_keys("k", &u, &p), 0);
	ck_assert_str_eq(p, "/k");
	free(p);
	/* A passwd entry with an empty home: the pattern's first token expands to nothing. */
	u.home = (char *)"";
	ck_assert_int_eq(sshd_expand_authorized_keys("%h/k", &u, &p), 0);
	ck_assert_str_eq(p, "/k");
	free(p);
}
END_TEST

START_TEST(split_args)
{
	char **a;

	ck_assert_int_eq(sshd_split_args("  Key \"a b\" 'c d' e\\ f # g", &a), 0);
	ck_assert_uint_eq(strv_length(a), 4);
	ck_assert_str_eq(a[1], "a b");
	ck_assert_str_eq(a[2], "c d");
	ck_assert_str_eq(a[3], "e f");
	strv_free(a);
	ck_assert_int_eq(sshd_split_args("Key \"open", &a), -EBADMSG);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("sshdconf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, unit_root_setup, unit_root_teardown);
	tcase_add_test(tc, defaults_when_missing);
	tcase_add_test(tc, first_occurrence_wins);
	tcase_add_test(tc, match_blocks_union);
	tcase_add_test(tc, global_after_match_keeps_blocks);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, include_stays_in_root);
	tcase_add_test(tc, include_fan_out_is_bounded);
	tcase_add_test(tc, expand_tokens);
	tcase_add_test(tc, split_args);
	suite_add_tcase(s, tc);
	return s;
}
