/* SPDX-License-Identifier: Apache-2.0 */
#include <endian.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "jqueue.h"
#include "macro.h"

/* Entries held until the loop is idle, or while journald takes none: a storm of 10,000 heals'
 * entries, some 6 MiB. Past either bound, the oldest is sent at once to make room. */
#define JQUEUE_MAX_ENTRIES 16384
#define JQUEUE_MAX_BYTES (8u * 1024u * 1024u)
/* The longest an entry waits for the loop's idle time: while the loop stays busy for longer (a
 * long storm, reloads back to back), entries are sent this late. */
#define JQUEUE_WAIT_USEC (1000u * 1000u)
/* Entries sent a loop iteration: an event that comes meanwhile waits for these at most. */
#define JQUEUE_BATCH 64
/* A queue that held this much gives its freed pages back once it is empty. */
#define JQUEUE_TRIM_BYTES (1024u * 1024u)
/* At exit, how long what is still queued may wait for journald. */
#define JQUEUE_DETACH_MSEC 1000

struct datagram {
	char *p;
	size_t len;
	uint64_t at; /* when it was queued (CLOCK_MONOTONIC) */
};

static int fd = -1;
static struct sockaddr_un addr = {.sun_family = AF_UNIX};
static sd_event *loop;
/* Room in the socket again; the loop idle (nothing of a higher priority pending); the oldest
 * entry waited long enough. */
