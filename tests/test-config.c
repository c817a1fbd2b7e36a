/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include "check-main.h"
#include "config.h"
#include "journal.h"
#include "macro.h"
#include "strv.h"
#include "timespan.h"
#include "unit-helpers.h"

static int parse(struct config *c, const char *text, char *err, size_t len)
{
	char *copy = strdup(text);
	int r;

	*err = 0;
	r = config_parse_text(c, "test.conf", copy, err, len);
	free(copy);
	return r;
}

START_TEST(all_keys)
{
	struct config c = {0};
	char err[512];

	ck_assert_int_eq(
	    parse(&c,
		  "# comment\n; also\n[Users]\nInclude = svc1 svc2\nExclude=bob\n"
		  "MinUID=500\n[Policy]\nMode=strict\nSshdFlavor=upstream\nSELinux=yes\n"
		  "AuthorizedKeysFile=/etc/ssh/keys/%u .ssh/authorized_keys\n",
		  err, sizeof(err)),
	    0);
	ck_assert_uint_eq(strv_length(c.include_users), 2);
	ck_assert(strv_contains(c.exclude_users, "bob"));
	ck_assert(c.min_uid_set);
	ck_assert_uint_eq(c.min_uid, 500);
	ck_assert_int_eq(c.mode, POLICY_STRICT);
	ck_assert_int_eq(c.flavor, FLAVOR_UPSTREAM);
	ck_assert_int_eq(c.selinux, SELINUX_YES);
	ck_assert_str_eq(c.authorized_keys[0], "/etc/ssh/keys/%u");
	ck_assert_ptr_null(c.warnings);
	config_done(&c);
}
END_TEST

