/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include "check-main.h"
#include "label.h"
#include "macro.h"
#include "unit-helpers.h"

/*
 * Labels judged by the reference policy's file contexts (selinux-policy-default), copied into
 * a throw-away root as an image would carry them. The labels are extended attributes the
 * kernel stores whether SELinux runs or not; setting them without SELinux takes root.
 */
#define POLICY_FILES "/etc/selinux/default/contexts/files"
#define HOME_T "unconfined_u:object_r:user_home_t:s0"

static char *root;
static int rootfd = -1;
static struct label_policy *pol;

static void copy_file(const char *from, const char *rel)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s/%s')\" && cp '%s' '%s/%s'", root, rel,
		 from, root, rel);
	ck_assert_int_eq(system(cmd), 0);
}

static void setup(void)
{
	char err[512];

	root = unit_tmproot();
	unit_write(root, "etc/selinux/config",
		   "# as written by selinux-activate\nSELINUX=enforcing\n"
		   "SELINUXTYPE=default\n");
	copy_file(POLICY_FILES "/file_contexts",
		  "etc/selinux/default/contexts/files/file_contexts");
	copy_file(POLICY_FILES "/file_contexts.homedirs",
		  "etc/selinux/default/contexts/files/file_contexts.homedirs");
	unit_write(root, "home/alice/.ssh/authorized_keys", "");
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(rootfd, 0);
	ck_assert_int_eq(label_policy_open(SELINUX_YES, rootfd, root, &pol, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(pol);
}

static void teardown(void)
{
	label_use(NULL, NULL);
	label_policy_free(pol);
	close(rootfd);
	unit_rmtree(root);
	free(root);
}

static int open_path(const char *rel, int flags)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_PATH | O_NOFOLLOW | O_CLOEXEC | flags);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static void put_label(const char *rel, const char *label)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(lsetxattr(p, LABEL_XATTR, label, strlen(label) + 1, 0), 0);
}

static void assert_type(const char *label, const char *type)
{
	char t[256];

	ck_assert_msg(label_type(label, t, sizeof(t)), "no type in '%s'", label ? label : "");
	ck_assert_str_eq(t, type);
}

START_TEST(types_and_restorecon_rule)
{
	char t[64];
	char *s = NULL;

	ck_assert(label_type("system_u:object_r:ssh_home_t:s0-s0:c0.c1023", t, sizeof(t)));
	ck_assert_str_eq(t, "ssh_home_t");
	ck_assert(label_type("u:r:t", t, sizeof(t)));
	ck_assert_str_eq(t, "t");
	ck_assert(!label_type("garbage", t, sizeof(t)));
	ck_assert(!label_type(NULL, t, sizeof(t)));
	ck_assert(label_same_type(HOME_T, "system_u:object_r:user_home_t:s0:c1"));
	ck_assert(!label_same_type(NULL, HOME_T));
	/* Without -F, restorecon changes the type alone: user, role and level stay. */
	ck_assert_int_eq(label_restored("staff_u:object_r:user_home_t:s0:c3",
					"unconfined_u:object_r:ssh_home_t:s0", &s),
			 0);
	ck_assert_str_eq(s, "staff_u:object_r:ssh_home_t:s0:c3");
	free(s);
	/* No label at all: the policy's whole. */
	ck_assert_int_eq(label_restored(NULL, "unconfined_u:object_r:ssh_home_t:s0", &s), 0);
	ck_assert_str_eq(s, "unconfined_u:object_r:ssh_home_t:s0");
	free(s);
}
END_TEST

static void assert_expected(const char *path, mode_t mode, const char *type)
{
	char *s = NULL;

	ck_assert_int_eq(label_expected(pol, path, mode, &s), 0);
	assert_type(s, type);
	free(s);
}

