/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The journal's words: each row of the events table, logged as the daemon logs it and taken
 * through the journal's capture: its SSHMEND_EVENT, MESSAGE_ID, PRIORITY and MESSAGE.
 */
#include <syslog.h>
#include "check-main.h"
#include "events.h"
#include "unit-helpers.h"

#define AK "/home/alice/.ssh/authorized_keys"
#define DROPIN "/etc/sshmend/keys.d/alice"

static struct userdb *db;
static char *root;
static const struct user *alice;
static struct captured {
	unsigned n;
	enum event_kind kind;
	int priority;
	char message[4700];
	char user[64];
	unsigned long count;
	char added[128];
} got;

static void capture(const struct event *ev, void *ud)
{
	(void)ud;
	got.n++;
	got.kind = ev->kind;
	got.priority = ev->priority;
	got.count = ev->count;
	snprintf(got.message, sizeof(got.message), "%s", ev->message);
	snprintf(got.user, sizeof(got.user), "%s", ev->user ? ev->user : "");
	snprintf(got.added, sizeof(got.added), "%s",
		 ev->fingerprints_added ? ev->fingerprints_added : "");
}

static void setup(void)
{
	root = unit_tmproot();
	unit_write(root, "etc/group", "root:x:0:\nalice:x:1001:\n");
	unit_write(root, "etc/passwd",
		   "root:x:0:0::/root:/bin/bash\nbob:x:1002:1001::/home/bob:/bin/sh\n"
		   "alice:x:1001:1001::/home/alice:/bin/sh\n");
	db = unit_userdb(root);
	alice = userdb_by_name(db, "alice");
	ck_assert_ptr_nonnull(alice);
	journal_set_target(JOURNAL_STDERR);
	journal_set_capture(capture, NULL);
	journal_set_ratelimit(1000, 1000, 1000, 60000000);
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	got = (struct captured){0};
}

static void teardown(void)
{
	journal_set_capture(NULL, NULL);
	userdb_free(db);
	unit_rmtree(root);
	free(root);
}

/* The one entry logged since the last look: row T's, with these fields. */
static void said(enum tell t, const char *event, const char *id, int priority, const char *msg)
{
	ck_assert_uint_eq(got.n, 1);
	ck_assert_int_eq(got.kind, events_row(t)->kind);
	ck_assert_str_eq(event_name(got.kind), event);
	ck_assert_str_eq(event_message_id(got.kind), id);
	ck_assert_int_eq(got.priority, priority);
	ck_assert_int_eq(events_row(t)->priority, priority);
	ck_assert_str_eq(got.message, msg);
	got.n = 0;
}

/* A report of alice's with the one finding F. */
static struct user_report report(struct finding *f, bool sshd_accepts)
{
	return (struct user_report){.user = alice,
				    .sshd_accepts = sshd_accepts,
				    .findings = f,
				    .n_findings = 1,
				    .n_approved = 2,
				    .keys_file = (char *)AK};
}

/* Tell F (CARRY: of lines carried over) as the row T, with X: told, not held back. */
static void tell(struct finding *f, bool sshd_accepts, bool carry, enum tell t,
		 struct tell_extra *x)
{
	struct user_report rep = report(f, sshd_accepts);

	ck_assert_int_eq(events_finding_row(&rep, f, carry), t);
	ck_assert_int_eq(events_finding(&rep, f, carry, x), 0);
}

static void row_carried(void)
{
	struct finding f = {.path = AK, .problem = PROBLEM_KEYS, .action = ACTION_FIXED};
	struct tell_extra x = {.db = db, .carried = 120};

	tell(&f, true, true, TELL_CARRIED, &x);
	said(TELL_CARRIED, "keys-synced", "330ee1f709c84bb682a4f71676aceac8", LOG_NOTICE,
	     "alice: 120 bytes written to " AK " after it was replaced, carried over");
}

static void row_not_carried(void)
{
	struct finding f = {.path = AK,
			    .problem = PROBLEM_KEYS,
			    .action = ACTION_FAILED,
			    .reason = "No space left on device"};
	struct tell_extra x = {.db = db};

	tell(&f, true, true, TELL_NOT_CARRIED, &x);
	said(TELL_NOT_CARRIED, "repair-failed", "113899a9697d49fea42a7bdba7b21226", LOG_ERR,
	     "alice: lines written to the replaced " AK
	     " not carried over: No space left on device");
	ck_assert_str_eq(got.user, "alice");
}

