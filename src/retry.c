/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A heal that failed for a cause that passes by itself (no room left, no descriptor free:
 * error_may_pass()) is tried again soon, not at the next periodic scan, which may be an hour
 * away: one timer for every user who owes a retry, armed only while one does, first after
 * RETRY_FIRST_USEC, then twice as long each time it finds the failure still there, up to
 * RETRY_MAX_USEC. The failure is told once (userstate.c), however often it is tried.
 */
#include "daemon-int.h"
#include "macro.h"

static bool any_owed(const struct daemon *d)
{
	for (size_t i = 0; i < d->n_users; i++)
		if (d->du[i].retry)
			return true;
	return false;
}

static int on_retry(sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;
	bool any = false;

	d->retry = sd_event_source_unref(s);
	for (size_t i = 0; i < d->n_users; i++)
		if (d->du[i].retry) {
			any = true;
			daemon_enqueue(d, i);
		}
	/* Still failing when healed, they arm it again, for longer. */
	d->retry_usec = !any				     ? RETRY_FIRST_USEC
			: d->retry_usec * 2 > RETRY_MAX_USEC ? RETRY_MAX_USEC
							     : d->retry_usec * 2;
	return 0;
}

void retry_note(struct daemon *d, size_t i, bool owed)
{
	d->du[i].retry = owed;
	if (!owed) {
		/* The last one owed is healed: no timer, and the next failure starts short. */
		if (d->retry && !any_owed(d)) {
			d->retry = sd_event_source_unref(d->retry);
			d->retry_usec = RETRY_FIRST_USEC;
		}
		return;
	}
	if (d->retry)
		return;
	if (!d->retry_usec)
		d->retry_usec = RETRY_FIRST_USEC;
	/* Failing, the periodic scan is the retry. */
	(void)daemon_checked(sd_event_add_time_relative(d->ev, &d->retry, CLOCK_MONOTONIC,
							d->retry_usec, 0, on_retry, d),
			     "the retry of a failed heal");
}