static sd_event_source *writable, *idle, *late;
static void (*on_dropped)(unsigned long n);
static struct datagram q[JQUEUE_MAX_ENTRIES];
static size_t q_head, q_n, q_bytes, q_peak;
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
	if (writable && sd_event_source_set_io_fd(writable, f) < 0) {
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

/* What the queue waits for. */
enum wait { WAIT_NONE, WAIT_IDLE, WAIT_ROOM };
static enum wait waiting;
/* Whether the loop failed to wake the queue: then each new entry drains it at once. */
static bool wake_broken;

static void wait_for(enum wait w)
{
	int r = 0;

	waiting = w;
	if (idle &&
	    sd_event_source_set_enabled(idle, w == WAIT_IDLE ? SD_EVENT_ON : SD_EVENT_OFF) < 0)
		r = -1;
	if (writable &&
	    sd_event_source_set_enabled(writable, w == WAIT_ROOM ? SD_EVENT_ON : SD_EVENT_OFF) < 0)
		r = -1;
	/* Waiting for an idle moment: no longer than JQUEUE_WAIT_USEC. */
	if (late && w == WAIT_IDLE &&
	    (sd_event_source_set_time(late, q[q_head].at + JQUEUE_WAIT_USEC) < 0 ||
	     sd_event_source_set_enabled(late, SD_EVENT_ONESHOT) < 0))
		r = -1;
	if (late && w != WAIT_IDLE && sd_event_source_set_enabled(late, SD_EVENT_OFF) < 0)
		r = -1;
	wake_broken = w != WAIT_NONE && (r < 0 || !idle);
}

/* The loop's time (before its first iteration, the clock's); 0, failing: as old as can be. */
static uint64_t now_usec(void)
{
	uint64_t t = 0;

	(void)sd_event_now(loop, CLOCK_MONOTONIC, &t);
	return t;
}

/* The oldest entry, sent or not, out of the queue. */
static void pop(void)
{
	struct datagram *d = &q[q_head];

	q_bytes -= d->len;
	free(d->p);
	*d = (struct datagram){0};
	q_head = (q_head + 1) % JQUEUE_MAX_ENTRIES;
	q_n--;
}

/* The queue is empty: what it held handed back, what it dropped told. */
static void emptied(void)
{
	if (q_peak >= JQUEUE_TRIM_BYTES)
		malloc_trim(0);
	q_peak = 0;
	if (dropped && on_dropped) {
		unsigned long n = dropped;

		dropped = 0;
		on_dropped(n);
	}
}

/* Send up to MAX of what is queued, oldest first: -EAGAIN when the socket takes no more. */
static int drain(size_t max)
{
	for (; q_n > 0 && max > 0; max--) {
		int r = send_one(q[q_head].p, q[q_head].len);

		if (r == -EAGAIN)
			return r;
		/* Sent, or never will be (too large: counted). */
		if (r < 0)
			dropped++;
		pop();
	}
	if (q_n == 0)
		emptied();
	return 0;
}

/* Up to MAX, then wait for the next idle moment, for room, or for nothing. */
static void drain_batch(size_t max)
{
	int r = drain(max);

	wait_for(r == -EAGAIN ? WAIT_ROOM : q_n > 0 ? WAIT_IDLE : WAIT_NONE);
}

static int on_writable(_unused_ sd_event_source *s, _unused_ int f, _unused_ uint32_t revents,
		       _unused_ void *userdata)
{
	drain_batch(JQUEUE_BATCH);
	return 0;
}

static int on_idle(_unused_ sd_event_source *s, _unused_ void *userdata)
{
	drain_batch(JQUEUE_BATCH);
	return 0;
}

/* The loop stayed busy: what waited JQUEUE_WAIT_USEC goes now. */
static int on_late(_unused_ sd_event_source *s, _unused_ uint64_t usec, _unused_ void *userdata)
{
	uint64_t now = now_usec();
	size_t n = 1;

	while (n < q_n && now - q[(q_head + n) % JQUEUE_MAX_ENTRIES].at >= JQUEUE_WAIT_USEC)
		n++;
	drain_batch(n);
	return 0;
}

static bool full(size_t len)
{
	return q_n == JQUEUE_MAX_ENTRIES || q_bytes + len > JQUEUE_MAX_BYTES;
}

int jqueue_send(const struct iovec *iov, int n)
{
	size_t len = 0, k = 0;
	char *p;

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
	/* Full: the oldest go now to make room, unless journald takes none (then this one is
	 * dropped, and counted). */
	while (q_n > 0 && full(len) && drain(1) == 0)
		;
	if (full(len)) {
		free(p);
		dropped++;
		return -ENOBUFS;
	}
	/* Behind what waits already: entries keep their order. */
	q[(q_head + q_n++) % JQUEUE_MAX_ENTRIES] =
	    (struct datagram){.p = p, .len = len, .at = now_usec()};
	q_bytes += len;
	if (q_bytes > q_peak)
		q_peak = q_bytes;
	if (waiting == WAIT_NONE || wake_broken)
		wait_for(WAIT_IDLE);
	if (wake_broken)
		(void)drain(SIZE_MAX);
	return 0;
}

/* Source S at PRIORITY, off. */
static int add_source(sd_event_source *s, int64_t priority)
{
	int r = sd_event_source_set_priority(s, priority);

	return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

int jqueue_attach(sd_event *e, const char *socket_path, int64_t priority,
		  void (*dropped_fn)(unsigned long n))
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
	r = sd_event_add_io(e, &writable, fd, EPOLLOUT, on_writable, NULL);
	if (r >= 0)
		r = add_source(writable, priority);
	if (r >= 0)
		r = sd_event_add_defer(e, &idle, on_idle, NULL);
	if (r >= 0)
		r = add_source(idle, priority);
	if (r >= 0)
		r = sd_event_add_time(e, &late, CLOCK_MONOTONIC, 0, 0, on_late, NULL);
	if (r >= 0)
		r = sd_event_source_set_enabled(late, SD_EVENT_OFF);
	if (r < 0) {
		writable = sd_event_source_disable_unref(writable);
		idle = sd_event_source_disable_unref(idle);
		late = sd_event_source_disable_unref(late);
		fd = close_fd(fd);
		return r;
	}
	on_dropped = dropped_fn;
	loop = e;
	return 0;
}

void jqueue_detach(void)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	if (fd < 0)
		return;
	writable = sd_event_source_disable_unref(writable);
	idle = sd_event_source_disable_unref(idle);
	late = sd_event_source_disable_unref(late);
	loop = NULL;
	waiting = WAIT_NONE;
	while (q_n > 0 && (drain(SIZE_MAX) == 0 || poll(&p, 1, JQUEUE_DETACH_MSEC) > 0))
		;
	while (q_n > 0)
		pop();
	q_peak = 0;
	fd = close_fd(fd);
	on_dropped = NULL;
}
