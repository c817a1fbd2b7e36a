/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "sshdeval.h"
#include "sshdmatch.h"
#include "strv.h"
#include "unit-helpers.h"

UNIT_ROOT_FIXTURE

static const char *const alice_groups[] = {"alice", "wheel", "devs", NULL};
static const char *const no_groups[] = {NULL};
static const struct sshd_conn alice = {
    .user = "alice",
    .groups = alice_groups,
    .host = "ws1.example.com",
    .addr = "10.1.2.3",
    .laddr = "192.168.0.1",
    .lport = 22,
};

static int eval(const struct sshd_conn *c, struct sshd_settings *s, char *err, size_t errlen)
{
	return sshd_settings_eval(rootfd, root, NULL, c, NULL, s, err, errlen);
}

static void eval_ok(const struct sshd_conn *c, struct sshd_settings *s)
{
	char err[512] = "";

	ck_assert_msg(eval(c, s, err, sizeof(err)) == 0, "%s", err);
}

static void eval_fails(const char *config, const char *where)
{
	struct sshd_settings s;
	char err[512] = "";

	unit_write(root, "etc/ssh/sshd_config", config);
	ck_assert_msg(eval(&alice, &s, err, sizeof(err)) == -EINVAL, "%s: no error", config);
	ck_assert_msg(strstr(err, where), "%s lacks %s", err, where);
}

START_TEST(patterns)
{
	ck_assert(sshd_match_pattern("alice", "a*e"));
	ck_assert(sshd_match_pattern("alice", "?lic?"));
	ck_assert(sshd_match_pattern("", "*"));
	ck_assert(sshd_match_pattern("aXbXc", "*b*c"));
	ck_assert(!sshd_match_pattern("alice", "a*x"));
	ck_assert(!sshd_match_pattern("alice", "Alice"));
	ck_assert(!sshd_match_pattern("alice", "alice,bob")); /* a single pattern, no list */
	ck_assert_int_eq(sshd_match_pattern_list("alice", "bob,al*", false), 1);
	ck_assert_int_eq(sshd_match_pattern_list("alice", "*,!alice", false), -1);
	ck_assert_int_eq(sshd_match_pattern_list("alice", "!bob", false), 0);
	ck_assert_int_eq(sshd_match_pattern_list("alice", "ALICE", false), 0);
	ck_assert_int_eq(sshd_match_pattern_list("alice", "ALICE", true), 1);
	ck_assert_int_eq(sshd_match_hostname("WS1.Example.COM", "*.example.com"), 1);
	ck_assert_int_eq(sshd_match_pattern_list("", ",x", false), 1); /* an empty entry */
}
END_TEST

START_TEST(pattern_too_long)
{
	char list[1100];

	/* sshd gives up on the whole list at an entry of 1023 characters or more. */
	memset(list, 'a', sizeof(list));
	memcpy(list, "*,", 2);
	list[sizeof(list) - 1] = 0;
	ck_assert_int_eq(sshd_match_pattern_list("x", list, false), 0);
	list[1020] = 0;
	ck_assert_int_eq(sshd_match_pattern_list("x", list, false), 1);
}
END_TEST

START_TEST(addresses)
{
	ck_assert_int_eq(sshd_match_addr_list("10.1.2.3", "10.0.0.0/8"), 1);
	ck_assert_int_eq(sshd_match_addr_list("10.1.2.3", "10.1.2.3"), 1);
	ck_assert_int_eq(sshd_match_addr_list("10.1.2.3", "10.1.*"), 1);
	ck_assert_int_eq(sshd_match_addr_list("10.1.2.3", "10.0.0.0/8,!10.1.0.0/16"), -1);
	ck_assert_int_eq(sshd_match_addr_list("10.1.2.3", "192.168.0.0/16"), 0);
	ck_assert_int_eq(sshd_match_addr_list("2001:db8::1", "2001:db8::/32"), 1);
	ck_assert_int_eq(sshd_match_addr_list("2001:db8::1", "10.0.0.0/8"), 0);
	ck_assert_int_eq(sshd_match_addr_list("10.1.2.3", "10.1.2.3/8"), -2); /* host bits */
	ck_assert_int_eq(sshd_match_addr_list("10.1.2.3", "10.0.0.0/33"), -2);
	ck_assert_int_eq(sshd_match_addr_list("10.1.2.3", "10.0.0.0/8,"), -2);
	ck_assert_int_eq(sshd_match_addr_list(NULL, "10.0.0.0/8,::1"), 0);
	ck_assert_int_eq(sshd_match_addr_list(NULL, "!"), -2);
	ck_assert_int_eq(sshd_match_addr_list("not-an-address", "*"), 0);
}
END_TEST

