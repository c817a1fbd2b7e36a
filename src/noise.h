/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Internet noise: which refused logins get an entry of their own, and the count of the rest.
 * An attempt is told when the user exists, or, for a name this system does not know, when the
 * address has logged in here before or the name is an image's default login name; then at
 * most once per name, address and cause in NOISE_REPEAT_USEC. The rest is counted by cause and
 * by address for a summary. Bounded: the names and addresses remembered are hashed into
 * tables of a fixed size.
 */

#define NOISE_REPEAT_USEC (3600ULL * 1000000)
/* The addresses a summary names. */
#define NOISE_TOP_ADDRS 5
/* Slots of each table: names told, addresses that logged in, addresses counted. */
#define NOISE_SLOTS 8192

struct noise;

struct noise *noise_new(void);
void noise_free(struct noise *n);

/* ADDR logged in successfully (an Accepted line). */
void noise_accepted(struct noise *n, const char *addr);

/* Whether NAME is an image's default login name ("ubuntu", "ec2-user", ...). */
bool noise_default_name(const char *name);

/*
 * Whether the attempt of USER (EXISTS: passwd knows it) from ADDR refused for CAUSE gets an
 * entry of its own at NOW (CLOCK_MONOTONIC, microseconds): true, or false when it is counted.
 */
bool noise_judge(struct noise *n, const char *user, bool exists, const char *addr,
		 const char *cause, uint64_t now);

/*
 * The summary of what was counted since the last one, in BUF ("unknown-user 1990; top
 * addresses: 10.0.0.5 40, ..."), and how many in *TOTAL; false when nothing was counted.
 * The counts start again from zero.
 */
bool noise_summary(struct noise *n, char *buf, size_t len, unsigned long *total);
