/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "audit.h"

/*
 * The daemon's counters as a Prometheus text file (the text exposition format, as
 * node_exporter's textfile collector reads it): METRICS_FILE in the directory
 * [Daemon] MetricsDirectory= names inside the root, written whole under a temporary name in
 * the same directory (a name the collector skips), flushed to disk, then renamed over it.
 * metrics.c is the text and the write; metricsd.c when the daemon writes it.
 */

#define METRICS_FILE "sshmend.prom"
/* The least time between two writes. */
#define METRICS_INTERVAL_USEC (10ULL * 1000000)
/* The causes of refused logins counted, each by its name. */
#define METRICS_CAUSES_MAX 24

struct metrics_cause {
	const char *cause; /* a static string (the diagnosis's) */
	unsigned long long n;
};

struct metrics_values {
	unsigned long users;				 /* users the daemon keeps */
	unsigned long users_refused;			 /* whose chains sshd would refuse now */
	unsigned long long repairs;			 /* repairs made since the daemon started */
	unsigned long long repairs_refused;		 /* repairs refused (each told once) */
	struct metrics_cause causes[METRICS_CAUSES_MAX]; /* refused logins by cause */
	size_t n_causes;
	unsigned long keys[KEY_INVALID + 1]; /* keys by status, at each user's last audit */
	uint64_t last_full_scan_usec;	     /* how long the last full scan took; 0: none yet */
};

/* Count one refused login of CAUSE (a static string) in V. */
void metrics_count_cause(struct metrics_values *v, const char *cause);

/* V as the file's text (malloc'd, *LEN bytes). 0 or -ENOMEM. */
int metrics_text(const struct metrics_values *v, char **ret, size_t *len);

/*
 * Write TEXT (LEN bytes) as METRICS_FILE in DIR, a path resolved inside ROOTFD (root's,
 * 0644): a temporary name in DIR, fsync, rename. 0 or a negative errno.
 */
int metrics_write(int rootfd, const char *dir, const char *text, size_t len);
