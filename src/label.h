/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "config.h"

/*
 * SELinux labels of the chain: the label an element carries, the one the policy's file
 * contexts give its path, and the repair restorecon would make. Labels are the
 * "security.selinux" extended attribute, which the kernel stores whether SELinux runs or not.
 */

#define LABEL_XATTR "security.selinux"

struct label_policy;

/*
 * Decide whether labels are judged under MODE, for the root ROOTFD (ROOT its host path, NULL
 * for the running system): *ret is NULL when they are not. With a root, its
 * etc/selinux/config names the policy (SELINUXTYPE) whose file contexts are used, and says
 * whether it enforces (SELINUX=enforcing); else the running system's policy, enforcing when
 * the kernel does. -EOPNOTSUPP for SELINUX_YES without SELinux support built in; -ENOENT
 * for SELINUX_YES with no policy to judge by; other errors with "FILE: why" in ERR.
 */
int label_policy_open(enum selinux_mode mode, int rootfd, const char *root,
		      struct label_policy **ret, char *err, size_t errlen);
/* Free P; if it is the one label_use() was given, new files are labelled no more. */
void label_policy_free(struct label_policy *p);

/* Does the policy enforce (kernel, or the root's SELINUX=enforcing)? */
bool label_policy_enforcing(const struct label_policy *p);

/*
 * The label the policy's file contexts give PATH (as sshd sees it: inside the root) for a
 * file of type MODE (st_mode), in *ret (malloc'd). -ENOENT when they give it none.
 */
int label_expected(const struct label_policy *p, const char *path, mode_t mode, char **ret);

/*
 * The label of the inode behind FD (O_PATH or not) in *ret (malloc'd), or NULL when it
 * carries none. A symlink's own label is not read: -ELOOP; a file system that keeps no
 * labels: -EOPNOTSUPP.
 */
int label_get(int fd, char **ret);

/* The type of LABEL ("user:role:type[:level]") into BUF; false when LABEL has none. */
bool label_type(const char *label, char *buf, size_t len);

/* Do CURRENT (NULL: none) and EXPECTED name the same type? */
bool label_same_type(const char *current, const char *expected);

/*
 * The label restorecon (without -F) gives an element that carries CURRENT (NULL: none)
 * when the policy says EXPECTED: EXPECTED whole when it carries none; else CURRENT with
 * EXPECTED's type, its user, role and level kept. *ret is malloc'd.
 */
int label_restored(const char *current, const char *expected, char **ret);

/*
 * Does the element at PATH (as sshd sees it) behind FD, of type MODE, carry a type other than
 * the one P's file contexts give it? 1 then, with its label (NULL: none) in *cur and the
 * policy's in *want (both malloc'd); 0 when the types agree or nothing is judged (no policy,
 * no label for the path, a file system that keeps none); -ENOMEM.
 */
int label_mismatch(const struct label_policy *p, const char *path, int fd, mode_t mode, char **cur,
		   char **want);

/*
 * Set LABEL on the inode behind FD (O_PATH or not), if it is still the inode EXPECT
 * describes (-ESTALE), never a symlink (-ELOOP), a regular file only with one link
 * (-EMLINK), as safe_set_owner_mode() checks.
 */
int label_set(int fd, const struct stat *expect, const char *label);

/*
 * Is LABEL's type one sshd (sshd_t) can use for an element of type MODE on an enforcing
 * system: read as a keys file, or search as a directory of the chain? A list from the
 * reference policy, in label.c.
 */
bool label_sshd_can_use(const char *label, mode_t mode);

/*
 * Label the new file FD, about to be renamed to NAME in the directory DIRFD, as the policy
 * the process judges by (label_use()) gives that path; nothing when no labels are judged.
 */
int label_new_file(int dirfd, const char *name, int fd);

/*
 * The policy new files and directories are labelled by (label_new_file()), and the host path
 * of its root (NULL: "/"): set by whoever opened it, cleared with NULL. Borrowed.
 */
void label_use(const struct label_policy *p, const char *root);