static void row_synced(void)
{
	struct finding f = {.path = AK, .problem = PROBLEM_KEYS, .action = ACTION_FIXED};
	struct tell_extra x = {.db = db, .added = "SHA256:a SHA256:b", .removed = "SHA256:c"};

	tell(&f, true, false, TELL_SYNCED, &x);
	said(TELL_SYNCED, "keys-synced", "330ee1f709c84bb682a4f71676aceac8", LOG_NOTICE,
	     "alice: " AK " now holds the 2 approved keys; added SHA256:a SHA256:b; removed "
	     "SHA256:c");
	ck_assert_str_eq(got.added, "SHA256:a SHA256:b");
}

static void row_quarantined(void)
{
	struct finding f = {.path = AK,
			    .problem = PROBLEM_UNAPPROVED_KEY,
			    .action = ACTION_FIXED,
			    .fingerprint = "SHA256:q"};
	struct user_report rep = report(&f, true);
	struct tell_extra x = {.db = db};

	/* Not told as a finding: each key on its own. */
	ck_assert_int_eq(events_finding_row(&rep, &f, false), TELL_QUARANTINED);
	ck_assert_int_eq(events_finding(&rep, &f, false, &x), 1);
	ck_assert_uint_eq(got.n, 0);
	ck_assert_int_eq(events_key(TELL_QUARANTINED, "alice", AK, "SHA256:q", "laptop", NULL), 0);
	said(TELL_QUARANTINED, "key-quarantined", "9eb006b9f20149ea85ba58d9c37ad00b", LOG_WARNING,
	     "alice: key SHA256:q (laptop) moved to quarantine: Exclusive= allows approved keys "
	     "only");
}

static void row_not_applied(void)
{
	struct finding f = {.path = AK,
			    .problem = PROBLEM_UNAPPROVED_KEY,
			    .action = ACTION_REFUSED,
			    .fingerprint = "SHA256:k"};
	struct user_report rep = report(&f, true);
	struct tell_extra x = {.db = db};

	/* Not told as a finding: the user's keys left outside the set, in one entry. */
	ck_assert_int_eq(events_finding_row(&rep, &f, false), TELL_NOT_APPLIED);
	ck_assert_int_eq(events_finding(&rep, &f, false, &x), 1);
	ck_assert_uint_eq(got.n, 0);
	ck_assert_int_eq(events_not_applied("alice", AK, "no approved key", 1, NULL), 0);
	said(TELL_NOT_APPLIED, "exclusive-not-applied", "1daf4ad40df04e8e8506e8f0b2e575b5", LOG_ERR,
	     "alice: no approved key; 1 key outside the approved set stays in " AK);
	ck_assert_uint_eq(got.count, 1);
}

static void row_key_rejected(void)
{
	struct finding f = {.path = DROPIN "/a.pub",
			    .problem = PROBLEM_DROPIN,
			    .action = ACTION_REFUSED,
			    .lineno = 3,
			    .reason = "not a key"};
	struct tell_extra x = {.db = db};

	tell(&f, true, false, TELL_KEY_REJECTED, &x);
	said(TELL_KEY_REJECTED, "key-rejected", "0e969c5b28944feb9cd52a4b8a0dac76", LOG_WARNING,
	     "alice: drop-in key rejected, not written: " DROPIN "/a.pub:3: not a key");
}

static void row_dropin_ignored(void)
{
	struct finding f = {.path = DROPIN "/b.pub",
			    .problem = PROBLEM_DROPIN,
			    .action = ACTION_REFUSED,
			    .reason = "not owned by root or writable by group or others"};
	struct tell_extra x = {.db = db};

	tell(&f, true, false, TELL_DROPIN_IGNORED, &x);
	said(TELL_DROPIN_IGNORED, "dropin-ignored", "b0fb43ef2f2f4df59585535704a14805", LOG_WARNING,
	     "alice: " DROPIN "/b.pub: not owned by root or writable by group or others, "
	     "ignoring");
}

