/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include "check-main.h"
#include "sshdconn.h"

/* Feed LINE as logged by PID; the result, with *OUT filled when a connection ended. */
static int feed(struct sshdconn_table *t, pid_t pid, const char *line, struct sshdconn_attempt *out)
{
	struct sshdlog_line l;

	sshdlog_parse(pid, line, strlen(line), &l);
	return sshdconn_feed(t, &l, 1000, out);
}

#define FP_B "SHA256:OXuw/wNHTtzCr9a1Fzbl4Y+hGS1t/mOlpwnaSHDAs1E"
#define FP_C "SHA256:05Ua67K7bCoEieO5gb1rx3okelmGEfIfl0qvFXjp7L4"

/* Two keys refused at LogLevel VERBOSE, as a real sshd logged them. */
START_TEST(wrong_keys_verbose)
{
	struct sshdconn_table *t = sshdconn_new(0);
	struct sshdconn_attempt a;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(feed(t, 7,
			      "Connection from 127.0.0.1 port 56088 on 127.0.0.1 port 32355 "
			      "rdomain \"\"",
			      &a),
			 SSHDCONN_PENDING);
	ck_assert_int_eq(feed(t, 7,
			      "Failed publickey for dlalice from 127.0.0.1 port 56088 ssh2: "
			      "ED25519 " FP_C,
			      &a),
			 SSHDCONN_PENDING);
	ck_assert_int_eq(feed(t, 7,
			      "Failed publickey for dlalice from 127.0.0.1 port 56088 ssh2: "
			      "ED25519 " FP_B,
			      &a),
			 SSHDCONN_PENDING);
	ck_assert_uint_eq(sshdconn_in_flight(t), 1);
	ck_assert_int_eq(feed(t, 7,
			      "Connection closed by authenticating user dlalice 127.0.0.1 port "
			      "56088 [preauth]",
			      &a),
			 SSHDCONN_REFUSED);
	ck_assert_uint_eq(sshdconn_in_flight(t), 0);
	ck_assert_str_eq(a.user, "dlalice");
	ck_assert_str_eq(a.addr, "127.0.0.1");
	ck_assert_int_eq(a.port, 56088);
	ck_assert_int_eq(a.pid, 7);
	ck_assert_int_eq(a.who, SSHDLOG_WHO_AUTHENTICATING);
	ck_assert_int_eq(a.refusal, SSHDLOG_OTHER);
	ck_assert_uint_eq(a.n_failed, 2);
	ck_assert_uint_eq(a.n_keys, 2);
	ck_assert_str_eq(a.keys[0].fingerprint, FP_C);
	ck_assert_str_eq(a.keys[1].type, "ED25519");
	sshdconn_free(t);
}
END_TEST

/* At LogLevel INFO a wrong key leaves one line: still one attempt, without a key. */
START_TEST(wrong_key_info)
{
	struct sshdconn_table *t = sshdconn_new(0);
	struct sshdconn_attempt a;

	ck_assert_int_eq(feed(t, 8,
			      "Connection closed by authenticating user dlalice 127.0.0.1 port "
			      "51272 [preauth]",
			      &a),
			 SSHDCONN_REFUSED);
	ck_assert_str_eq(a.user, "dlalice");
	ck_assert_int_eq(a.port, 51272);
	ck_assert_uint_eq(a.n_keys, 0);
	/* A scanner that never named a user is no attempt. */
	ck_assert_int_eq(feed(t, 9, "Connection closed by 198.51.100.7 port 4243 [preauth]", &a),
			 SSHDCONN_PENDING);
	ck_assert_uint_eq(sshdconn_in_flight(t), 0);
	sshdconn_free(t);
}
END_TEST

/* Strict modes and an unknown user, interleaved, each judged on its own. */
START_TEST(interleaved)
{
	struct sshdconn_table *t = sshdconn_new(0);
	struct sshdconn_attempt a;

	feed(t, 10, "Authentication refused: bad ownership or modes for directory /home/dlbob", &a);
	feed(t, 11, "Invalid user ubuntu from 127.0.0.1 port 51266", &a);
	feed(t, 10, "Failed publickey for dlbob from 127.0.0.1 port 56026 ssh2: ED25519 " FP_B, &a);
	ck_assert_uint_eq(sshdconn_in_flight(t), 2);
	ck_assert_int_eq(feed(t, 11,
			      "Connection closed by invalid user ubuntu 127.0.0.1 port 51266 "
			      "[preauth]",
			      &a),
			 SSHDCONN_REFUSED);
	ck_assert_str_eq(a.user, "ubuntu");
	ck_assert_int_eq(a.refusal, SSHDLOG_INVALID_USER);
	ck_assert_int_eq(a.who, SSHDLOG_WHO_INVALID);
	ck_assert_int_eq(feed(t, 10,
			      "Connection closed by authenticating user dlbob 127.0.0.1 port "
			      "56026 [preauth]",
			      &a),
			 SSHDCONN_REFUSED);
	ck_assert_str_eq(a.user, "dlbob");
	ck_assert_int_eq(a.refusal, SSHDLOG_STRICT_MODES);
	ck_assert_str_eq(a.detail, "bad ownership or modes for directory /home/dlbob");
	ck_assert_str_eq(a.keys[0].fingerprint, FP_B);
	ck_assert_uint_eq(sshdconn_in_flight(t), 0);
	sshdconn_free(t);
}
END_TEST

