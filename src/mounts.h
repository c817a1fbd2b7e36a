/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

/*
 * File systems a walk must not enter. A user may mount a FUSE file system of their own on
 * ~/.ssh (with user_allow_other in /etc/fuse.conf, root can enter it); its server may never
 * answer, and the first stat() in it would block the daemon for good. The mount is found
 * without asking the file system anything: the mount point is met with RESOLVE_NO_XDEV, and
 * the mount table names its type and, for FUSE, the uid that mounted it.
 */

/*
 * Is FD (O_PATH, just opened across a mount point) the root of a FUSE file system a user
 * other than root mounted? 1 and *RET_UID the user, 0 if not, or a negative errno when the
 * mount table cannot be read.
 */
int mounts_is_users(int fd, uid_t *ret_uid);
