/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `sshmend why`'s side of the question to the daemon (whyask.h, whyquery.h): one request, one
 * reply within WHYQUERY_TIMEOUT_MSEC, merged with what why reads itself.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "keyindex.h"
#include "macro.h"
#include "strv.h"
#include "whyask.h"
#include "whyquery.h"

/* The daemon's reply: its user set's digest (hex), the users it cannot vouch for, the holders. */
struct answer {
	char digest[2 * SHA256_LEN + 1];
	char **unknown, **holders;
};

static void answer_done(struct answer *a)
{
	strv_free(a->unknown);
	strv_free(a->holders);
}

/* The next NUL-terminated field of BUF (LEN bytes) from *AT, or NULL. */
static const char *next(const char *buf, size_t len, size_t *at)
{
	const char *f = buf + *at, *nul;

	if (*at >= len || !(nul = memchr(f, 0, len - *at)))
		return NULL;
	*at = (size_t)(nul - buf) + 1;
	return f;
}

/* A count, then that many names, into *RET. */
static int names(const char *buf, size_t len, size_t *at, size_t bound, char ***ret)
{
	const char *f = next(buf, len, at);
	char *end;
	unsigned long n;
	size_t k = 0;

	if (!f)
		return -EBADMSG;
	errno = 0;
	n = strtoul(f, &end, 10);
	if (errno || end == f || *end || n > bound)
		return -EBADMSG;
	for (; k < n; k++) {
		size_t m = strv_length(*ret);

		if (!(f = next(buf, len, at)))
			return -EBADMSG;
		if (strv_append(ret, &m, f, strlen(f)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int parse(const char *buf, size_t len, size_t max, struct answer *a)
{
	size_t at = 0;
	const char *f = next(buf, len, &at);
	int r;

	if (!f || strcmp(f, "ok") != 0)
		return -EBUSY; /* busy, refused, bad: the scan */
	f = next(buf, len, &at);
	if (!f || strlen(f) != 2 * SHA256_LEN)
		return -EBADMSG;
	memcpy(a->digest, f, sizeof(a->digest));
	if ((r = names(buf, len, &at, WHYQUERY_UNKNOWN_MAX, &a->unknown)) < 0 ||
	    (r = names(buf, len, &at, max, &a->holders)) < 0)
		return r;
	return at == len ? 0 : -EBADMSG;
}

/* Milliseconds left until DEADLINE (CLOCK_MONOTONIC). */
static int left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* Send the request (FP, EXCEPT, MAX) and read the reply into A. */
static int ask(const char *fp, const char *except, size_t max, struct answer *a)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = WHYQUERY_SOCKET};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	_cleanup_free_ char *buf = malloc(WHYQUERY_REPLY_MAX + 1);
	char req[WHYQUERY_REQUEST_MAX];
	struct timespec deadline;
	struct pollfd p;
	int len, r;
	ssize_t n;

	if (fd < 0 || !buf)
		return fd < 0 ? -errno : -ENOMEM;
	len = snprintf(req, sizeof(req), "%s%c%s%c%s%c%zu", WHYQUERY_MAGIC, 0, fp ? fp : "", 0,
		       except ? except : "", 0, max);
	if (len < 0 || (size_t)len + 1 > sizeof(req))
		return -E2BIG;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += WHYQUERY_TIMEOUT_MSEC * 1000000L;
	deadline.tv_sec += deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	/* A full backlog is EAGAIN at once, not a wait. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, (size_t)len + 1, MSG_NOSIGNAL) != len + 1)
		return -errno;
	p = (struct pollfd){.fd = fd, .events = POLLIN};
	do
		r = poll(&p, 1, left_ms(&deadline));
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return r < 0 ? -errno : -ETIMEDOUT;
	n = recv(fd, buf, WHYQUERY_REPLY_MAX + 1, MSG_DONTWAIT | MSG_TRUNC);
	if (n <= 0 || n > (ssize_t)WHYQUERY_REPLY_MAX)
		return -EBADMSG;
	return parse(buf, (size_t)n, max, a);
}

/*
 * Which of E's users the daemon's answer A covers (*ret, by their number in the user database):
 * those the same selection gives, but those it names as unknown. -ESTALE when its user set is not
 * E's.
 */
static int covered(const struct engine *e, const struct answer *a, bool **ret)
{
	_cleanup_free_ const struct user **users = NULL;
	_cleanup_free_ bool *in = calloc(e->db->n_users + 1, sizeof(*in));
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], err[256];
	size_t n;
	int r;

	if (!in)
		return -ENOMEM;
	r = engine_select_users(e, NULL, &users, &n, err, sizeof(err));
	if (r < 0)
		return r;
	if ((r = keyindex_digest(e, users, n, digest)) < 0)
		return r;
	for (size_t k = 0; k < SHA256_LEN; k++)
		snprintf(hex + 2 * k, 3, "%02x", digest[k]);
	if (strcmp(hex, a->digest) != 0)
		return -ESTALE;
	for (size_t k = 0; k < n; k++)
		in[users[k] - e->db->users] = true;
	for (size_t k = 0; a->unknown && a->unknown[k]; k++) {
		const struct user *u = userdb_by_name(e->db, a->unknown[k]);

		if (u)
			in[u - e->db->users] = false;
	}
	*ret = TAKE_PTR(in);
	return 0;
}

int whyask_users_with_key(const struct engine *e, char *const *patterns, const char *except,
			  const struct key_line *key, size_t max, char ***ret)
{
	struct answer a = {0};
	int r = -ENOENT;

	/* The daemon looks after the running system, with its patterns, and answers root only. */
	if (!e->root && patterns == e->keys_files && geteuid() == 0 && max >= 1 &&
	    max <= WHYQUERY_HOLDERS_MAX && (!key || strlen(key->fingerprint) > 0)) {
		r = ask(key ? key->fingerprint : NULL, except, max, &a);
		bool *in = NULL;

		if (r >= 0)
			r = covered(e, &a, &in);
		/* The users it answers for from its answer, the others read here, in passwd's
		 * order: the scan's answer. */
		if (r >= 0)
			r = why_users_with_key(e, patterns, except, key, max,
					       &(struct why_known){.in = in, .holders = a.holders},
					       ret);
		free(in);
		answer_done(&a);
	}
	if (r >= 0 || r == -ENOMEM)
		return r;
	return why_users_with_key(e, patterns, except, key, max, NULL, ret);
}
