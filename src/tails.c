/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "keys.h"
#include "macro.h"
#include "safeio.h"
#include "tails.h"

struct tail {
	char *user;
	int fd;
	int wd;
	off_t offset;
	uint64_t used;	   /* when it last grew or came, in tails_add() calls and growths */
	uint64_t since;	   /* when it came, CLOCK_MONOTONIC microseconds */
	bool pending;	   /* to be measured by tails_sweep(): new, or its lines not yet carried */
	uint64_t retry_at; /* its lines not taken: not offered by a sweep before (microseconds) */
	uint64_t retry_in; /* ... and the wait after the next refusal */
	bool leaseless; /* no lease can be asked for (no CAP_LEASE, or the file system has none) */
};

struct tails {
	int fd;
	struct tail t[TAILS_MAX];
	size_t n;
	uint64_t clock;
};

int tails_new(struct tails **ret)
{
	struct tails *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	/* A lease asked and given back at once (tail_lease()) that someone breaks in between
	 * signals its owner with SIGIO, whose default ends the process: nothing to be told. */
	(void)signal(SIGIO, SIG_IGN);
	t->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* No inotify instance left: no tails then (tails_add() fails), the rest works. */
	if (t->fd < 0 && errno != EMFILE && errno != ENFILE) {
		int r = negative_errno();

		free(t);
		return r;
	}
	*ret = t;
	return 0;
}

static void tail_drop(struct tails *t, size_t i)
{
	inotify_rm_watch(t->fd, t->t[i].wd);
	close(t->t[i].fd);
	free(t->t[i].user);
	t->t[i] = t->t[--t->n];
}

void tails_free(struct tails *t)
{
	if (!t)
		return;
	while (t->n)
		tail_drop(t, t->n - 1);
	close(t->fd);
	free(t);
}

int tails_fd(const struct tails *t)
{
	return t->fd;
}

size_t tails_count(const struct tails *t)
{
	return t->n;
}

