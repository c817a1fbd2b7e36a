/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's side of the replaced keys files it follows (tails.c): the files a heal's key
 * sync replaced, followed; lines written to them later carried into the new ones; the sweep
 * that looks at them again, and lets them go, from the loop.
 */
#include <string.h>
#include <systemd/sd-event.h>
#include "daemon-int.h"
#include "events.h"
#include "macro.h"
#include "tails.h"
#include "userstate.h"

/* Keys files the sync replaced: lines written to them later are carried over. */
static int carry_lines(void *userdata, const char *user, const char *data, size_t len);

/* Tails pending, or to let go of (tails_sweep()): looked at a little later, from the loop. */
static void arm_sweep(struct daemon *d)
{
	uint64_t usec = tails_next_sweep(d->tails);

	if (!usec)
		return;
	if (daemon_checked(sd_event_source_set_time_relative(d->tails_sweep, usec),
			   "the tails' sweep") >= 0)
		(void)daemon_checked(sd_event_source_set_enabled(d->tails_sweep, SD_EVENT_ONESHOT),
				     "the tails' sweep");
}

void daemon_follow_replaced(struct daemon *d, size_t i, struct user_report *rep)
{
	for (size_t k = 0; k < rep->tails.n; k++) {
		int r = tails_add(d->tails, d->users[i]->name, rep->tails.t[k].fd,
				  rep->tails.t[k].offset);

		rep->tails.t[k].fd = -1;
		if (r < 0)
			events_internal_error(d->users[i]->name,
					      "%s: cannot follow the replaced keys file: %s",
					      d->users[i]->name, strerror(-r));
	}
	rep->tails.n = 0;
	/* Measured now, so that none is still pending when the next rewrite makes room: a
	 * tail nobody writes to goes first, but only once it has been measured. Within a
	 * dispatch of the tails, from the loop. */
	if (!d->in_tails) {
		d->in_tails = true;
		(void)tails_sweep(d->tails, carry_lines, d);
		d->in_tails = false;
	}
	arm_sweep(d);
}

/* Lines written to a keys file after we replaced it: into the new one they go. */
static int carry_lines(void *userdata, const char *user, const char *data, size_t len)
{
	struct daemon *d = userdata;
	struct user_report rep;
	size_t i;
	int r;

	for (i = 0; i < d->n_users && strcmp(d->users[i]->name, user) != 0; i++)
		;
	if (i == d->n_users)
		return 0; /* no longer a user we look after */
	r = ustate_carry_lines(&d->du[i], d->engine, d->users[i], data, len, &rep);
	if (r < 0)
		return r;
	daemon_follow_replaced(d, i, &rep);
	user_report_done(&rep);
	return r > 0 ? -EIO : 0;
}

int daemon_on_tails(_unused_ sd_event_source *s, _unused_ int fd, _unused_ uint32_t revents,
		    void *userdata)
{
	struct daemon *d = userdata;
	int r;

	d->in_tails = true;
	r = tails_dispatch(d->tails, carry_lines, d);
	d->in_tails = false;
	if (r < 0)
		events_internal_error(NULL, "reading inotify events failed: %s, ignoring",
				      strerror(-r));
	arm_sweep(d);
	return 0;
}

int daemon_on_tails_sweep(_unused_ sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	d->in_tails = true;
	(void)tails_sweep(d->tails, carry_lines, d);
	d->in_tails = false;
	arm_sweep(d);
	return 0;
}