START_TEST(user_patterns)
{
	ck_assert_int_eq(sshd_match_user("alice", "h", "10.1.2.3", "al*"), 1);
	ck_assert_int_eq(sshd_match_user("alice", "h", "10.1.2.3", "alice@10.0.0.0/8"), 1);
	ck_assert_int_eq(sshd_match_user("alice", "h", "10.1.2.3", "alice@192.168.0.0/16"), 0);
	ck_assert_int_eq(sshd_match_user("alice", "ws1", "10.1.2.3", "alice@ws*"), 1);
	ck_assert_int_eq(sshd_match_user("alice", "ws1", "10.1.2.3", "alice@*,!ws1"), 0);
	ck_assert_int_eq(sshd_match_user("alice", "ws1", "10.1.2.3", "alice@*,!10.1.2.3"), 0);
	ck_assert_int_eq(sshd_match_user("alice", "h", "10.1.2.3", "alice@10.1.2.3/8"), -1);
	ck_assert_int_eq(sshd_match_user(NULL, NULL, NULL, "alice@10.1.2.3/8"), -1);
	ck_assert_int_eq(sshd_match_user(NULL, NULL, NULL, "alice@10.0.0.0/8"), 0);
	ck_assert_int_eq(sshd_match_user("a@b", "h", "10.1.2.3", "a@b@*"), 1); /* the last '@' */
}
END_TEST

