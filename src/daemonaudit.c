/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's key audits: one made at a heal, or queued by a full pass for the loop's idle
 * time; the keys baseline told once the queue is done; and what the rate limit held back of
 * them, told again in its next window.
 */
#include <malloc.h>
#include <systemd/sd-event.h>
#include "daemon-int.h"
#include "events.h"
#include "journal.h"
#include "macro.h"
#include "metricsd.h"
#include "userstate.h"

void daemon_tell_baseline(struct daemon *d)
{
	if (!d->baseline.users)
		return;
	events_baseline(d->baseline.users, d->baseline.keys);
	d->baseline = (struct baseline){0};
}

/* The key audit of user I, SIG its keys files' signature at its last run. */
void daemon_audit_user(struct daemon *d, size_t i, uint64_t sig)
{
	if (!d->audit_on)
		return;
	ustate_audit(&d->du[i], d->engine, d->users[i], sig, &d->baseline);
	if (d->du[i].retell)
		daemon_arm_retell(d, i);
	metricsd_changed(d);
}

static int on_retell(sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	d->retell = sd_event_source_unref(s);
	/* The count of what the window held back, now that it is over. */
	journal_flush();
	for (size_t i = 0; i < d->n_users; i++)
		if (d->du[i].retell) {
			d->du[i].retell = false;
			d->du[i].audited = false;
			daemon_enqueue(d, i);
		}
	return 0;
}

/* The rate limit held back an entry of user I that is told once: told in its next window. */
void daemon_arm_retell(struct daemon *d, size_t i)
{
	d->du[i].retell = true;
	/* Failing, the next entry held back tries again. */
	if (!d->retell)
		daemon_checked(sd_event_add_time(d->ev, &d->retell, CLOCK_MONOTONIC,
						 journal_window_end(), 0, on_retell, d),
			       "the rate limit's next window");
}

/* User I's audit, for when the scan is done: < 0 when it cannot wait (then it is made now). */
int daemon_queue_audit(struct daemon *d, size_t i)
{
	if (d->du[i].audit_queued)
		return 0;
	if (daemon_checked(sd_event_source_set_enabled(d->audit, SD_EVENT_ON), "the audit queue") <
	    0)
		return -1;
	d->du[i].audit_queued = true;
	d->audit_queue[d->n_audit++] = i;
	return 0;
}

/*
 * The audits a full scan left for later, when nothing else is to do: one user a loop
 * iteration (a first audit writes the user's baseline, some 250 us here), so that an event
 * waits for one audit at most, not for a batch of them.
 */
int daemon_on_audit(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;
	size_t i;

	if (d->n_audit > 0) {
		i = d->audit_queue[--d->n_audit];
		d->du[i].audit_queued = false;
		daemon_audit_user(d, i, d->du[i].audit_sig);
	}
	if (d->n_audit == 0) {
		daemon_checked(sd_event_source_set_enabled(s, SD_EVENT_OFF), "the audit queue");
		daemon_tell_baseline(d);
		/* A full scan's passing allocations, handed back: the daemon idles small. */
		malloc_trim(0);
	}
	return 0;
}
