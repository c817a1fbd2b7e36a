/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sshd's journal lines (sshdlog_parse()) grouped per connection (sshdconn_feed()): the input,
 * cut at its newlines, is one MESSAGE per line; the first byte of each line picks which of
 * eight sshd processes wrote it (the rest is the text). Every field parsed stays inside its
 * buffer and is terminated, a line the parser does not know leaves nothing behind, and the
 * table of connections never holds more than its bound, whatever the lines say.
 */
#include <errno.h>
#include <string.h>
#include "fuzz.h"
#include "sshdconn.h"
#include "sshdlog.h"

/* A small table, so that the oldest connections are dropped often. */
#define TABLE_MAX 8

#define TERMINATED(f) FUZZ_ASSERT(memchr((f), 0, sizeof(f)) != NULL)

static void check_line(enum sshdlog_kind kind, const struct sshdlog_line *l)
{
	FUZZ_ASSERT(kind >= SSHDLOG_OTHER && kind < _SSHDLOG_KIND_MAX);
	FUZZ_ASSERT(l->kind == kind);
	FUZZ_ASSERT(sshdlog_kind_to_string(kind) != NULL);
	TERMINATED(l->user);
	TERMINATED(l->addr);
	TERMINATED(l->method);
	TERMINATED(l->key_type);
	TERMINATED(l->fingerprint);
	TERMINATED(l->detail);
	FUZZ_ASSERT(l->port >= -1 && l->port <= 65535);
	if (kind == SSHDLOG_OTHER)
		FUZZ_ASSERT(!l->user[0] && !l->addr[0] && !l->fingerprint[0] && !l->detail[0]);
}

static void check_attempt(const struct sshdconn_attempt *a)
{
	TERMINATED(a->user);
	TERMINATED(a->addr);
	TERMINATED(a->detail);
	TERMINATED(a->refused_type);
	FUZZ_ASSERT(a->n_keys <= SSHDCONN_KEYS_MAX);
	FUZZ_ASSERT(a->refusal >= SSHDLOG_OTHER && a->refusal < _SSHDLOG_KIND_MAX);
	FUZZ_ASSERT(a->first_usec <= a->last_usec);
}

void fuzz_one(const uint8_t *data, size_t size)
{
	struct sshdconn_table *t = sshdconn_new(TABLE_MAX);
	const char *p = (const char *)data, *end = p + size;
	uint64_t usec = 1000000;

	FUZZ_ASSERT(t);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl ? nl : end;
		struct sshdlog_line l;
		struct sshdconn_attempt a;
		pid_t pid = 100;
		enum sshdlog_kind kind;
		int r;

		if (stop > p) {
			pid += (unsigned char)*p % 8;
			p++;
		}
		(void)sshdlog_is_sshd_comm(p, (size_t)(stop - p));
		kind = sshdlog_parse(pid, p, (size_t)(stop - p), &l);
		check_line(kind, &l);
		r = sshdconn_feed(t, &l, usec, &a);
		FUZZ_ASSERT(r == SSHDCONN_PENDING || r == SSHDCONN_REFUSED ||
			    r == SSHDCONN_ACCEPTED || r == -ENOMEM);
		if (r == SSHDCONN_REFUSED || r == SSHDCONN_ACCEPTED)
			check_attempt(&a);
		FUZZ_ASSERT(sshdconn_in_flight(t) <= TABLE_MAX);
		usec += 1000;
		p = nl ? nl + 1 : end;
	}
	sshdconn_free(t);
}
