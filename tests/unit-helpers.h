/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include <fcntl.h>
#include "users.h"

/* A throw-away root for unit tests: a temp dir and a way to put files in it. */
static inline char *unit_tmproot(void)
{
	char tmpl[] = "/tmp/sshmend-unit-XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

static inline void unit_write(const char *root, const char *rel, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static inline void unit_rmtree(const char *root)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

/* A throw-away root (0755) held open as O_PATH; *path is its name, for unit_root_close(). */
static inline int unit_root_open(char **path)
{
	int fd;

	*path = unit_tmproot();
	ck_assert_int_eq(chmod(*path, 0755), 0);
	fd = open(*path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static inline void unit_root_close(char *path, int fd)
{
	close(fd);
	unit_rmtree(path);
	free(path);
}

/*
 * A suite's checked fixture of a throw-away root: ROOT and ROOTFD, made before each test and
 * removed after it (tcase_add_checked_fixture(tc, unit_root_setup, unit_root_teardown)).
 */
#define UNIT_ROOT_FIXTURE                                                                          \
	static char *root;                                                                         \
	static int rootfd = -1;                                                                    \
	static void unit_root_setup(void)                                                          \
	{                                                                                          \
		rootfd = unit_root_open(&root);                                                    \
	}                                                                                          \
	static void unit_root_teardown(void)                                                       \
	{                                                                                          \
		unit_root_close(root, rootfd);                                                     \
	}

/* The user database of ROOT: its etc/passwd and etc/group, written by the test. */
static inline struct userdb *unit_userdb(const char *root)
{
	struct userdb *db;
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(userdb_load(fd, &db), 0);
	close(fd);
	return db;
}
