/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "audit.h"
#include "escape.h"
#include "macro.h"
#include "rootlock.h"
#include "timespan.h"

/* One daemon per root: it holds a lock on this file in the root's state directory. A
 * daemon restarted while the old one still exits waits this long for it. */
#define LOCK_NAME "daemon.lock"
#define LOCK_WAIT_USEC (3 * USEC_PER_SEC)
#define LOCK_POLL_USEC (50 * USEC_PER_MSEC)

/* See rootlock.h. The root's daemon lock into *RET (released when the process ends): -EBUSY, told
 * on stderr, when another daemon holds it after LOCK_WAIT_USEC.
 */
int rootlock_take(int rootfd, const char *root, int *ret)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int r = audit_state_dir(rootfd, true, &dfd);

	if (r >= 0) {
		fd = openat(dfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			    0600);
		r = fd < 0 ? negative_errno() : 0;
	}
	for (uint64_t waited = 0; r >= 0 && fcntl(fd, F_SETLK, &fl) < 0; waited += LOCK_POLL_USEC) {
		if (errno != EAGAIN && errno != EACCES)
			r = negative_errno();
		else if (waited >= LOCK_WAIT_USEC) {
			struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
			char pid[32] = "";

			/* Its pid, when it is in our pid namespace. */
			if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0)
				snprintf(pid, sizeof(pid), ", pid %ld,", (long)who.l_pid);
			escape_say("another sshmend daemon%s runs on %s (it holds %s/%s); "
				   "not starting",
				   pid, root ? root : "/", AUDIT_STATE_DIR, LOCK_NAME);
			return -EBUSY;
		} else
			usleep(LOCK_POLL_USEC);
	}
	if (r < 0) {
		escape_say("cannot lock %s/%s: %s", AUDIT_STATE_DIR, LOCK_NAME, strerror(-r));
		return r;
	}
	*ret = TAKE_FD(fd);
	return 0;
}
