/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdint.h>
#include "finding.h"

/*
 * When the daemon writes its metrics file ([Daemon] MetricsDirectory=, off by default): after
 * something it counts changed, at most once every METRICS_INTERVAL_USEC, on a timer armed only
 * then (no wakeup while nothing happens), and only when the text differs from the last
 * written. The counters live here; the daemon tells what happened.
 */

struct daemon;
struct metricsd;

/* Take D's configuration (at start and at each reload): write, or stop writing. */
void metricsd_configure(struct daemon *d);
void metricsd_free(struct metricsd *m);

/* User I was healed (REP); REFUSED_TOLD: its refusals told before the heal. */
void metricsd_healed(struct daemon *d, size_t i, const struct user_report *rep,
		     unsigned long refused_told);
/* A full scan of every user begins; the heal queue is empty (a full scan, if one ran, ended). */
void metricsd_scan_begins(struct daemon *d);
void metricsd_queue_empty(struct daemon *d);
/* A refused login of CAUSE (a static string), for sshdjournal_on_refused(). */
void metricsd_login_refused(void *userdata, const char *cause);
/* Something counted changed: the file is written within METRICS_INTERVAL_USEC. */
void metricsd_changed(struct daemon *d);
