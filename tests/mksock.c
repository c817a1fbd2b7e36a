/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mksock: leave a UNIX socket inode at PATH (bound, then closed), for tests that need a
 * socket where a file or directory belongs (SECURITY.md, scenario 6).
 *
 * Usage: mksock PATH
 *
 * The socket is bound by its last component from inside its directory, so a long PATH
 * (a deep temporary directory) does not run into the 108 bytes of sun_path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *name;
	char *slash;
	int fd;

	if (argc != 2) {
		fputs("usage: mksock PATH\n", stderr);
		return 2;
	}
	slash = strrchr(argv[1], '/');
	name = slash ? slash + 1 : argv[1];
	if (slash) {
		*slash = 0;
		if (chdir(*argv[1] ? argv[1] : "/") < 0) {
			fprintf(stderr, "mksock: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		*slash = '/';
	}
	if (!*name || strlen(name) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mksock: %s: bad socket name\n", argv[1]);
		return 2;
	}
	strcpy(sa.sun_path, name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "mksock: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}