static void row_leftover(void)
{
	struct finding f = {.path = "/home/alice/.ssh/.authorized_keys.sshmend-0123456789abcdef",
			    .problem = PROBLEM_LEFTOVER,
			    .action = ACTION_FIXED,
			    .reason = LEFTOVER_REASON};
	struct tell_extra x = {.db = db};

	tell(&f, true, false, TELL_LEFTOVER, &x);
	said(TELL_LEFTOVER, "leftover-removed", "98df6fe818be4e0bbffc9a53ffd462a7", LOG_NOTICE,
	     "alice: /home/alice/.ssh/.authorized_keys.sshmend-0123456789abcdef removed: the "
	     "temporary file of a write cut short");
	events_leftover("/var/lib/sshmend/.keys.alice.sshmend-0123456789abcdef");
	said(TELL_LEFTOVER, "leftover-removed", "98df6fe818be4e0bbffc9a53ffd462a7", LOG_NOTICE,
	     "/var/lib/sshmend/.keys.alice.sshmend-0123456789abcdef removed: the temporary file "
	     "of a write cut short");
}

static void row_repaired(void)
{
	struct finding f = {.path = "/home/alice/.ssh",
			    .problem = PROBLEM_MODE,
			    .action = ACTION_FIXED,
			    .has_state = true,
			    .found = {.st_mode = S_IFDIR | 0777, .st_uid = 1001, .st_gid = 1001},
			    .exp_uid = 1001,
			    .exp_gid = 1001,
			    .exp_mode = 0700};
	struct tell_extra x = {.db = db};

	tell(&f, true, false, TELL_REPAIRED, &x);
	said(TELL_REPAIRED, "drift-repaired", "fd0c73482cc34187b09f475469070f45", LOG_NOTICE,
	     "alice: repaired /home/alice/.ssh: mode 0777 -> 0700");
}

static void row_unlocked(void)
{
	struct finding f = {.path = "/home/alice/.ssh",
			    .problem = PROBLEM_OWNER,
			    .action = ACTION_FIXED,
			    .has_state = true,
			    .found = {.st_mode = S_IFDIR | 0700, .st_uid = 1002, .st_gid = 1001},
			    .exp_uid = 1001,
			    .exp_gid = 1001,
			    .exp_mode = 0700,
			    .sshd_message =
				"bad ownership or modes for directory /home/alice/.ssh"};
	struct tell_extra x = {.db = db};

	tell(&f, false, false, TELL_UNLOCKED, &x);
	said(TELL_UNLOCKED, "drift-repaired", "fd0c73482cc34187b09f475469070f45", LOG_WARNING,
	     "alice: repaired /home/alice/.ssh: owner bob -> alice; sshd refused: bad ownership "
	     "or modes for directory /home/alice/.ssh");
}

static void row_refused(void)
{
	struct finding f = {.path = AK,
			    .problem = PROBLEM_SYMLINK,
			    .action = ACTION_REFUSED,
			    .reason = "a symlink in a directory the user can write",
			    .sshd_message = "Could not open user 'alice' authorized keys"};
	struct tell_extra x = {.db = db};

	tell(&f, false, false, TELL_REFUSED, &x);
	said(TELL_REFUSED, "repair-refused", "bd598a2bcd62420bad166dc4f280faf7", LOG_ERR,
	     "alice: will not repair " AK " (symlink): a symlink in a directory the user can "
	     "write; sshd refuses: Could not open user 'alice' authorized keys");
}

static void row_failed(void)
{
	struct finding f = {.path = "/home/alice",
			    .problem = PROBLEM_MODE,
			    .action = ACTION_FAILED,
			    .reason = "Operation not permitted"};
	struct tell_extra x = {.db = db};

	tell(&f, true, false, TELL_FAILED, &x);
	said(TELL_FAILED, "repair-failed", "113899a9697d49fea42a7bdba7b21226", LOG_ERR,
	     "alice: could not repair /home/alice (mode): Operation not permitted");
}

static void row_unapproved(void)
{
	ck_assert_int_eq(events_key(TELL_UNAPPROVED, "alice", AK, "SHA256:u", NULL, NULL), 0);
	said(TELL_UNAPPROVED, "key-unapproved", "42f41a84df6346cbbbf58051032545fd", LOG_WARNING,
	     "alice: key SHA256:u stands outside the approved set");
}

static void row_removed(void)
{
	ck_assert_int_eq(events_key(TELL_REMOVED, "alice", AK, "SHA256:r", "old", NULL), 0);
	said(TELL_REMOVED, "key-removed", "167445034e014a7dbc24d382c189c108", LOG_NOTICE,
	     "alice: key SHA256:r (old) is gone from the keys files");
}

static void row_baseline(void)
{
	events_baseline(3, 1);
	said(TELL_BASELINE, "keys-baseline", "70093cbfd8ba42b5abcbd4216f5d7557", LOG_INFO,
	     "recorded the keys of 3 users (1 key) as the baseline");
	ck_assert_uint_eq(got.count, 1);
}