START_TEST(policy_of_the_root)
{
	ck_assert(label_policy_enforcing(pol));
	assert_expected("/home/alice/.ssh", S_IFDIR, "ssh_home_t");
	assert_expected("/home/alice/.ssh/authorized_keys", S_IFREG, "ssh_home_t");
	assert_expected("/home/alice", S_IFDIR, "user_home_dir_t");
	assert_expected("/root/.ssh/authorized_keys", S_IFREG, "ssh_home_t");
	assert_expected("/home/alice/notes", S_IFREG, "user_home_t");
	assert_expected("/home", S_IFDIR, "home_root_t");
	assert_expected("/", S_IFDIR, "root_t");
}
END_TEST

START_TEST(when_labels_are_judged)
{
	struct label_policy *p = (struct label_policy *)1;
	char err[512];

	ck_assert_int_eq(label_policy_open(SELINUX_NO, rootfd, root, &p, err, sizeof(err)), 0);
	ck_assert_ptr_null(p);
	/* This kernel runs without SELinux: auto judges nothing. */
	if (access("/sys/fs/selinux/enforce", F_OK) != 0) {
		ck_assert_int_eq(
		    label_policy_open(SELINUX_AUTO, rootfd, root, &p, err, sizeof(err)), 0);
		ck_assert_ptr_null(p);
	}
	/* A root that names no policy: yes is an error naming the file, auto judges nothing. */
	unit_write(root, "etc/selinux/config", "SELINUX=disabled\n");
	ck_assert_int_eq(label_policy_open(SELINUX_YES, rootfd, root, &p, err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/etc/selinux/config"));
	unit_write(root, "etc/selinux/config", "SELINUX=permissive\nSELINUXTYPE=default\n");
	ck_assert_int_eq(label_policy_open(SELINUX_YES, rootfd, root, &p, err, sizeof(err)), 0);
	ck_assert(!label_policy_enforcing(p));
	label_policy_free(p);
	/* A type that would lead out of the root's policies is refused. */
	unit_write(root, "etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=../../tmp\n");
	ck_assert_int_lt(label_policy_open(SELINUX_YES, rootfd, root, &p, err, sizeof(err)), 0);
}
END_TEST

START_TEST(read_and_restore_on_descriptors)
{
	_cleanup_close_ int fd = open_path("home/alice/.ssh/authorized_keys", 0);
	char *cur = NULL, *want = NULL, *set = NULL;
	struct stat st;

	put_label("home/alice/.ssh/authorized_keys", HOME_T);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(label_get(fd, &cur), 0);
	ck_assert_str_eq(cur, HOME_T);
	ck_assert_int_eq(label_expected(pol, "/home/alice/.ssh/authorized_keys", st.st_mode, &want),
			 0);
	ck_assert(!label_same_type(cur, want));
	ck_assert(!label_sshd_can_use(cur, st.st_mode));
	ck_assert_int_eq(label_restored(cur, want, &set), 0);
	ck_assert_int_eq(label_set(fd, &st, set), 0);
	free(cur);
	ck_assert_int_eq(label_get(fd, &cur), 0);
	ck_assert_str_eq(cur, "unconfined_u:object_r:ssh_home_t:s0");
	ck_assert(label_sshd_can_use(cur, st.st_mode));
	free(cur);
	free(want);
	free(set);
}
END_TEST

START_TEST(no_label_is_none)
{
	_cleanup_close_ int fd = open_path("home/alice/.ssh", 0);
	char *cur = (char *)"x";
	char p[4096];

	snprintf(p, sizeof(p), "%s/home/alice/.ssh", root);
	(void)removexattr(p, LABEL_XATTR);
	ck_assert_int_eq(label_get(fd, &cur), 0);
	ck_assert_ptr_null(cur);
}
END_TEST

START_TEST(no_labels_kept_here)
{
	_cleanup_close_ int fd = -1;
	char dir[4096], file[4200], *cur = NULL;

	/* ramfs keeps no security.* attributes: nothing to judge there. */
	snprintf(dir, sizeof(dir), "%s/ramfs", root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	if (mount("none", dir, "ramfs", 0, NULL) < 0)
		return; /* no mount here (a container without CAP_SYS_ADMIN) */
	snprintf(file, sizeof(file), "%s/f", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(label_get(fd, &cur), -EOPNOTSUPP);
	close(fd);
	fd = -1;
	ck_assert_int_eq(umount(dir), 0);
}
END_TEST

START_TEST(symlink_never_touched)
{
	_cleanup_close_ int lfd = -1;
	char link[4096], *cur = NULL;
	struct stat st;

	put_label("home/alice/.ssh/authorized_keys", HOME_T);
	snprintf(link, sizeof(link), "%s/home/alice/.ssh/ak2", root);
	ck_assert_int_eq(symlink("authorized_keys", link), 0);
	lfd = open_path("home/alice/.ssh/ak2", 0);
	ck_assert_int_eq(fstat(lfd, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(label_get(lfd, &cur), -ELOOP);
	ck_assert_int_eq(label_set(lfd, &st, "unconfined_u:object_r:ssh_home_t:s0"), -ELOOP);
	/* Neither the link's target... */
	{
		_cleanup_close_ int fd = open_path("home/alice/.ssh/authorized_keys", 0);

		ck_assert_int_eq(label_get(fd, &cur), 0);
		ck_assert_str_eq(cur, HOME_T);
		free(cur);
	}
	/* ...nor the link itself. */
	ck_assert_int_lt(lgetxattr(link, LABEL_XATTR, NULL, 0), 0);
}
END_TEST

START_TEST(hard_link_and_replaced_refused)
{
	_cleanup_close_ int fd = open_path("home/alice/.ssh/authorized_keys", 0);
	char a[4096], b[4096];
	struct stat st, other;

	ck_assert_int_eq(fstat(fd, &st), 0);
	other = st;
	other.st_ino++;
	ck_assert_int_eq(label_set(fd, &other, HOME_T), -ESTALE);
	snprintf(a, sizeof(a), "%s/home/alice/.ssh/authorized_keys", root);
	snprintf(b, sizeof(b), "%s/home/alice/elsewhere", root);
	ck_assert_int_eq(link(a, b), 0);
	ck_assert_int_eq(label_set(fd, &st, HOME_T), -EMLINK);
}
END_TEST

START_TEST(new_file_labelled_by_its_path)
{
	_cleanup_close_ int dfd = open_path("home/alice/.ssh", O_DIRECTORY);
	_cleanup_close_ int fd = -1;
	char p[4096], *cur = NULL;

	/* Where the new file is written aside, labelled before it is renamed into place. */
	snprintf(p, sizeof(p), "%s/home/alice/.ssh/.tmp", root);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	label_use(pol, root);
	ck_assert_int_eq(label_new_file(dfd, "authorized_keys", fd), 0);
	ck_assert_int_eq(label_get(fd, &cur), 0);
	assert_type(cur, "ssh_home_t");
	free(cur);
	/* Nothing judged, nothing set. */
	label_use(NULL, NULL);
	ck_assert_int_eq(fremovexattr(fd, LABEL_XATTR), 0);
	ck_assert_int_eq(label_new_file(dfd, "authorized_keys", fd), 0);
	ck_assert_int_eq(label_get(fd, &cur), 0);
	ck_assert_ptr_null(cur);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("label");
	TCase *tc = tcase_create("core");

#if !HAVE_SELINUX
	puts("1..0 # SKIP built without SELinux support");
	exit(0);
#endif
	if (access(POLICY_FILES "/file_contexts", R_OK) != 0 || geteuid() != 0) {
		/* Labels are security.* attributes: without SELinux only root sets them. */
		puts("1..0 # SKIP needs root and selinux-policy-default (" POLICY_FILES ")");
		exit(0);
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, types_and_restorecon_rule);
	tcase_add_test(tc, policy_of_the_root);
	tcase_add_test(tc, when_labels_are_judged);
	tcase_add_test(tc, read_and_restore_on_descriptors);
	tcase_add_test(tc, no_label_is_none);
	tcase_add_test(tc, no_labels_kept_here);
	tcase_add_test(tc, symlink_never_touched);
	tcase_add_test(tc, hard_link_and_replaced_refused);
	tcase_add_test(tc, new_file_labelled_by_its_path);
	suite_add_tcase(s, tc);
	return s;
}
