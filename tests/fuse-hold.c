/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuse-hold PATH UID [file]: mount, in the caller's mount namespace, a FUSE file system on
 * PATH (a directory, or with "file" a regular file) as a
 * user with uid UID would through fusermount with user_allow_other, and never answer it:
 * every request to it, the first stat() included, waits for ever. Prints "mounted" and
 * holds until killed. Used to test that sshmend never walks into a user's mount.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char opts[256];
	unsigned long uid;
	int fd;

	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "file") == 0)) {
		fprintf(stderr, "usage: fuse-hold PATH UID [file]\n");
		return 2;
	}
	uid = strtoul(argv[2], NULL, 10);
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("fuse-hold: /dev/fuse");
		return 77;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=%s,user_id=%lu,group_id=%lu,allow_other", fd,
		 argc == 4 ? "100000" : "40000", uid, uid);
	if (mount("userfuse", argv[1], "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		perror("fuse-hold: mount");
		return 77;
	}
	puts("mounted");
	fflush(stdout);
	for (;;)
		pause();
}
