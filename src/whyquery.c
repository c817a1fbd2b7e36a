/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's side of why's question (whyquery.h): a SOCK_SEQPACKET socket in the loop, never
 * waited on. Each connection's one request is read without blocking, answered from the index (or
 * refused, when the peer is not root), and the connection closed. A client that connects and sends
 * nothing is held (a few at most, a second at most) without holding the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "macro.h"
#include "whyquery.h"

struct pending {
	int fd;
	uid_t uid;
	sd_event_source *io, *timer;
	struct whyquery *q;
};

struct whyquery {
	sd_event *ev;
	int64_t priority;
	int fd;
	sd_event_source *io;
	struct keyindex *x;
	struct pending *pending[WHYQUERY_PENDING_MAX];
	bool made_dir; /* WHYQUERY_DIR made here (not by the service manager): removed at the end */
};

/* A growing reply, bounded by WHYQUERY_REPLY_MAX. */
struct reply {
	char buf[WHYQUERY_REPLY_MAX];
	size_t len;
	bool full;
};

static void put(struct reply *r, const char *s)
{
	size_t n = strlen(s) + 1;

	if (r->full || r->len + n > sizeof(r->buf)) {
		r->full = true;
		return;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

static void say(int fd, const char *word)
{
	(void)send(fd, word, strlen(word) + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The request's fields: MAGIC, FP, EXCEPT, MAX. */
static bool parse(char *buf, size_t len, const char **fp, const char **except, size_t *max)
{
	const char *f[4];
	size_t at = 0;
	char *end;
	unsigned long v;

	for (size_t k = 0; k < ELEMENTSOF(f); k++) {
		const char *nul = memchr(buf + at, 0, len - at);

		if (!nul)
			return false;
		f[k] = buf + at;
		at = (size_t)(nul - buf) + 1;
	}
	if (at != len || strcmp(f[0], WHYQUERY_MAGIC) != 0)
		return false;
	errno = 0;
	v = strtoul(f[3], &end, 10);
	if (errno || end == f[3] || *end || v < 1 || v > WHYQUERY_HOLDERS_MAX)
		return false;
	*fp = *f[1] ? f[1] : NULL;
	*except = *f[2] ? f[2] : NULL;
	*max = v;
	return true;
}

/* The answer to the request BUF (LEN bytes) on FD. */
static void answer(struct whyquery *q, int fd, char *buf, size_t len)
{
	_cleanup_free_ struct reply *r = calloc(1, sizeof(*r));
	const uint8_t *digest = keyindex_get_digest(q->x);
	const char *fp, *except;
	size_t max, n_unknown = 0, held[WHYQUERY_HOLDERS_MAX], n;
	char num[32], hex[2 * SHA256_LEN + 1];

	if (!r)
		return;
	if (!parse(buf, len, &fp, &except, &max)) {
		say(fd, "bad");
		return;
	}
	/* What was healed since it was read is read now, a bounded number of users: a question
	 * never holds the loop long; the users left stale are unknown, for why to read itself. */
	(void)keyindex_refresh(q->x, WHYQUERY_REFRESH_MAX);
	for (size_t i = 0; i < keyindex_n_users(q->x); i++)
		n_unknown += !keyindex_known(q->x, i);
	if (keyindex_blind(q->x) || n_unknown > WHYQUERY_UNKNOWN_MAX) {
		say(fd, "busy");
		return;
	}
	for (size_t k = 0; k < SHA256_LEN; k++)
		snprintf(hex + 2 * k, 3, "%02x", digest[k]);
	put(r, "ok");
	put(r, hex);
	snprintf(num, sizeof(num), "%zu", n_unknown);
	put(r, num);
	for (size_t i = 0; i < keyindex_n_users(q->x); i++)
		if (!keyindex_known(q->x, i))
			put(r, keyindex_user(q->x, i)->name);
	n = keyindex_holders(q->x, fp, except, max, held);
	snprintf(num, sizeof(num), "%zu", n);
	put(r, num);
	for (size_t k = 0; k < n; k++)
		put(r, keyindex_user(q->x, held[k])->name);
	if (r->full)
		say(fd, "busy");
	else
		(void)send(fd, r->buf, r->len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Read FD's request and answer it (a peer whose uid, UID, is not root's: refused): 0 when done with
 * FD, -EAGAIN when the request has not arrived. The request is read even to refuse it: a
 * connection closed with it unread would lose the reply.
 */
static int serve(struct whyquery *q, int fd, uid_t uid)
{
	char buf[WHYQUERY_REQUEST_MAX];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (n > 0 && uid != 0)
		say(fd, "refused");
	else if (n > (ssize_t)sizeof(buf))
		say(fd, "bad");
	else if (n > 0)
		answer(q, fd, buf, (size_t)n);
	return 0;
}

static void pending_free(struct pending *p)
{
	struct whyquery *q = p->q;

	for (size_t k = 0; k < ELEMENTSOF(q->pending); k++)
		if (q->pending[k] == p)
			q->pending[k] = NULL;
	sd_event_source_unref(p->io);
	sd_event_source_unref(p->timer);
	close(p->fd);
	free(p);
}

static int on_pending(_unused_ sd_event_source *s, _unused_ int fd, _unused_ uint32_t revents,
		      void *userdata)
{
	struct pending *p = userdata;

	if (serve(p->q, p->fd, p->uid) == 0 || (revents & (EPOLLHUP | EPOLLERR)))
		pending_free(p);
	return 0;
}

static int on_expired(_unused_ sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	pending_free(userdata);
	return 0;
}

/* FD's request has not arrived: held until it does, or for WHYQUERY_PENDING_USEC. */
static void hold(struct whyquery *q, int fd, uid_t uid)
{
	struct pending *p;
	size_t k;
	int r;

	for (k = 0; k < ELEMENTSOF(q->pending) && q->pending[k]; k++)
		;
	if (k == ELEMENTSOF(q->pending) || !(p = calloc(1, sizeof(*p)))) {
		close(fd); /* full: the client, not the loop, waits and reads the files itself */
		return;
	}
	*p = (struct pending){.fd = fd, .uid = uid, .q = q};
	q->pending[k] = p;
	r = sd_event_add_io(q->ev, &p->io, fd, EPOLLIN, on_pending, p);
	if (r >= 0)
		r = sd_event_source_set_priority(p->io, q->priority);
	if (r >= 0)
		r = sd_event_add_time_relative(q->ev, &p->timer, CLOCK_MONOTONIC,
					       WHYQUERY_PENDING_USEC, 0, on_expired, p);
	if (r < 0)
		pending_free(p);
}

static int on_connect(_unused_ sd_event_source *s, _unused_ int fd, _unused_ uint32_t revents,
		      void *userdata)
{
	struct whyquery *q = userdata;

	for (size_t k = 0; k < WHYQUERY_ACCEPT_BATCH; k++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int c = accept4(q->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c < 0)
			break;
		/* A peer whose uid cannot be told is not root. */
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
			cred.uid = (uid_t)-1;
		if (serve(q, c, cred.uid) == -EAGAIN)
			hold(q, c, cred.uid);
		else
			close(c);
	}
	return 0;
}

/* WHYQUERY_DIR, root's and 0700: made when missing (outside systemd; *MADE), else as found. */
static int runtime_dir(bool *made)
{
	struct stat st;

	*made = mkdir(WHYQUERY_DIR, 0700) == 0;
	if (!*made && errno != EEXIST)
		return -errno;
	if (lstat(WHYQUERY_DIR, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0077))
		return -EPERM;
	return 0;
}

static int listen_on(bool *made_dir, int *ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = WHYQUERY_SOCKET};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r = runtime_dir(made_dir);

	if (r < 0)
		return r;
	if (fd < 0)
		return -errno;
	/* A socket a daemon before us left: this one holds the root's lock now. */
	if (unlink(WHYQUERY_SOCKET) < 0 && errno != ENOENT)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(WHYQUERY_SOCKET, 0600) < 0 ||
	    listen(fd, WHYQUERY_BACKLOG) < 0)
		return -errno;
	*ret = TAKE_FD(fd);
	return 0;
}

int whyquery_start(sd_event *ev, int64_t priority, struct keyindex *x, struct whyquery **ret)
{
	struct whyquery *q = calloc(1, sizeof(*q));
	int r;

	if (!q)
		return -ENOMEM;
	*q = (struct whyquery){.ev = ev, .priority = priority, .x = x, .fd = -1};
	r = listen_on(&q->made_dir, &q->fd);
	if (r >= 0)
		r = sd_event_add_io(ev, &q->io, q->fd, EPOLLIN, on_connect, q);
	if (r >= 0)
		r = sd_event_source_set_priority(q->io, priority);
	if (r < 0) {
		whyquery_free(q);
		return r;
	}
	*ret = q;
	return 0;
}

void whyquery_free(struct whyquery *q)
{
	if (!q)
		return;
	for (size_t k = 0; k < ELEMENTSOF(q->pending); k++)
		if (q->pending[k])
			pending_free(q->pending[k]);
	sd_event_source_unref(q->io);
	if (q->fd >= 0) {
		close(q->fd);
		(void)unlink(WHYQUERY_SOCKET);
	}
	if (q->made_dir)
		(void)rmdir(WHYQUERY_DIR);
	free(q);
}