START_TEST(lists_accumulate_and_reset)
{
	struct config c = {0};
	char err[512];

	ck_assert_int_eq(parse(&c, "[Users]\nExclude=a\nExclude=b\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(strv_length(c.exclude_users), 2);
	ck_assert_int_eq(parse(&c, "[Users]\nExclude=\nExclude=c\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(strv_length(c.exclude_users), 1);
	ck_assert_str_eq(c.exclude_users[0], "c");
	config_done(&c);
}
END_TEST

START_TEST(unknown_is_a_warning)
{
	struct config c = {0};
	char err[512];

	ck_assert_int_eq(parse(&c, "[Users]\nFrobnicate=1\n[Nope]\nX=1\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(strv_length(c.warnings), 2);
	ck_assert_str_eq(c.warnings[0], "test.conf:2: unknown key 'Frobnicate', ignoring");
	ck_assert_str_eq(c.warnings[1], "test.conf:3: unknown section 'Nope', ignoring");
	config_done(&c);
}
END_TEST

START_TEST(bad_values_are_errors)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"[Users]\nMinUID=-1\n", "test.conf:2: invalid value for MinUID: '-1'"},
	    {"[Users]\nMinUID=12abc\n", "test.conf:2: invalid value for MinUID: '12abc'"},
	    {"[Policy]\n\nMode=lenient\n", "test.conf:3: invalid value for Mode: 'lenient'"},
	    {"[Policy]\nSshdFlavor=\n", "test.conf:2: invalid value for SshdFlavor: ''"},
	    {"[Policy]\nSELinux=enforcing\n",
	     "test.conf:2: invalid value for SELinux: 'enforcing'"},
	    {"Mode=sshd\n", "test.conf:1: assignment outside of a section"},
	    {"[Policy\n", "test.conf:1: malformed section header"},
	    {"[Policy]\njust words\n", "test.conf:2: expected Key=Value"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c = {0};
		char err[512];

		ck_assert_int_eq(parse(&c, cases[i].text, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, cases[i].err);
		config_done(&c);
	}
}
END_TEST

/* MetricsDirectory=: an absolute path inside the root; empty again, none. */
START_TEST(metrics_directory)
{
	struct config c = {0};
	char err[512];

	ck_assert_ptr_null(c.metrics_dir);
	ck_assert_int_eq(
	    parse(&c, "[Daemon]\nMetricsDirectory=/var/lib/node-exporter\n", err, sizeof(err)), 0);
	ck_assert_str_eq(c.metrics_dir, "/var/lib/node-exporter");
	ck_assert_int_eq(parse(&c, "[Daemon]\nMetricsDirectory=\n", err, sizeof(err)), 0);
	ck_assert_ptr_null(c.metrics_dir);
	ck_assert_int_eq(parse(&c, "[Daemon]\nMetricsDirectory=metrics\n", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "test.conf:2: invalid value for MetricsDirectory: 'metrics'");
	config_done(&c);
}
END_TEST

START_TEST(times_in_systemd_syntax)
{
	static const struct {
		const char *value;
		unsigned long long usec;
	} cases[] = {
	    {"600", 600 * USEC_PER_SEC},
	    {"10min", 600 * USEC_PER_SEC},
	    {"1h 30s", 3630 * USEC_PER_SEC},
	    {"1h30s", 3630 * USEC_PER_SEC},
	    {"2s", 2 * USEC_PER_SEC},
	    {"500ms", 500 * USEC_PER_MSEC},
	    {"1.5h", 5400 * USEC_PER_SEC},
	    {"2 minutes", 120 * USEC_PER_SEC},
	    {"1d 2h 3m 4s", (86400 + 7200 + 180 + 4) * USEC_PER_SEC},
	    {"1w", 604800 * USEC_PER_SEC},
	    {"250000us", 250 * USEC_PER_MSEC},
	};
	static const char *const keys[] = {"RescanIntervalSec", "FallbackScanIntervalSec",
					   "FlapWindowSec", "FlapBackoffSec", "FlapBackoffMaxSec"};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
			struct config c = {0};
			unsigned long long *field[] = {&c.rescan_usec, &c.fallback_scan_usec,
						       &c.flap_window_usec, &c.flap_backoff_usec,
						       &c.flap_backoff_max_usec};
			char text[128], err[512];

			snprintf(text, sizeof(text), "[Daemon]\n%s=%s\n", keys[k], cases[i].value);
			ck_assert_msg(parse(&c, text, err, sizeof(err)) == 0, "%s: %s", text, err);
			ck_assert_uint_eq(*field[k], cases[i].usec);
			config_done(&c);
		}
}
END_TEST

START_TEST(bad_times_name_file_and_line)
{
	static const char *const bad[] = {"0",	"0s",  "10 parsecs", "min",  "1h x",
					  "",	"-5s", "1.s",	     "400d", "99999999999999999999",
					  "1us"};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct config c = {0};
		char text[128], want[256], err[512];

		snprintf(text, sizeof(text), "[Daemon]\n\nRescanIntervalSec=%s\n", bad[i]);
		snprintf(want, sizeof(want),
			 "test.conf:3: invalid value for RescanIntervalSec: '%s'", bad[i]);
		ck_assert_int_eq(parse(&c, text, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, want);
		config_done(&c);
	}
}
END_TEST

START_TEST(times_written_as_systemd_does)
{
	static const struct {
		unsigned long long usec;
		const char *text;
	} cases[] = {
	    {0, "0"},
	    {600 * USEC_PER_SEC, "10min"},
	    {3630 * USEC_PER_SEC, "1h 30s"},
	    {500 * USEC_PER_MSEC, "500ms"},
	    {5 * USEC_PER_SEC, "5s"},
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char buf[64];
		uint64_t back;

		ck_assert_str_eq(timespan_format(cases[i].usec, buf, sizeof(buf)), cases[i].text);
		ck_assert_int_eq(timespan_parse(buf, &back), 0);
		ck_assert_uint_eq(back, cases[i].usec);
	}
}
END_TEST

START_TEST(backoff_longer_than_its_longest)
{
	char *root = unit_tmproot();
	char path[4200], err[512] = "";
	struct config c;

	unit_write(root, "sshmend.conf", "[Daemon]\nFlapBackoffSec=5h\n");
	snprintf(path, sizeof(path), "%s/sshmend.conf", root);
	ck_assert_int_eq(config_load(-1, path, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.flap_backoff_usec, c.flap_backoff_max_usec);
	ck_assert_uint_eq(strv_length(c.warnings), 1);
	ck_assert_ptr_nonnull(strstr(c.warnings[0], "FlapBackoffMaxSec="));
	config_done(&c);
	unit_rmtree(root);
	free(root);
}
END_TEST

/* The rate limit's counts, its ceiling included: 1 to 1000000, errors naming file and line. */
START_TEST(log_rate_limits)
{
	static const char *const keys[] = {"LogRateLimitBurst", "LogRateLimitUserBurst",
					   "LogRateLimitCeiling"};
	static const char *const bad[] = {"0", "-1", "1000001", "many", ""};
	char *root = unit_tmproot();
	char path[4200], err[512] = "";
	struct config c;

	for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
		struct config p = {0};
		unsigned *field[] = {&p.log_burst, &p.log_user_burst, &p.log_ceiling};
		char text[128], want[256];

		snprintf(text, sizeof(text), "[Daemon]\n%s=500\n", keys[k]);
		ck_assert_msg(parse(&p, text, err, sizeof(err)) == 0, "%s: %s", text, err);
		ck_assert_uint_eq(*field[k], 500);
		config_done(&p);
		for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
			p = (struct config){0};
			snprintf(text, sizeof(text), "[Daemon]\n\n%s=%s\n", keys[k], bad[i]);
			snprintf(want, sizeof(want), "test.conf:3: invalid value for %s: '%s'",
				 keys[k], bad[i]);
			ck_assert_int_eq(parse(&p, text, err, sizeof(err)), -EINVAL);
			ck_assert_str_eq(err, want);
			config_done(&p);
		}
	}
	/* Unset: the defaults. */
	unit_write(root, "sshmend.conf", "[Daemon]\n");
	snprintf(path, sizeof(path), "%s/sshmend.conf", root);
	ck_assert_int_eq(config_load(-1, path, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.log_ceiling, JOURNAL_RATELIMIT_CEILING);
	ck_assert_uint_eq(c.log_burst, JOURNAL_RATELIMIT_BURST);
	config_done(&c);
	unit_rmtree(root);
	free(root);
}
END_TEST

START_TEST(dropins_in_order_and_ownership)
{
	char *root = unit_tmproot();
	char path[4200], err[512] = "";
	int fd = open(root, O_PATH | O_DIRECTORY);
	struct config c;

	unit_write(root, "etc/sshmend/sshmend.conf", "[Policy]\nMode=strict\n");
	unit_write(root, "etc/sshmend/sshmend.conf.d/20-b.conf", "[Policy]\nMode=sshd\n");
	unit_write(root, "etc/sshmend/sshmend.conf.d/10-a.conf", "[Policy]\nMode=strict\n");
	unit_write(root, "etc/sshmend/sshmend.conf.d/30-c.conf.disabled", "[Policy]\nMode=x\n");
	if (geteuid() == 0) {
		ck_assert_int_eq(config_load(fd, NULL, &c, err, sizeof(err)), 0);
		ck_assert_int_eq(c.mode, POLICY_SSHD); /* 20-b.conf is read last */
		ck_assert_uint_eq(strv_length(c.files), 3);
		config_done(&c);

		snprintf(path, sizeof(path), "%s/etc/sshmend/sshmend.conf.d/20-b.conf", root);
		ck_assert_int_eq(chmod(path, 0666), 0);
		ck_assert_int_eq(config_load(fd, NULL, &c, err, sizeof(err)), -EPERM);
		ck_assert_str_eq(err, "/etc/sshmend/sshmend.conf.d/20-b.conf: not owned by root or "
				      "writable by group or others, refusing");
	} else {
		/* Not root: our own files are not root's, so they must be refused. */
		ck_assert_int_eq(config_load(fd, NULL, &c, err, sizeof(err)), -EPERM);
	}
	/* --config FILE reads that file alone. */
	snprintf(path, sizeof(path), "%s/nul.conf", root);
	{
		FILE *f = fopen(path, "w");
		fwrite("[Policy]\nMode=s\0shd\n", 1, 20, f);
		fclose(f);
	}
	chmod(path, 0644);
	if (geteuid() == 0) {
		ck_assert_int_eq(config_load(fd, path, &c, err, sizeof(err)), -EINVAL);
		ck_assert(strstr(err, "nul.conf:2: NUL byte in file"));
	}
	close(fd);
	unit_rmtree(root);
	free(root);
}
END_TEST

START_TEST(every_key_listed)
{
	const char *sec, *key;
	size_t n = 0;

	while (config_key_at(n, &sec, &key))
		n++;
	ck_assert_uint_ge(n, 6);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, all_keys);
	tcase_add_test(tc, lists_accumulate_and_reset);
	tcase_add_test(tc, unknown_is_a_warning);
	tcase_add_test(tc, backoff_longer_than_its_longest);
	tcase_add_test(tc, bad_values_are_errors);
	tcase_add_test(tc, times_in_systemd_syntax);
	tcase_add_test(tc, bad_times_name_file_and_line);
	tcase_add_test(tc, times_written_as_systemd_does);
	tcase_add_test(tc, dropins_in_order_and_ownership);
	tcase_add_test(tc, log_rate_limits);
	tcase_add_test(tc, every_key_listed);
	tcase_add_test(tc, metrics_directory);
	suite_add_tcase(s, tc);
	return s;
}