static size_t count_of(const struct tails *t, const char *user)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += strcmp(t->t[i].user, user) == 0;
	return n;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	return clock_gettime(CLOCK_MONOTONIC, &ts) < 0
		   ? 0
		   : (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Would a lease of TYPE on the file be granted (it is given back at once)? Refused for
 * another reason than a descriptor in the way (EAGAIN), it never will be: TL is leaseless.
 */
static bool tail_lease(struct tail *tl, int type)
{
	if (fcntl(tl->fd, F_SETLEASE, type) < 0) {
		tl->leaseless = errno != EAGAIN;
		return false;
	}
	(void)fcntl(tl->fd, F_SETLEASE, F_UNLCK);
	return true;
}

/*
 * Nobody holds the replaced file open for writing, so nothing more can land in it: a read
 * lease is refused while any descriptor of it is open for writing (an append opened before
 * the rename and not written yet is one).
 */
static bool tail_idle(struct tail *tl)
{
	return tail_lease(tl, F_RDLCK);
}

/* The file has no name left (replaced, or removed): nobody can open it by one again. */
static bool tail_unnamed(const struct tail *tl)
{
	struct stat st;

	return fstat(tl->fd, &st) >= 0 && st.st_nlink == 0;
}

/*
 * The file can take no more lines: followed TAILS_SETTLE_USEC (an append that found it just
 * before it was replaced has opened it by then), no name left, and no descriptor of it open
 * but the tail's: a write lease is refused while any other is, for writing or reading (one
 * could be opened again through its /proc link).
 */
static bool tail_closed(struct tail *tl, uint64_t now)
{
	return now - tl->since >= TAILS_SETTLE_USEC && tail_unnamed(tl) && tail_lease(tl, F_WRLCK);
}

/* What it holds beyond what was carried (its size past the offset); -1 when unknown. */
static off_t tail_unread(const struct tail *tl)
{
	struct stat st;

	return fstat(tl->fd, &st) < 0 ? -1 : st.st_size - tl->offset;
}

/*
 * USER's tail to let go of (USER holds at least one), among those with nothing left to carry
 * (measured after the lease, so that nothing can land in one nobody writes to any more): the
 * least recently active nobody can write to (tail_idle()), else the least recently active still
 * open for writing, as the bound on what one user holds would have it. Never, but when FORCE,
 * one with lines still to carry (written just now, their events not read yet): losing them is
 * the one thing not done. T->n when there is none.
 */
static size_t lru_of(struct tails *t, const char *user, bool force)
{
	size_t done = t->n, open = t->n, any = t->n;

	for (size_t i = 0; i < t->n; i++) {
		struct tail *tl = &t->t[i];
		bool idle;

		if (strcmp(tl->user, user) != 0)
			continue;
		if (any == t->n || tl->used < t->t[any].used)
			any = i;
		/* Lines to carry already: no lease asked for. */
		if (tail_unread(tl) != 0)
			continue;
		idle = tail_idle(tl);
		/* Again after the lease: a writer may have written and closed meanwhile. */
		if (tail_unread(tl) != 0)
			continue;
		if (idle && (done == t->n || tl->used < t->t[done].used))
			done = i;
		else if (!idle && (open == t->n || tl->used < t->t[open].used))
			open = i;
	}
	return done < t->n ? done : open < t->n ? open : force ? any : t->n;
}

static int cmp_user(const void *a, const void *b)
{
	return strcmp((*(const struct tail *const *)a)->user,
		      (*(const struct tail *const *)b)->user);
}

/* A tail of the user who holds the most; only when all TAILS_MAX are held. */
static size_t busiest(const struct tails *t)
{
	const struct tail *by_user[TAILS_MAX];
	size_t best = 0, most = 0;

	for (size_t i = 0; i < t->n; i++)
		by_user[i] = &t->t[i];
	qsort(by_user, t->n, sizeof(by_user[0]), cmp_user);
	for (size_t i = 0, j; i < t->n; i = j) {
		for (j = i + 1; j < t->n && strcmp(by_user[i]->user, by_user[j]->user) == 0; j++)
			;
		if (j - i > most)
			most = j - i, best = (size_t)(by_user[i] - t->t);
	}
	return best;
}

int tails_add(struct tails *t, const char *user, int fd, off_t offset)
{
	_cleanup_close_ int owned = fd;
	char proc[SAFE_PROC_FD_MAX];
	char *name;
	size_t victim;
	int wd;

	if (count_of(t, user) >= TAILS_PER_USER && (victim = lru_of(t, user, false)) < t->n)
		tail_drop(t, victim);
	/* Past the bound of one user only by files with lines still to carry, within all. */
	if (t->n == TAILS_MAX)
		tail_drop(t, lru_of(t, t->t[busiest(t)].user, true));
	if (t->fd < 0)
		return -EMFILE;
	/* The magic link names the replaced inode, which has no name of its own any more. */
	safe_proc_fd(fd, proc);
	/* Its last writer closing it may leave it with nothing more to take (tail_look()). */
	wd = inotify_add_watch(t->fd, proc, IN_MODIFY | IN_CLOSE_WRITE);
	if (wd < 0)
		return negative_errno();
	/* One inode, one watch: a second tail on it would carry its lines twice. */
	for (size_t i = 0; i < t->n; i++)
		if (t->t[i].wd == wd)
			return 0;
	name = strdup(user);
	if (!name) {
		inotify_rm_watch(t->fd, wd);
		return -ENOMEM;
	}
	/* What was appended before the watch came has sent no event: measured by the sweep. */
	t->t[t->n++] = (struct tail){.user = name,
				     .fd = TAKE_FD(owned),
				     .wd = wd,
				     .offset = offset,
				     .used = ++t->clock,
				     .since = now_usec(),
				     .pending = true};
	return 0;
}

/* TL's lines of TOOK bytes were carried (TAKEN), or are kept, offered again later each time. */
static void tail_taken(struct tail *tl, bool taken, size_t took)
{
	if (taken) {
		tl->offset += (off_t)took;
		tl->pending = false;
		tl->retry_at = tl->retry_in = 0;
		return;
	}
	tl->retry_in = !tl->retry_in ? TAILS_RETRY_USEC : 2 * tl->retry_in;
	if (tl->retry_in > TAILS_RETRY_MAX_USEC)
		tl->retry_in = TAILS_RETRY_MAX_USEC;
	tl->retry_at = now_usec() + tl->retry_in;
}

/* Offer what tail I gained, up to its last newline; when LAST (nobody can write to it any
 * more), all of it, its last line given the newline it lacks. */
static void tail_grew(struct tails *t, size_t i, bool last, tails_grew_fn grew, void *userdata)
{
	struct tail *tl = &t->t[i];
	int fd = tl->fd;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len, whole, took;
	ssize_t n;
	int r;

	if (fstat(tl->fd, &st) < 0)
		return;
	if (st.st_size < tl->offset)
		tl->offset = st.st_size; /* cut short through its descriptor: nothing to carry */
	if (st.st_size == tl->offset || st.st_size - tl->offset > (off_t)KEYS_FILE_MAX)
		return;
	len = (size_t)(st.st_size - tl->offset);
	buf = malloc(len + 1);
	if (!buf)
		return;
	n = pread(tl->fd, buf, len, tl->offset);
	if (n <= 0)
		return;
	/* A line still being written waits for its newline. */
	for (whole = (size_t)n; whole > 0 && buf[whole - 1] != '\n'; whole--)
		;
	took = last && (size_t)n == len ? (size_t)n : whole;
	if (took == 0)
		return;
	if (took > whole)
		buf[took] = '\n';
	tl->used = ++t->clock;
	/* Not carried: offered again by the next sweep, not only at the next growth, which
	 * may never come. */
	tl->pending = true;
	r = grew(userdata, tl->user, buf, took + (took > whole));
	/* GREW may have added tails, which moves them: find this one again. */
	for (size_t k = 0; k < t->n; k++)
		if (t->t[k].fd == fd) {
			tail_taken(&t->t[k], r >= 0, took);
			break;
		}
}

/*
 * Offer what tail I gained; when SETTLE and it can take no more lines (tail_closed()), let go
 * of it once all it holds is carried, or it holds more than a keys file ever takes.
 */
static void tail_look(struct tails *t, size_t i, bool settle, tails_grew_fn grew, void *userdata)
{
	int fd = t->t[i].fd;
	/* The lease first, then the measure: all a writer wrote before it closed is in it. */
	bool last = settle && tail_closed(&t->t[i], now_usec());
	off_t left;

	tail_grew(t, i, last, grew, userdata);
	if (!last)
		return;
	/* GREW may have added tails, which moves them, and let go of this one to make room. */
	for (i = 0; i < t->n && t->t[i].fd != fd; i++)
		;
	if (i < t->n && ((left = tail_unread(&t->t[i])) == 0 || left > (off_t)KEYS_FILE_MAX))
		tail_drop(t, i);
}

size_t tails_pending(const struct tails *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += t->t[i].pending;
	return n;
}

uint64_t tails_next_sweep(const struct tails *t)
{
	uint64_t now = now_usec(), next = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct tail *tl = &t->t[i];
		uint64_t in = TAILS_SETTLE_USEC;

		if (tl->pending)
			in = tl->retry_at > now ? tl->retry_at - now : TAILS_SWEEP_USEC;
		else if (tl->leaseless || !tail_unnamed(tl))
			continue; /* kept until room is made (tails.h) */
		else if (now - tl->since < TAILS_SETTLE_USEC)
			in = tl->since + TAILS_SETTLE_USEC - now;
		if (!next || in < next)
			next = in;
	}
	return next;
}

size_t tails_sweep(struct tails *t, tails_grew_fn grew, void *userdata)
{
	uint64_t now = now_usec();
	int fds[TAILS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->t[i].retry_at <= now &&
		    (t->t[i].pending ||
		     (!t->t[i].leaseless && now - t->t[i].since >= TAILS_SETTLE_USEC))) {
			t->t[i].pending = false;
			fds[n++] = t->t[i].fd;
		}
	/* GREW may add tails (pending ones, for the next sweep) and move these or let them go. */
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < t->n; i++)
			if (t->t[i].fd == fds[k]) {
				tail_look(t, i, true, grew, userdata);
				break;
			}
	return tails_pending(t);
}

int tails_dispatch(struct tails *t, tails_grew_fn grew, void *userdata)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(t->fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : negative_errno();
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Look at every tail: growth is measured, not counted. */
				for (size_t i = 0; i < t->n; i++)
					t->t[i].pending = true;
				(void)tails_sweep(t, grew, userdata);
				continue;
			}
			for (size_t i = 0; i < t->n; i++)
				if (t->t[i].wd == ev->wd) {
					tail_look(t, i, ev->mask & IN_CLOSE_WRITE, grew, userdata);
					break;
				}
		}
	}
}