static void row_flapping(void)
{
	events_flapping("alice", "/home/alice/.ssh", false, 5, 60000000, 10000000, NULL);
	said(TELL_FLAPPING, "flapping", "1a5db49c345b4c338c51038a9e922946", LOG_WARNING,
	     "alice: /home/alice/.ssh drifted back more than 5 times in 1min; backing off from "
	     "it, 10s at first, longer while it goes on");
	events_flapping("alice", AK, true, 5, 60000000, 10000000, NULL);
	said(TELL_FLAPPING, "flapping", "1a5db49c345b4c338c51038a9e922946", LOG_WARNING,
	     "alice: " AK " had its approved keys block undone more than 5 times in 1min; "
	     "backing off from it, 10s at first, longer while it goes on");
}

static void row_started(void)
{
	events_started(1, 3, 0);
	said(TELL_STARTED, "started", "da0047d59d464a6ca9c0a307e29d3f8e", LOG_INFO,
	     "started: watching 1 user, 3 paths, 0 repairs");
}

static void row_reloaded(void)
{
	events_reloaded("SIGHUP", 2);
	said(TELL_RELOADED, "reloaded", "517dbe289e594af0907a751fd268775b", LOG_INFO,
	     "reloaded (SIGHUP): watching 2 users");
}

static void row_stopping(void)
{
	events_stopping(15, 1);
	said(TELL_STOPPING, "stopping", "142c1754c51b4023a2762835e5509a50", LOG_INFO,
	     "stopping on signal 15 after 1 repair");
}

static void row_rescan(void)
{
	events_rescan();
	said(TELL_RESCAN, "rescan", "7ef0d631584742d18753e0cf567cbb5e", LOG_NOTICE,
	     "inotify queue overflowed; rescanning every chain once");
}

static void row_watch_limit(void)
{
	events_watch_limit(300000000, false);
	said(TELL_WATCH_LIMIT, "watch-limit", "715029790ad74678980d5d40c9eb8660", LOG_WARNING,
	     "inotify watch limit reached (fs.inotify.max_user_watches); keeping the watches "
	     "there are and scanning every 5min");
	events_watch_limit(300000000, true);
	said(TELL_WATCH_LIMIT, "watch-limit", "715029790ad74678980d5d40c9eb8660", LOG_WARNING,
	     "no inotify instance to be had (fs.inotify.max_user_instances); watching nothing "
	     "and scanning every 5min");
}

static void row_config_error(void)
{
	events_config_error("/etc/sshmend/sshmend.conf:2: bad value");
	said(TELL_CONFIG_ERROR, "config-error", "4aef36b4fc194b7bbb0f372ed4e86ff0", LOG_ERR,
	     "reload failed, keeping the old configuration: /etc/sshmend/sshmend.conf:2: bad "
	     "value");
}

static void row_config_warning(void)
{
	events_config_warning("/etc/sshmend/sshmend.conf:2: unknown key Exlusive=, ignoring");
	said(TELL_CONFIG_WARNING, "config-warning", "d18e6874cf774e2d911cccde5fa437fe", LOG_WARNING,
	     "configuration: /etc/sshmend/sshmend.conf:2: unknown key Exlusive=, "
	     "ignoring");
}

static void row_internal_error(void)
{
	events_internal_error("alice", "%s: check failed: %s", "alice",
			      "Too many levels of symbolic links");
	said(TELL_INTERNAL_ERROR, "internal-error", "2f663bbe1afb4504b35b76781b43b32e", LOG_ERR,
	     "alice: check failed: Too many levels of symbolic links");
	ck_assert_str_eq(got.user, "alice");
	events_internal_error(NULL, "reading inotify events failed: %s, ignoring",
			      "No buffer space available");
	said(TELL_INTERNAL_ERROR, "internal-error", "2f663bbe1afb4504b35b76781b43b32e", LOG_ERR,
	     "reading inotify events failed: No buffer space available, ignoring");
	ck_assert_str_eq(got.user, "");
}

static void row_login(enum tell t, const char *cause, const char *what, const char *id, int prio)
{
	struct login_refusal r = {.user = "alice",
				  .addr = "203.0.113.5",
				  .port = 50514,
				  .cause = cause,
				  .what = what,
				  .hint = "log in as ec2-user"};

	char want[256];

	snprintf(want, sizeof(want),
		 "sshd refused alice from 203.0.113.5 port 50514: %s; log in as ec2-user", what);
	ck_assert_int_eq(events_login_refused(t, &r), 0);
	ck_assert_str_eq(got.user, "alice");
	said(t, "login-refused", id, prio, want);
}