/* A login: ACCEPTED with its key, and nothing judged when it ends. */
START_TEST(accepted)
{
	struct sshdconn_table *t = sshdconn_new(0);
	struct sshdconn_attempt a;

	feed(t, 12, "Connection from 127.0.0.1 port 37820 on 127.0.0.1 port 32355 rdomain \"\"",
	     &a);
	feed(t, 12, "Postponed publickey for dlalice from 127.0.0.1 port 37820 ssh2 [preauth]", &a);
	ck_assert_int_eq(feed(t, 12,
			      "Accepted publickey for dlalice from 127.0.0.1 port 37820 ssh2: "
			      "ED25519 " FP_B,
			      &a),
			 SSHDCONN_ACCEPTED);
	ck_assert_str_eq(a.user, "dlalice");
	ck_assert_str_eq(a.keys[0].fingerprint, FP_B);
	ck_assert_uint_eq(sshdconn_in_flight(t), 0);
	ck_assert_int_eq(feed(t, 12, "Disconnected from user dlalice 127.0.0.1 port 37820", &a),
			 SSHDCONN_PENDING);
	ck_assert_uint_eq(sshdconn_in_flight(t), 0);
	sshdconn_free(t);
}
END_TEST

/* At most MAX in flight: the oldest dropped and counted; a PID used again starts afresh. */
START_TEST(bounded)
{
	struct sshdconn_table *t = sshdconn_new(4);
	struct sshdconn_attempt a;
	char line[128];

	for (int i = 0; i < 6; i++) {
		snprintf(line, sizeof(line), "Invalid user u%d from 10.0.0.%d port %d", i, i,
			 1000 + i);
		ck_assert_int_eq(feed(t, 100 + i, line, &a), SSHDCONN_PENDING);
	}
	ck_assert_uint_eq(sshdconn_in_flight(t), 4);
	ck_assert_uint_eq(sshdconn_dropped(t), 2);
	/* u2 is still there, with the line that named it. */
	ck_assert_int_eq(
	    feed(t, 102, "Connection closed by invalid user u2 10.0.0.2 port 1002", &a),
	    SSHDCONN_REFUSED);
	ck_assert_int_eq(a.refusal, SSHDLOG_INVALID_USER);
	/* u0 was dropped: its end is judged on what it says alone. */
	ck_assert_int_eq(
	    feed(t, 100, "Connection closed by invalid user u0 10.0.0.0 port 1000", &a),
	    SSHDCONN_REFUSED);
	ck_assert_int_eq(a.refusal, SSHDLOG_OTHER);
	/* PID 103 again, another port: the old connection is gone. */
	feed(t, 103, "Failed publickey for bob from 10.0.0.9 port 7 ssh2: ED25519 " FP_C, &a);
	ck_assert_int_eq(
	    feed(t, 103, "Connection closed by authenticating user bob 10.0.0.9 port 7", &a),
	    SSHDCONN_REFUSED);
	ck_assert_str_eq(a.user, "bob");
	ck_assert_int_eq(a.refusal, SSHDLOG_OTHER);
	ck_assert_uint_eq(sshdconn_in_flight(t), 2);
	/* Many more than the table holds, each ended: nothing in flight, none dropped. */
	for (int i = 0; i < 10000; i++) {
		snprintf(line, sizeof(line), "Invalid user x from 10.1.0.1 port %d", i % 60000);
		feed(t, 5000 + i, line, &a);
		snprintf(line, sizeof(line), "Connection closed by invalid user x 10.1.0.1 port %d",
			 i % 60000);
		ck_assert_int_eq(feed(t, 5000 + i, line, &a), SSHDCONN_REFUSED);
	}
	ck_assert_uint_eq(sshdconn_in_flight(t), 2);
	ck_assert_uint_eq(sshdconn_dropped(t), 2);
	sshdconn_free(t);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("sshdconn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, wrong_keys_verbose);
	tcase_add_test(tc, wrong_key_info);
	tcase_add_test(tc, interleaved);
	tcase_add_test(tc, accepted);
	tcase_add_test(tc, bounded);
	suite_add_tcase(s, tc);
	return s;
}
