/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's reader of sshd's journal (sshdjournal.c), started, set or stopped as the
 * configuration says, and told what the daemon last did to a user's chain.
 */
#include <string.h>
#include <systemd/sd-event.h>
#include "daemon-int.h"
#include "diagnose.h"
#include "events.h"
#include "metricsd.h"
#include "sshdjournal.h"

/* What the daemon did last to USER's chain, for the diagnosis of a StrictModes refusal. */
static void chain_note(void *userdata, const char *user, struct chain_note *ret)
{
	struct daemon *d = userdata;
	size_t i;

	for (i = 0; i < d->n_users && strcmp(d->users[i]->name, user) != 0; i++)
		;
	*ret = (struct chain_note){.looked_after = i < d->n_users};
	if (i == d->n_users)
		return;
	ret->usec = d->du[i].chain_usec;
	ret->refused = d->du[i].chain_refused;
	ret->what = d->du[i].chain_what ? d->du[i].chain_what : "";
}

void daemon_diagnose(struct daemon *d)
{
	int r;

	if (!sshdjournal_wanted(&d->engine->cfg, d->root)) {
		sshdjournal_free(d->sshd_journal);
		d->sshd_journal = NULL;
		return;
	}
	if (d->sshd_journal) {
		sshdjournal_set_summary(d->sshd_journal, d->engine->cfg.noise_summary_usec);
		return;
	}
	r = sshdjournal_start(d->ev, &d->engine, chain_note, d, &d->sshd_journal);
	if (r < 0)
		events_internal_error(NULL, "cannot read sshd's journal: %s", strerror(-r));
	if (d->sshd_journal)
		sshdjournal_on_refused(d->sshd_journal, metricsd_login_refused, d);
}
