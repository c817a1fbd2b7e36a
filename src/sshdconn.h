/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sshdlog.h"

/*
 * sshd's lines grouped per connection (sshd's PID, and the client's address and port), and
 * each connection that ends without "Accepted" handed back as one attempt to judge. Bounded:
 * at most the table's size in flight; beyond, the oldest is dropped and counted.
 */

/* The most connections in flight by default. */
#define SSHDCONN_MAX_DEFAULT 4096
/* The most keys kept of one connection (sshd's MaxAuthTries is 6 by default). */
#define SSHDCONN_KEYS_MAX 8

struct sshdconn_key {
	char type[SSHDLOG_TYPE_MAX];
	char fingerprint[SSHDLOG_FP_MAX];
};

/* One connection that ended refused: everything sshd said of it. */
struct sshdconn_attempt {
	pid_t pid;
	char user[SSHDLOG_USER_MAX]; /* as typed; "" when the client named none */
	char addr[SSHDLOG_ADDR_MAX];
	int port;			 /* -1 when no line named it */
	enum sshdlog_who who;		 /* AUTHENTICATING (exists) or INVALID, NONE when unknown */
	enum sshdlog_kind refusal;	 /* the first line that says why, SSHDLOG_OTHER when none */
	char detail[SSHDLOG_DETAIL_MAX]; /* that line's detail */
	char refused_type[SSHDLOG_TYPE_MAX];	     /* the key type or algorithm it refused */
	struct sshdconn_key keys[SSHDCONN_KEYS_MAX]; /* each key offered, as sshd logged it */
	size_t n_keys;
	unsigned n_failed;		/* "Failed ..." lines */
	bool partial;			/* one method passed, another was wanted */
	bool too_many;			/* MaxAuthTries ended it */
	bool verbose;			/* a line only LogLevel VERBOSE writes was seen */
	uint64_t first_usec, last_usec; /* the journal's times of its first and last line */
};

struct sshdconn_table;

/* A table of at most MAX connections (0: SSHDCONN_MAX_DEFAULT); NULL without memory. */
struct sshdconn_table *sshdconn_new(size_t max);
void sshdconn_free(struct sshdconn_table *t);

enum sshdconn_result {
	SSHDCONN_PENDING,  /* kept, or nothing to keep */
	SSHDCONN_REFUSED,  /* a connection ended without Accepted: *OUT is its attempt */
	SSHDCONN_ACCEPTED, /* a login: *OUT holds the user, address and the key it used */
};

/*
 * Feed line L, logged at USEC (CLOCK_REALTIME). SSHDCONN_REFUSED with *OUT filled when it ends
 * a connection that was not accepted; SSHDCONN_ACCEPTED when it is an Accepted line.
 * -ENOMEM when the table could not grow.
 */
int sshdconn_feed(struct sshdconn_table *t, const struct sshdlog_line *l, uint64_t usec,
		  struct sshdconn_attempt *out);

/* Connections in flight; connections dropped because the table was full. */
size_t sshdconn_in_flight(const struct sshdconn_table *t);
uint64_t sshdconn_dropped(const struct sshdconn_table *t);