static void row_login_system(void)
{
	row_login(TELL_LOGIN_SYSTEM, "strict-modes", "bad modes",
		  "61a6f8fa7299478597406d8b9afb5e60", LOG_WARNING);
}

static void row_login_operator(void)
{
	row_login(TELL_LOGIN_OPERATOR, "unknown-user", "no such user",
		  "f5cecfd5bb9b44dcaa14524294e03275", LOG_NOTICE);
}

static void row_login_policy(void)
{
	row_login(TELL_LOGIN_POLICY, "root-refused", "PermitRootLogin",
		  "3859ec196f5e4d46bdf6e908c032219f", LOG_INFO);
}

static void row_login_noise(void)
{
	events_login_noise(2000, 3600000000ULL, "unknown-user 2000; top addresses: 127.0.0.2 40");
	ck_assert_uint_eq(got.count, 2000);
	said(TELL_LOGIN_NOISE, "login-noise", "be83fd1d1c094988bc475e063e8ec321", LOG_INFO,
	     "2000 refused logins in 1h without an entry of their own: unknown-user 2000; top "
	     "addresses: 127.0.0.2 40");
}

/* Each row of the table, in the table's order. */
static void (*const rows[])(void) = {
    [TELL_CARRIED] = row_carried,
    [TELL_NOT_CARRIED] = row_not_carried,
    [TELL_SYNCED] = row_synced,
    [TELL_QUARANTINED] = row_quarantined,
    [TELL_NOT_APPLIED] = row_not_applied,
    [TELL_KEY_REJECTED] = row_key_rejected,
    [TELL_DROPIN_IGNORED] = row_dropin_ignored,
    [TELL_REPAIRED] = row_repaired,
    [TELL_UNLOCKED] = row_unlocked,
    [TELL_LEFTOVER] = row_leftover,
    [TELL_REFUSED] = row_refused,
    [TELL_FAILED] = row_failed,
    [TELL_UNAPPROVED] = row_unapproved,
    [TELL_REMOVED] = row_removed,
    [TELL_BASELINE] = row_baseline,
    [TELL_FLAPPING] = row_flapping,
    [TELL_STARTED] = row_started,
    [TELL_RELOADED] = row_reloaded,
    [TELL_STOPPING] = row_stopping,
    [TELL_RESCAN] = row_rescan,
    [TELL_WATCH_LIMIT] = row_watch_limit,
    [TELL_CONFIG_ERROR] = row_config_error,
    [TELL_CONFIG_WARNING] = row_config_warning,
    [TELL_INTERNAL_ERROR] = row_internal_error,
    [TELL_LOGIN_SYSTEM] = row_login_system,
    [TELL_LOGIN_OPERATOR] = row_login_operator,
    [TELL_LOGIN_POLICY] = row_login_policy,
    [TELL_LOGIN_NOISE] = row_login_noise,
};

START_TEST(each_row)
{
	ck_assert_ptr_nonnull(rows[_i]);
	rows[_i]();
}
END_TEST

/* A row added to the table has its test here. */
START_TEST(every_row_is_tested)
{
	ck_assert_uint_eq(ELEMENTSOF(rows), _TELL_MAX);
}
END_TEST

/* A finding nothing was done about is not told; internal-error is sshmend's own failures alone. */
START_TEST(nothing_else_is_told)
{
	struct finding f = {.path = AK, .problem = PROBLEM_MODE, .action = ACTION_WOULD_FIX};
	struct user_report rep = report(&f, true);
	struct tell_extra x = {.db = db};

	ck_assert_int_eq(events_finding_row(&rep, &f, false), -1);
	ck_assert_int_eq(events_finding(&rep, &f, false, &x), 1);
	f.action = ACTION_NONE;
	ck_assert_int_eq(events_finding(&rep, &f, false, &x), 1);
	ck_assert_uint_eq(got.n, 0);
	for (int t = 0; t < _TELL_MAX; t++)
		if (events_row(t)->kind == EVENT_INTERNAL_ERROR)
			ck_assert_int_eq(t, TELL_INTERNAL_ERROR);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, each_row, 0, _TELL_MAX);
	tcase_add_test(tc, every_row_is_tested);
	tcase_add_test(tc, nothing_else_is_told);
	suite_add_tcase(s, tc);
	return s;
}
