/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include "check-main.h"
#include "sshdlog.h"

/*
 * Lines a real sshd wrote (OpenSSH 9.2, LogLevel VERBOSE and INFO, a wrong user, a wrong key,
 * DenyUsers, an algorithm refused, strict modes, a missing shell, a locked account; OpenSSH
 * 10.0's sshd-session, whose lines sshd-auth's pass through, the same), and the
 * other lines of sshd's sources for 9.x and 10.x that end or refuse a connection.
 */
struct want {
	const char *line;
	enum sshdlog_kind kind;
	enum sshdlog_who who;
	const char *user;
	const char *addr;
	int port;
	const char *key_type;
	const char *fp;
	const char *detail;
};

#define FP_A "SHA256:LLUqJ7604wX3e+qs2QCoHg546fqH4msIh0ZYhENwG6s"
#define FP_B "SHA256:OXuw/wNHTtzCr9a1Fzbl4Y+hGS1t/mOlpwnaSHDAs1E"

static const struct want lines[] = {
    {"Connection from 127.0.0.1 port 37820 on 127.0.0.1 port 32355 rdomain \"\"",
     SSHDLOG_CONNECTION, 0, "", "127.0.0.1", 37820, "", "", ""},
    {"Accepted key ED25519 " FP_A " found at /home/dlalice/.ssh/authorized_keys:1",
     SSHDLOG_KEY_FOUND, 0, "", "", -1, "ED25519", FP_A, "/home/dlalice/.ssh/authorized_keys:1"},
    {"Accepted publickey for dlalice from 127.0.0.1 port 37820 ssh2: ED25519 " FP_A,
     SSHDLOG_ACCEPTED, 0, "dlalice", "127.0.0.1", 37820, "ED25519", FP_A, ""},
    {"Disconnected from user dlalice 127.0.0.1 port 37820", SSHDLOG_END, SSHDLOG_WHO_USER,
     "dlalice", "127.0.0.1", 37820, "", "", ""},
    {"Invalid user ubuntu from 127.0.0.1 port 37828", SSHDLOG_INVALID_USER, SSHDLOG_WHO_INVALID,
     "ubuntu", "127.0.0.1", 37828, "", "", ""},
    {"Connection closed by invalid user ubuntu 127.0.0.1 port 37828 [preauth]", SSHDLOG_END,
     SSHDLOG_WHO_INVALID, "ubuntu", "127.0.0.1", 37828, "", "", ""},
    {"Failed publickey for dlalice from 127.0.0.1 port 37830 ssh2: ED25519 " FP_B, SSHDLOG_FAILED,
     0, "dlalice", "127.0.0.1", 37830, "ED25519", FP_B, ""},
    {"Connection closed by authenticating user dlalice 127.0.0.1 port 37830 [preauth]", SSHDLOG_END,
     SSHDLOG_WHO_AUTHENTICATING, "dlalice", "127.0.0.1", 37830, "", "", ""},
    {"User dlcarol from 127.0.0.1 not allowed because listed in DenyUsers", SSHDLOG_NOT_ALLOWED, 0,
     "dlcarol", "127.0.0.1", -1, "", "", "listed in DenyUsers"},
    {"userauth_pubkey: signature algorithm ecdsa-sha2-nistp256 not in PubkeyAcceptedAlgorithms "
     "[preauth]",
     SSHDLOG_KEY_TYPE, 0, "", "", -1, "ecdsa-sha2-nistp256", "", ""},
    {"Authentication refused: bad ownership or modes for directory /home/dlbob",
     SSHDLOG_STRICT_MODES, 0, "", "", -1, "", "",
     "bad ownership or modes for directory /home/dlbob"},
    {"User dlbob not allowed because shell /nonexistent does not exist", SSHDLOG_SHELL, 0, "dlbob",
     "", -1, "", "", "shell /nonexistent does not exist"},
    {"User dlbob not allowed because account is locked", SSHDLOG_ACCOUNT_LOCKED, 0, "dlbob", "", -1,
     "", "", "account is locked"},
    {"Received disconnect from 127.0.0.1 port 37820:11: disconnected by user", SSHDLOG_OTHER, 0, "",
     "", -1, "", "", ""},
    /* A real OpenSSH 10.0 (Debian 13), sshd-session and sshd-auth's lines, LogLevel VERBOSE. */
    {"Connection from 127.0.0.1 port 33300 on 127.0.0.1 port 32367 rdomain \"\"",
     SSHDLOG_CONNECTION, 0, "", "127.0.0.1", 33300, "", "", ""},
    {"Invalid user ubuntu from 127.0.0.1 port 33300", SSHDLOG_INVALID_USER, SSHDLOG_WHO_INVALID,
     "ubuntu", "127.0.0.1", 33300, "", "", ""},
    {"srclimit_penalise: ipv4: new 127.0.0.1/32 deferred penalty of 1 seconds for penalty: "
     "connections without attempting authentication",
     SSHDLOG_OTHER, 0, "", "", -1, "", "", ""},
    {"Failed publickey for dlalice from 127.0.0.1 port 33304 ssh2: ED25519 "
     "SHA256:3Rexr7puuJBHLEiwY6lERnsjO2Y3ttio+7Vjk2itQlA",
     SSHDLOG_FAILED, 0, "dlalice", "127.0.0.1", 33304, "ED25519",
     "SHA256:3Rexr7puuJBHLEiwY6lERnsjO2Y3ttio+7Vjk2itQlA", ""},
    {"Connection closed by authenticating user dlbob 127.0.0.1 port 33306 [preauth]", SSHDLOG_END,
     SSHDLOG_WHO_AUTHENTICATING, "dlbob", "127.0.0.1", 33306, "", "", ""},
    {"Postponed publickey for dlalice from 127.0.0.1 port 33322 ssh2 [preauth]", SSHDLOG_OTHER, 0,
     "", "", -1, "", "", ""},
    {"User child is on pid 141", SSHDLOG_OTHER, 0, "", "", -1, "", "", ""},
    {"Starting session: command for dlalice from 127.0.0.1 port 33322 id 0", SSHDLOG_OTHER, 0, "",
     "", -1, "", "", ""},
    /* From the sources: 9.x and 10.x. */
    {"Failed publickey for invalid user admin from 2001:db8::5 port 22 ssh2: RSA SHA256:x",
     SSHDLOG_FAILED, SSHDLOG_WHO_INVALID, "admin", "2001:db8::5", 22, "RSA", "SHA256:x", ""},
    {"ROOT LOGIN REFUSED FROM 203.0.113.5 port 50514", SSHDLOG_ROOT_REFUSED, 0, "root",
     "203.0.113.5", 50514, "", "", ""},
    {"Account bob has expired", SSHDLOG_ACCOUNT_EXPIRED, 0, "bob", "", -1, "", "", ""},
    {"error: Could not open user 'bob' authorized keys '/home/bob/.ssh/authorized_keys': "
     "Permission denied",
     SSHDLOG_KEYS_UNREADABLE, 0, "bob", "", -1, "", "",
     "/home/bob/.ssh/authorized_keys': Permission denied"},
    {"Authentication key RSA SHA256:r revoked by file /etc/ssh/revoked", SSHDLOG_KEY_REVOKED, 0, "",
     "", -1, "RSA", "SHA256:r", "/etc/ssh/revoked"},
    {"userauth_pubkey: refusing RSA key: Invalid key length [preauth]", SSHDLOG_KEY_TOO_SMALL, 0,
     "", "", -1, "RSA", "", ""},
    {"/home/bob/.ssh/authorized_keys:3: Authentication tried for bob with correct key but not "
     "from a permitted host (host=h, ip=10.0.0.9, required=192.0.2.0/24).",
     SSHDLOG_KEY_OPTION, 0, "bob", "", -1, "", "", "/home/bob/.ssh/authorized_keys:3"},
    {"error: maximum authentication attempts exceeded for invalid user admin from 198.51.100.7 "
     "port 4242 ssh2 [preauth]",
     SSHDLOG_TOO_MANY, SSHDLOG_WHO_INVALID, "admin", "198.51.100.7", 4242, "", "", ""},
    {"Disconnecting invalid user admin 198.51.100.7 port 4242: Too many authentication failures "
     "[preauth]",
     SSHDLOG_END, SSHDLOG_WHO_INVALID, "admin", "198.51.100.7", 4242, "", "", ""},
    {"Connection closed by 198.51.100.7 port 4243 [preauth]", SSHDLOG_END, SSHDLOG_WHO_NONE, "",
     "198.51.100.7", 4243, "", "", ""},
    {"Connection reset by 2001:db8::5 port 6000 [preauth]", SSHDLOG_END, SSHDLOG_WHO_NONE, "",
     "2001:db8::5", 6000, "", "", ""},
    {"Timeout before authentication for 198.51.100.7 port 4244", SSHDLOG_END, SSHDLOG_WHO_NONE, "",
     "198.51.100.7", 4244, "", "", ""},
    {"Disconnected from authenticating user bob 10.0.0.9 port 50000 [preauth]", SSHDLOG_END,
     SSHDLOG_WHO_AUTHENTICATING, "bob", "10.0.0.9", 50000, "", "", ""},
    {"Invalid user a b from 10.0.0.9 port 1", SSHDLOG_INVALID_USER, SSHDLOG_WHO_INVALID, "a b",
     "10.0.0.9", 1, "", "", ""},
};

