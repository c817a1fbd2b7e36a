/* SPDX-License-Identifier: Apache-2.0 */
/* notify-recv: a stand-in for the service manager's end of NOTIFY_SOCKET, for tests.
 *
 * Usage: notify-recv SOCKET-PATH LOG-FILE
 *
 * Binds an AF_UNIX datagram socket at SOCKET-PATH (a leading '@' means an abstract address) and
 * appends every datagram it receives to LOG-FILE, one KEY=VALUE per line (the datagram split on
 * newlines, empty lines dropped), each datagram with a single write(2) so a reader never sees half
 * of one. File descriptors passed along (FDSTORE=1) are closed. Runs until SIGTERM or SIGINT, then
 * removes SOCKET-PATH and exits 0. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_DATAGRAM (256 * 1024)
#define MAX_FDS 253

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void close_passed_fds(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)(void *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
	}
}

/* Turn "A=1\nB=2\n\n" into "A=1\nB=2\n" in out; return the length. */
static size_t to_lines(const char *in, size_t len, char *out)
{
	size_t o = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && in[i] != '\n')
			continue;
		if (i > start) {
			memcpy(out + o, in + start, i - start);
			o += i - start;
			out[o++] = '\n';
		}
		start = i + 1;
	}
	return o;
}

int main(int argc, char *argv[])
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKET-PATH LOG-FILE\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	int abstract = path[0] == '@';

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	if (plen == 0 || plen >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notify-recv: bad socket path '%s'\n", path);
		return 2;
	}
	memcpy(sa.sun_path, path, plen);
	if (abstract)
		sa.sun_path[0] = '\0';
	socklen_t salen =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (abstract ? 0 : 1));

	int logfd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "notify-recv: open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}

	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		fprintf(stderr, "notify-recv: socket: %s\n", strerror(errno));
		return 1;
	}
	if (!abstract)
		(void)unlink(path);
	if (bind(sock, (struct sockaddr *)&sa, salen) < 0) {
		fprintf(stderr, "notify-recv: bind %s: %s\n", path, strerror(errno));
		return 1;
	}

	struct sigaction act = {.sa_handler = on_signal}; /* no SA_RESTART: recvmsg returns EINTR */
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGHUP, &act, NULL);

	char *buf = malloc(MAX_DATAGRAM);
	char *lines = malloc(MAX_DATAGRAM + 1);
	if (!buf || !lines) {
		fprintf(stderr, "notify-recv: out of memory\n");
		return 1;
	}
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} control;

	int rc = 0;
	while (!stop) {
		struct iovec iov = {.iov_base = buf, .iov_len = MAX_DATAGRAM};
		struct msghdr mh = {
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = control.buf,
		    .msg_controllen = sizeof(control.buf),
		};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "notify-recv: recvmsg: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		close_passed_fds(&mh);
		if (mh.msg_flags & MSG_TRUNC)
			fprintf(stderr, "notify-recv: datagram truncated to %zd bytes\n", n);
		size_t len = to_lines(buf, (size_t)n, lines);
		if (len > 0 && write_all(logfd, lines, len) < 0) {
			fprintf(stderr, "notify-recv: write %s: %s\n", argv[2], strerror(errno));
			rc = 1;
			break;
		}
	}

	if (!abstract)
		(void)unlink(path);
	free(buf);
	free(lines);
	close(sock);
	close(logfd);
	return rc;
}
