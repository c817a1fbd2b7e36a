/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include "check-main.h"
#include "macro.h"
#include "metrics.h"
#include "unit-helpers.h"

/* The metrics file: its text, and its write into a directory of a temp root. */

UNIT_ROOT_FIXTURE

static const char expected[] =
    "# HELP sshmend_users Users whose chains the daemon keeps.\n"
    "# TYPE sshmend_users gauge\n"
    "sshmend_users 3\n"
    "# HELP sshmend_users_refused Users whose keys file sshd would refuse now, as the last "
    "check found the chain.\n"
    "# TYPE sshmend_users_refused gauge\n"
    "sshmend_users_refused 1\n"
    "# HELP sshmend_repairs_total Repairs of a chain element made.\n"
    "# TYPE sshmend_repairs_total counter\n"
    "sshmend_repairs_total 7\n"
    "# HELP sshmend_repairs_refused_total Repairs refused (repair-refused entries), each "
    "counted once as it was told.\n"
    "# TYPE sshmend_repairs_refused_total counter\n"
    "sshmend_repairs_refused_total 2\n"
    "# HELP sshmend_logins_refused_total Logins sshd refused, read in its journal, by the "
    "cause diagnosed.\n"
    "# TYPE sshmend_logins_refused_total counter\n"
    "sshmend_logins_refused_total{cause=\"unknown-user\"} 2\n"
    "sshmend_logins_refused_total{cause=\"strict-modes\"} 1\n"
    "# HELP sshmend_keys Keys in the users' keys files by status, at each user's last key "
    "audit.\n"
    "# TYPE sshmend_keys gauge\n"
    "sshmend_keys{status=\"approved\"} 4\n"
    "sshmend_keys{status=\"user\"} 5\n"
    "sshmend_keys{status=\"unapproved\"} 0\n"
    "sshmend_keys{status=\"invalid\"} 1\n"
    "# HELP sshmend_last_full_scan_seconds How long the last full scan of every user took.\n"
    "# TYPE sshmend_last_full_scan_seconds gauge\n"
    "sshmend_last_full_scan_seconds 2.000500\n";

static void values(struct metrics_values *v)
{
	*v = (struct metrics_values){.users = 3,
				     .users_refused = 1,
				     .repairs = 7,
				     .repairs_refused = 2,
				     .keys = {4, 5, 0, 1},
				     .last_full_scan_usec = 2000500};
	metrics_count_cause(v, "unknown-user");
	metrics_count_cause(v, "strict-modes");
	metrics_count_cause(v, "unknown-user");
}

START_TEST(text)
{
	struct metrics_values v;
	char *t;
	size_t len;

	values(&v);
	ck_assert_int_eq(metrics_text(&v, &t, &len), 0);
	ck_assert_str_eq(t, expected);
	ck_assert_uint_eq(len, strlen(expected));
	free(t);
}
END_TEST

/* Bounded: causes past the table's size are not counted. */
START_TEST(causes_bounded)
{
	static char names[METRICS_CAUSES_MAX + 2][32];
	struct metrics_values v = {0};

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		snprintf(names[i], sizeof(names[i]), "c%u", (unsigned)i);
		metrics_count_cause(&v, names[i]);
	}
	ck_assert_uint_eq(v.n_causes, METRICS_CAUSES_MAX);
}
END_TEST

/* The file in its directory, whole, and nothing else left there. */
START_TEST(write_file)
{
	struct metrics_values v;
	char path[4096], *t, *back = NULL;
	size_t len, n = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	FILE *f;

	values(&v);
	ck_assert_int_eq(metrics_text(&v, &t, &len), 0);
	snprintf(path, sizeof(path), "%s/metrics", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(metrics_write(rootfd, "/metrics/missing", t, len), -ENOENT);
	ck_assert_int_eq(metrics_write(rootfd, "/metrics", "old\n", 4), 0);
	ck_assert_int_eq(metrics_write(rootfd, "/metrics", t, len), 0);
	snprintf(path, sizeof(path), "%s/metrics/" METRICS_FILE, root);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(getdelim(&back, &n, 0, f), (ssize_t)len);
	fclose(f);
	ck_assert_str_eq(back, expected);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	snprintf(path, sizeof(path), "%s/metrics", root);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	n = 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
	closedir(d);
	ck_assert_uint_eq(n, 1);
	free(back);
	free(t);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, unit_root_setup, unit_root_teardown);
	tcase_add_test(tc, text);
	tcase_add_test(tc, causes_bounded);
	/* The file is made root's. */
	if (geteuid() == 0)
		tcase_add_test(tc, write_file);
	suite_add_tcase(s, tc);
	return s;
}