START_TEST(match_lines)
{
	char why[256];
	char *all[] = {"all", NULL}, *all2[] = {"all", "User", "x", NULL};
	char *u[] = {"User", "bob,al*", "Address", "10.0.0.0/8", NULL};
	char *g[] = {"Group", "devs,!root", "LocalPort", "22", NULL};
	char *gneg[] = {"Group", "*,!wheel", NULL};
	char *lp[] = {"LocalPort", "2222", NULL};
	char *la[] = {"LocalAddress", "192.168.0.0/24", "Host", "*.EXAMPLE.com", NULL};
	char *bad[] = {"Address", "10.1.2.3/8", NULL}, *none[] = {NULL};
	char *missing[] = {"User", NULL}, *unknown[] = {"Colour", "red", NULL};

	ck_assert_int_eq(sshd_match_line(all, NULL, 0, why, sizeof(why)), 1);
	ck_assert_int_eq(sshd_match_line(all, &alice, 0, why, sizeof(why)), 1);
	ck_assert_int_eq(sshd_match_line(u, NULL, 0, why, sizeof(why)), 0);
	ck_assert_int_eq(sshd_match_line(u, &alice, 0, why, sizeof(why)), 1);
	ck_assert_int_eq(sshd_match_line(g, &alice, 0, why, sizeof(why)), 1);
	ck_assert_int_eq(sshd_match_line(gneg, &alice, 0, why, sizeof(why)), 0);
	ck_assert_int_eq(sshd_match_line(lp, &alice, 0, why, sizeof(why)), 0);
	ck_assert_int_eq(sshd_match_line(la, &alice, 0, why, sizeof(why)), 1);
	ck_assert_int_eq(sshd_match_line(all2, &alice, 0, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(sshd_match_line(bad, NULL, 0, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(sshd_match_line(none, &alice, 0, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(sshd_match_line(missing, &alice, 0, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(sshd_match_line(unknown, &alice, 0, why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "Unsupported Match attribute Colour");
}
END_TEST

START_TEST(match_lines_10)
{
	static const struct sshd_conn unknown = {.user = "mallory", .addr = "10.1.2.3"};
	char why[256];
	char *eq[] = {"User=al*", "address=10.0.0.0/8", NULL}, *inv[] = {"invalid-user", NULL};
	char *ver[] = {"Version", "OpenSSH_10.*", NULL}, *odd[] = {"Colour=red", NULL};

	ck_assert_int_eq(sshd_match_line(eq, &alice, 902, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(sshd_match_line(eq, &alice, 1000, why, sizeof(why)), 1);
	ck_assert_int_eq(sshd_match_line(inv, &alice, 902, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(sshd_match_line(inv, &alice, 1000, why, sizeof(why)), 0);
	ck_assert_int_eq(sshd_match_line(inv, &unknown, 1000, why, sizeof(why)), 1);
	ck_assert_int_eq(sshd_match_line(ver, &alice, 1003, why, sizeof(why)), 1);
	ck_assert_int_eq(sshd_match_line(ver, &alice, 909, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(sshd_match_line(odd, &alice, 1003, why, sizeof(why)), -EINVAL);
}
END_TEST

START_TEST(defaults)
{
	struct sshd_settings s;

	eval_ok(&alice, &s);
	ck_assert(s.pubkey_authentication);
	ck_assert(s.strict_modes);
	ck_assert(!s.use_pam);
	ck_assert_int_eq(s.permit_root_login, SSHD_ROOT_PROHIBIT_PASSWORD);
	ck_assert_ptr_null(s.allow_users);
	ck_assert_ptr_null(s.authentication_methods);
	ck_assert_int_eq(s.required_rsa_size, 1024);
	ck_assert_uint_eq(strv_length(s.authorized_keys_files), 2);
	ck_assert_ptr_null(s.authorized_keys_command);
	ck_assert_str_eq(s.log_level, "INFO");
	ck_assert(!s.use_dns);
	ck_assert_ptr_null(s.chroot_directory);
	ck_assert_str_eq(s.permit_root_login_from, "");
	ck_assert_uint_eq(strv_length(s.pubkey_accepted_algorithms), 16);
	ck_assert(sshd_settings_accepts_algorithm(&s, "ssh-ed25519"));
	ck_assert(!sshd_settings_accepts_algorithm(&s, "ssh-rsa"));
	sshd_settings_done(&s);
}
END_TEST

START_TEST(first_value_and_match)
{
	struct sshd_settings s;

	unit_write(root, "etc/ssh/sshd_config",
		   "PermitRootLogin no\n"
		   "PermitRootLogin yes\n"
		   "Include sshd_config.d/*.conf\n"
		   "AllowUsers bob carol\n"
		   "Match User alice\n"
		   "  AuthorizedKeysFile /srv/keys/%u\n"
		   "  PubkeyAuthentication no\n"
		   "  Include match.d/*.conf\n"
		   "Match Group devs\n"
		   "  AuthorizedKeysFile /never\n"
		   "  PermitRootLogin forced-commands-only\n"
		   "Match User bob\n"
		   "  Include match.d/*.conf\n");
	unit_write(root, "etc/ssh/sshd_config.d/10-a.conf",
		   "AllowUsers dave\n"
		   "Match Address 10.0.0.0/8\n"
		   "  LogLevel VERBOSE\n");
	unit_write(root, "etc/ssh/match.d/x.conf", "RequiredRSASize 3072\n");
	eval_ok(&alice, &s);
	ck_assert_uint_eq(strv_length(s.allow_users), 3); /* lines accumulate */
	ck_assert_str_eq(s.allow_users[0], "dave");	  /* the Include stands before */
	ck_assert_str_eq(s.log_level, "VERBOSE");	  /* the Match ends with its file */
	ck_assert_int_eq(s.permit_root_login, SSHD_ROOT_FORCED_COMMANDS_ONLY);
	ck_assert(!s.pubkey_authentication);
	ck_assert_uint_eq(strv_length(s.authorized_keys_files), 1);
	ck_assert_str_eq(s.authorized_keys_files[0], "/srv/keys/%u");
	ck_assert_int_eq(s.required_rsa_size, 3072);
	ck_assert_str_eq(s.required_rsa_size_from, "/etc/ssh/match.d/x.conf:1");
	ck_assert_str_eq(s.pubkey_authentication_from, "/etc/ssh/sshd_config:7");
	sshd_settings_done(&s);
}
END_TEST

START_TEST(match_all_is_global)
{
	static const char *const root_groups[] = {"root", NULL};
	const struct sshd_conn r = {.user = "root", .groups = root_groups, .addr = "::1"};
	struct sshd_settings s;

	unit_write(root, "etc/ssh/sshd_config",
		   "UseDNS yes\n"
		   "Match User root\n"
		   "ChrootDirectory /srv/jail\n"
		   "Match all\n"
		   "StrictModes no\n"
		   "AuthorizedKeysFile none\n"
		   "RevokedKeys revoked\n");
	eval_ok(&r, &s);
	ck_assert(!s.strict_modes);
	ck_assert(s.use_dns);
	ck_assert_str_eq(s.chroot_directory, "/srv/jail");
	ck_assert_uint_eq(strv_length(s.authorized_keys_files), 0);
	ck_assert_str_eq(s.revoked_keys, "//revoked"); /* relative to "/", as sshd writes it */
	sshd_settings_done(&s);
}
END_TEST

START_TEST(algorithms)
{
	struct sshd_settings s;

	unit_write(root, "etc/ssh/sshd_config",
		   "PubkeyAcceptedAlgorithms +ssh-rsa\n"
		   "Match User alice\n"
		   "  PubkeyAcceptedAlgorithms ^ssh-dss*\n");
	eval_ok(&alice, &s);
	ck_assert_str_eq(s.pubkey_accepted_algorithms[0], "ssh-dss");
	ck_assert_str_eq(s.pubkey_accepted_algorithms[1], "ssh-dss-cert-v01@openssh.com");
	ck_assert(!sshd_settings_accepts_algorithm(&s, "ssh-rsa")); /* '^' is against the default */
	sshd_settings_done(&s);

	eval_ok(&(struct sshd_conn){.user = "bob", .groups = no_groups}, &s);
	ck_assert_str_eq(s.pubkey_accepted_algorithms[16], "ssh-rsa");
	sshd_settings_done(&s);

	unit_write(root, "etc/ssh/sshd_config", "PubkeyAcceptedAlgorithms -*-cert-*,rsa*\n");
	eval_ok(&alice, &s);
	ck_assert_uint_eq(strv_length(s.pubkey_accepted_algorithms), 6);
	ck_assert_str_eq(s.pubkey_accepted_algorithms[0], "ssh-ed25519");
	sshd_settings_done(&s);

	/* Nothing left is the default, as sshd assembles the list again. */
	unit_write(root, "etc/ssh/sshd_config", "PubkeyAcceptedAlgorithms -*\n");
	eval_ok(&alice, &s);
	ck_assert_uint_eq(strv_length(s.pubkey_accepted_algorithms), 16);
	sshd_settings_done(&s);

	unit_write(root, "etc/ssh/sshd_config", "PubkeyAcceptedAlgorithms ecdsa*,ssh-ed25519\n");
	eval_ok(&alice, &s);
	ck_assert_str_eq(s.pubkey_accepted_algorithms[0], "ecdsa-sha2-nistp256");
	ck_assert_str_eq(s.pubkey_accepted_algorithms[1],
			 "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	sshd_settings_done(&s);
}
END_TEST

START_TEST(errors)
{
	eval_fails("PermitRootLogin maybe\n", "/etc/ssh/sshd_config:1");
	eval_fails("\n\nMatch User alice\nStrictModes no\n", "/etc/ssh/sshd_config:4");
	eval_fails("Match User bob\nUsePAM yes\n", "not allowed within a Match block");
	eval_fails("Match Address 10.0.0.0/8\nUseDNS yes\n", "not allowed within a Match block");
	eval_fails("AllowUsers alice@10.0.0.1/8\n", "invalid AllowUsers pattern");
	eval_fails("AuthenticationMethods publickey\nAuthenticationMethods any\n", "must appear");
	eval_fails("AuthenticationMethods publickey\nPubkeyAuthentication no\n", "satisfied");
	eval_fails("AuthorizedKeysCommand /bin/keys %u\n", "without AuthorizedKeysCommandUser");
	eval_fails("AuthorizedKeysCommand keys\n", "absolute path");
	eval_fails("PubkeyAcceptedAlgorithms ssh-foo\n", "Bad key types");
	eval_fails("PubkeyAcceptedAlgorithms ssh-dss,!ssh-rsa\n", "sshd_config:1: Pubkey");
	eval_fails("Match Address 10.1.2.3/8\n", "Bad Match condition");
	eval_fails("LogLevel\n", "no argument");
	eval_fails("RequiredRSASize big\n", "unsupported");
	eval_fails("LogLevel INFO VERBOSE\n", "extra arguments");
}
END_TEST

static void refuse(const char *config, const struct sshd_conn *c, const char *expect)
{
	struct sshd_settings s;
	char why[256] = "";
	bool refused;

	unit_write(root, "etc/ssh/sshd_config", config);
	eval_ok(c, &s);
	refused = sshd_settings_refuse_user(&s, c, why, sizeof(why));
	sshd_settings_done(&s);
	if (!expect) {
		ck_assert_msg(!refused, "%s: refused: %s", config, why);
		return;
	}
	ck_assert_msg(refused, "%s: not refused", config);
	ck_assert_str_eq(why, expect);
}

START_TEST(refusals)
{
	const struct sshd_conn lonely = {.user = "alice", .groups = no_groups, .host = "h"};

	refuse("", &alice, NULL);
	refuse("AllowUsers al*@10.0.0.0/8\n", &alice, NULL);
	refuse("DenyUsers bob alice@*.example.com\n", &alice,
	       "User alice from ws1.example.com not allowed because listed in DenyUsers");
	refuse("AllowUsers bob\nAllowUsers alice@192.168.0.0/16\n", &alice,
	       "User alice from ws1.example.com not allowed because not listed in AllowUsers");
	refuse("DenyGroups root dev?\n", &alice,
	       "User alice from ws1.example.com not allowed because a group is listed in "
	       "DenyGroups");
	refuse("AllowGroups root\n", &alice,
	       "User alice from ws1.example.com not allowed because none of user's groups are "
	       "listed in AllowGroups");
	refuse("AllowGroups wh*\n", &alice, NULL);
	refuse("AllowGroups *\n", &lonely,
	       "User alice from h not allowed because not in any group");
	refuse("Match Address 10.0.0.0/8\n  DenyUsers *\n", &alice,
	       "User alice from ws1.example.com not allowed because listed in DenyUsers");
}
END_TEST

static int eval_version(unsigned version, struct sshd_settings *s, char *err, size_t errlen)
{
	const struct sshd_build b = {.version = version};

	return sshd_settings_eval_build(rootfd, root, NULL, &alice, &b, s, err, errlen);
}

START_TEST(versions)
{
	struct sshd_settings s;
	char err[512];
	unsigned v = 0;

	/* Before 9.7 "any" may not follow a list, not even on another line. */
	unit_write(root, "etc/ssh/sshd_config",
		   "AuthenticationMethods publickey\nMatch User bob\nAuthenticationMethods any\n");
	ck_assert_int_eq(eval_version(906, &s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(eval_version(907, &s, err, sizeof(err)), 0);
	sshd_settings_done(&s);

	/* From 10.3 RevokedKeys lists files as written; before, one, from "/". */
	unit_write(root, "etc/ssh/sshd_config", "RevokedKeys krl /etc/ssh/revoked\n");
	ck_assert_int_eq(eval_version(1002, &s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(eval_version(1003, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.revoked_keys, "krl");
	ck_assert_uint_eq(strv_length(s.revoked_keys_files), 2);
	sshd_settings_done(&s);
	unit_write(root, "etc/ssh/sshd_config", "AuthorizedKeysFile .ssh/ak none\n");
	ck_assert_int_eq(eval_version(1003, &s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(eval_version(902, &s, err, sizeof(err)), 0);
	sshd_settings_done(&s);

	/* The built-in lists follow the version: 10.3 adds webauthn, 9.8 builds without DSA. */
	unit_write(root, "etc/ssh/sshd_config", "PubkeyAcceptedAlgorithms +ssh-dss\n");
	ck_assert_int_eq(eval_version(1003, &s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(eval_version(907, &s, err, sizeof(err)), 0);
	sshd_settings_done(&s);
	unit_write(root, "etc/ssh/sshd_config", "");
	ck_assert_int_eq(eval_version(1003, &s, err, sizeof(err)), 0);
	ck_assert(
	    sshd_settings_accepts_algorithm(&s, "webauthn-sk-ecdsa-sha2-nistp256@openssh.com"));
	sshd_settings_done(&s);

	ck_assert_int_eq(sshd_version_parse("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0", &v), 0);
	ck_assert_uint_eq(v, 902);
	ck_assert_int_eq(sshd_version_parse("OpenSSH_10.0p2", &v), 0);
	ck_assert_uint_eq(v, 1000);
	ck_assert_int_eq(sshd_version_parse("Dropbear v2022.83", &v), -EINVAL);
}
END_TEST

START_TEST(default_from_dump)
{
	char *d = NULL;

	ck_assert_int_eq(sshd_default_algorithms_from_dump("port 22\nPubkeyAcceptedAlgorithms "
							   "ssh-ed25519,rsa-sha2-512\nx y\n",
							   &d),
			 0);
	ck_assert_str_eq(d, "ssh-ed25519,rsa-sha2-512");
	free(d);
	ck_assert_int_eq(sshd_default_algorithms_from_dump("port 22\n", &d), -ENOENT);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("sshdeval");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, unit_root_setup, unit_root_teardown);
	tcase_add_test(tc, patterns);
	tcase_add_test(tc, pattern_too_long);
	tcase_add_test(tc, addresses);
	tcase_add_test(tc, user_patterns);
	tcase_add_test(tc, match_lines);
	tcase_add_test(tc, match_lines_10);
	tcase_add_test(tc, versions);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, first_value_and_match);
	tcase_add_test(tc, match_all_is_global);
	tcase_add_test(tc, algorithms);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, default_from_dump);
	suite_add_tcase(s, tc);
	return s;
}