START_TEST(real_lines)
{
	const struct want *w = &lines[_i];
	struct sshdlog_line l;

	ck_assert_int_eq(sshdlog_parse(4242, w->line, strlen(w->line), &l), w->kind);
	ck_assert_msg(l.kind == w->kind, "%s", w->line);
	ck_assert_int_eq(l.who, w->who);
	ck_assert_str_eq(l.user, w->user);
	ck_assert_str_eq(l.addr, w->addr);
	ck_assert_int_eq(l.port, w->port);
	ck_assert_str_eq(l.key_type, w->key_type);
	ck_assert_str_eq(l.fingerprint, w->fp);
	if (w->kind != SSHDLOG_OTHER) {
		ck_assert_int_eq(l.pid, 4242);
		if (*w->detail)
			ck_assert_str_eq(l.detail, w->detail);
	}
}
END_TEST

/* Not sshd's wording, or sshd's cut short or bent: ignored, nothing kept. */
START_TEST(junk)
{
	static const char *const junk[] = {
	    "",
	    "Server listening on 0.0.0.0 port 22.",
	    "pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)",
	    "Invalid user",
	    "Invalid user bob",
	    "Invalid user bob from 10.0.0.9 port",
	    "Invalid user bob from 10.0.0.9 port 99999",
	    "Invalid user bob from 10.0.0.9 port 22x",
	    "Failed publickey for bob from 10.0.0.9 port 22",
	    "Connection closed by",
	    "Connection closed by authenticating user bob",
	    "User bob",
	    "Accepted key",
	    "Account  has expired",
	    "ROOT LOGIN REFUSED FROM ",
	    "maximum authentication attempts exceeded for",
	};
	struct sshdlog_line l;

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		ck_assert_msg(sshdlog_parse(1, junk[i], strlen(junk[i]), &l) == SSHDLOG_OTHER, "%s",
			      junk[i]);
		ck_assert_str_eq(l.user, "");
		ck_assert_int_eq(l.port, -1);
	}
	/* A NUL inside, a line far too long for a field, not NUL-terminated. */
	ck_assert_int_eq(sshdlog_parse(1, "Invalid user a\0b from 1.2.3.4 port 1", 36, &l),
			 SSHDLOG_OTHER);
	char big[4096];
	memset(big, 'x', sizeof(big));
	memcpy(big, "Invalid user ", 13);
	memcpy(big + sizeof(big) - 24, " from 1.2.3.4 port 2222", 23);
	ck_assert_int_eq(sshdlog_parse(1, big, sizeof(big) - 1, &l), SSHDLOG_OTHER);
	ck_assert_int_eq(sshdlog_parse(1, "Invalid user bob from 1.2.3.4 port 22XYZ",
				       strlen("Invalid user bob from 1.2.3.4 port 22"), &l),
			 SSHDLOG_INVALID_USER);
	ck_assert_int_eq(l.port, 22);
}
END_TEST

