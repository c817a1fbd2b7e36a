/* SPDX-License-Identifier: Apache-2.0 */
/* When the daemon writes its metrics file, and what it counts for it. */
#include "metricsd.h"
#include <string.h>
#include "daemon-int.h"
#include "events.h"
#include "macro.h"
#include "metrics.h"

struct metricsd {
	char *dir; /* NULL: no metrics */
	sd_event_source *timer;
	uint64_t last_write; /* CLOCK_MONOTONIC */
	char *last_text;     /* what was written last */
	struct metrics_values v;
	uint64_t scan_start; /* 0: no full scan under way */
};

void metricsd_free(struct metricsd *m)
{
	if (!m)
		return;
	sd_event_source_unref(m->timer);
	free(m->dir);
	free(m->last_text);
	free(m);
}

/* The gauges, as the daemon's users stand now. */
static void collect(const struct daemon *d, struct metrics_values *v)
{
	v->users = d->n_users;
	v->users_refused = 0;
	memset(v->keys, 0, sizeof(v->keys));
	for (size_t i = 0; i < d->n_users; i++) {
		v->users_refused += d->du[i].sshd_refuses;
		for (size_t s = 0; s < ELEMENTSOF(v->keys); s++)
			v->keys[s] += d->du[i].keys[s];
	}
	v->repairs = d->repairs;
}

static void write_now(struct daemon *d)
{
	struct metricsd *m = d->metrics;
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	collect(d, &m->v);
	r = metrics_text(&m->v, &text, &len);
	if (r < 0 || (m->last_text && strcmp(m->last_text, text) == 0))
		return;
	m->last_write = daemon_now(d);
	r = metrics_write(d->engine->rootfd, m->dir, text, len);
	if (r < 0) {
		events_internal_error(NULL, "cannot write %s/%s: %s", m->dir, METRICS_FILE,
				      strerror(-r));
		return;
	}
	free(m->last_text);
	m->last_text = TAKE_PTR(text);
}

static int on_timer(_unused_ sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	if (d->metrics && d->metrics->dir)
		write_now(d);
	return 0;
}

void metricsd_changed(struct daemon *d)
{
	struct metricsd *m = d->metrics;
	uint64_t at;
	int enabled = SD_EVENT_OFF;

	if (!m || !m->dir)
		return;
	if (m->timer && sd_event_source_get_enabled(m->timer, &enabled) >= 0 &&
	    enabled != SD_EVENT_OFF)
		return; /* armed already: it writes what this changed too */
	at = m->last_write ? m->last_write + METRICS_INTERVAL_USEC : 0;
	if (at < daemon_now(d))
		at = daemon_now(d);
	if (!m->timer) {
		if (daemon_checked(
			sd_event_add_time(d->ev, &m->timer, CLOCK_MONOTONIC, at, 0, on_timer, d),
			"the metrics timer") < 0)
			return;
		daemon_checked(sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT),
			       "the metrics timer");
		return;
	}
	if (daemon_checked(sd_event_source_set_time(m->timer, at), "the metrics timer") >= 0)
		daemon_checked(sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT),
			       "the metrics timer");
}

void metricsd_configure(struct daemon *d)
{
	const char *dir = d->engine->cfg.metrics_dir;
	struct metricsd *m = d->metrics;

	if (!m && !dir)
		return;
	if (!m) {
		m = d->metrics = calloc(1, sizeof(*m));
		if (!m) {
			events_internal_error(NULL, "cannot keep the metrics: %s",
					      strerror(ENOMEM));
			return;
		}
	}
	free(m->dir);
	m->dir = dir ? strdup(dir) : NULL;
	m->last_text = (free(m->last_text), NULL); /* written afresh, maybe elsewhere */
	if (m->dir)
		metricsd_changed(d);
	else if (m->timer)
		daemon_checked(sd_event_source_set_enabled(m->timer, SD_EVENT_OFF),
			       "the metrics timer");
}

void metricsd_healed(struct daemon *d, size_t i, const struct user_report *rep,
		     unsigned long refused_told)
{
	bool refuses = false;

	for (size_t k = 0; k < rep->n_findings; k++)
		refuses |= rep->findings[k].sshd_rejects && rep->findings[k].action != ACTION_FIXED;
	d->du[i].sshd_refuses = refuses;
	if (d->metrics)
		d->metrics->v.repairs_refused += d->du[i].refused_told - refused_told;
	metricsd_changed(d);
}

void metricsd_scan_begins(struct daemon *d)
{
	if (d->metrics && !d->metrics->scan_start)
		d->metrics->scan_start = daemon_now(d);
}

void metricsd_queue_empty(struct daemon *d)
{
	struct metricsd *m = d->metrics;

	if (!m || !m->scan_start)
		return;
	m->v.last_full_scan_usec = daemon_now(d) - m->scan_start;
	m->scan_start = 0;
	metricsd_changed(d);
}

void metricsd_login_refused(void *userdata, const char *cause)
{
	struct daemon *d = userdata;

	if (!d->metrics)
		return;
	metrics_count_cause(&d->metrics->v, cause);
	metricsd_changed(d);
}
