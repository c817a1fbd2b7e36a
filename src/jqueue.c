/* SPDX-License-Identifier: Apache-2.0 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "jqueue.h"
#include "macro.h"

/* Entries held while journald takes none: some minutes of a storm's entries, a few MiB. */
#define JQUEUE_MAX_ENTRIES 4096
#define JQUEUE_MAX_BYTES (8u * 1024u * 1024u)
/* At exit, how long what is still queued may wait for journald. */
#define JQUEUE_DETACH_MSEC 1000

struct datagram {
	char *p;
	size_t len;
};

static int fd = -1;
static struct sockaddr_un addr = {.sun_family = AF_UNIX};
static sd_event_source *source;
static void (*on_dropped)(unsigned long n);
static struct datagram q[JQUEUE_MAX_ENTRIES];
static size_t q_head, q_n, q_bytes;
static unsigned long dropped;

static int close_fd(int f)
{
	if (f >= 0)
		close(f);
	return -1;
}

bool jqueue_attached(void)
{
	return fd >= 0;
}

/* Field F (NAME=VALUE) in journald's native form at OUT (NULL: only its length). */
static size_t put_field(char *out, const struct iovec *f)
{
	const char *s = f->iov_base, *eq = memchr(s, '=', f->iov_len);
	size_t name = eq ? (size_t)(eq - s) : f->iov_len, vlen = eq ? f->iov_len - name - 1 : 0;
	bool binary = eq && memchr(eq + 1, '\n', vlen);

	if (!binary) {
		if (out) {
			memcpy(out, s, f->iov_len);
			out[f->iov_len] = '\n';
		}
		return f->iov_len + 1;
	}
	if (out) {
		uint64_t le = htole64((uint64_t)vlen);

		memcpy(out, s, name);
		out[name] = '\n';
		memcpy(out + name + 1, &le, sizeof(le));
		memcpy(out + name + 1 + sizeof(le), eq + 1, vlen);
		out[name + 1 + sizeof(le) + vlen] = '\n';
	}
	return name + 1 + sizeof(uint64_t) + vlen + 1;
}

/* A socket connected to the journal's, nonblocking: its descriptor or a negative errno. */
static int open_socket(void)
{
	int f = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), r;

	if (f < 0)
		return -errno;
	if (connect(f, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		close(f);
		return r;
	}
	return f;
}

/* journald restarted (its socket is a new one): connect again, the loop watching the new
 * descriptor. */
static int reconnect(void)
{
	int f = open_socket();

	if (f < 0)
		return f;
	if (source && sd_event_source_set_io_fd(source, f) < 0) {
		close(f);
		return -EIO;
	}
	close(fd);
	fd = f;
	return 0;
}

/* 0 sent, -EAGAIN not taken now, another negative errno: never will be. */
static int send_one(const char *p, size_t len)
{
	for (int tries = 0; tries < 2; tries++) {
		if (send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return -EAGAIN;
		if ((errno != ECONNREFUSED && errno != ENOTCONN) || tries || reconnect() < 0)
			break;
	}
	return -errno;
}

/* Whether the loop failed to watch the socket for room: then each new entry drains first. */
static bool wake_broken;

static void set_waiting(bool on)
{
	if (source)
		wake_broken =
		    sd_event_source_set_enabled(source, on ? SD_EVENT_ON : SD_EVENT_OFF) < 0 && on;
}

/* Send what is queued, oldest first, until the socket takes no more. */
static void drain(void)
{
	while (q_n > 0) {
		struct datagram *d = &q[q_head];
		int r = send_one(d->p, d->len);

		if (r == -EAGAIN)
			return;
		/* Sent, or never will be (too large: counted). */
		if (r < 0)
			dropped++;
		q_bytes -= d->len;
		free(d->p);
		*d = (struct datagram){0};
		q_head = (q_head + 1) % JQUEUE_MAX_ENTRIES;
		q_n--;
	}
	set_waiting(false);
	if (dropped && on_dropped) {
		unsigned long n = dropped;

		dropped = 0;
		on_dropped(n);
	}
}

static int on_writable(_unused_ sd_event_source *s, _unused_ int f, _unused_ uint32_t revents,
		       _unused_ void *userdata)
{
	drain();
	return 0;
}

static int enqueue(char *p, size_t len)
{
	if (q_n == JQUEUE_MAX_ENTRIES || q_bytes + len > JQUEUE_MAX_BYTES) {
		free(p);
		dropped++;
		return -ENOBUFS;
	}
	q[(q_head + q_n++) % JQUEUE_MAX_ENTRIES] = (struct datagram){.p = p, .len = len};
	q_bytes += len;
	set_waiting(true);
	return 0;
}

int jqueue_send(const struct iovec *iov, int n)
{
	size_t len = 0, k = 0;
	char *p;
	int r;

	if (fd < 0)
		return -ENOTCONN;
	for (int i = 0; i < n; i++)
		len += put_field(NULL, &iov[i]);
	p = malloc(len);
	if (!p) {
		dropped++;
		return -ENOBUFS;
	}
	for (int i = 0; i < n; i++)
		k += put_field(p + k, &iov[i]);
	/* Behind what waits already: entries keep their order. */
	if (q_n > 0 && wake_broken)
		drain();
	if (q_n > 0)
		return enqueue(p, len);
	r = send_one(p, len);
	if (r == -EAGAIN)
		return enqueue(p, len);
	free(p);
	if (r < 0)
		dropped++;
	return r < 0 ? -ENOBUFS : 0;
}

int jqueue_attach(sd_event *e, const char *socket_path, void (*dropped_fn)(unsigned long n))
{
	int r;

	if (fd >= 0)
		return 0;
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, socket_path);
	fd = open_socket();
	if (fd < 0)
		return fd;
	r = sd_event_add_io(e, &source, fd, EPOLLOUT, on_writable, NULL);
	if (r >= 0)
		r = sd_event_source_set_enabled(source, SD_EVENT_OFF);
	if (r < 0) {
		source = sd_event_source_unref(source);
		fd = close_fd(fd);
		return r;
	}
	on_dropped = dropped_fn;
	return 0;
}

void jqueue_detach(void)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	if (fd < 0)
		return;
	source = sd_event_source_disable_unref(source);
	while (q_n > 0 && poll(&p, 1, JQUEUE_DETACH_MSEC) > 0)
		drain();
	while (q_n > 0) {
		free(q[q_head].p);
		q[q_head] = (struct datagram){0};
		q_head = (q_head + 1) % JQUEUE_MAX_ENTRIES;
		q_n--;
	}
	q_bytes = 0;
	fd = close_fd(fd);
	on_dropped = NULL;
}