/*
 * Two of the words a line is cut at overlap (the space that ends " for " begins " ssh2"): the
 * part between them is empty, never a read before its start or past the line's end. Each line
 * is parsed from a copy of its own size, without a NUL after it.
 */
START_TEST(overlapping_words)
{
	static const char *const lines[] = {
	    "Failed publickey for ssh2: ED25519 SHA256:x",
	    "Accepted publickey for ssh2",
	    "User not allowed because account is locked",
	};
	struct sshdlog_line l;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t n = strlen(lines[i]);
		char *copy = malloc(n);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, lines[i], n);
		ck_assert_msg(sshdlog_parse(1, copy, n, &l) == SSHDLOG_OTHER, "%s", lines[i]);
		ck_assert_str_eq(l.user, "");
		free(copy);
	}
}
END_TEST

START_TEST(comms)
{
	ck_assert(sshdlog_is_sshd_comm("sshd", 4));
	ck_assert(sshdlog_is_sshd_comm("sshd-session", 12));
	ck_assert(sshdlog_is_sshd_comm("sshd-auth", 9));
	ck_assert(!sshdlog_is_sshd_comm("sshd-", 5));
	ck_assert(!sshdlog_is_sshd_comm("sshmend", 7));
	ck_assert_str_eq(sshdlog_kind_to_string(SSHDLOG_INVALID_USER), "invalid-user");
	for (int k = 0; k < _SSHDLOG_KIND_MAX; k++)
		ck_assert_ptr_nonnull(sshdlog_kind_to_string(k));
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("sshdlog");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, real_lines, 0, sizeof(lines) / sizeof(lines[0]));
	tcase_add_test(tc, junk);
	tcase_add_test(tc, overlapping_words);
	tcase_add_test(tc, comms);
	suite_add_tcase(s, tc);
	return s;
}
