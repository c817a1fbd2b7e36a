/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <systemd/sd-event.h>
#include "config.h"
#include "engine.h"

/*
 * sshd's journal read by the daemon: an sd-event source on the local system journal, matched
 * on root's entries under sshd's names (SYSLOG_IDENTIFIER sshd, sshd-session, sshd-auth),
 * each connection that ends refused diagnosed and told as one login-refused entry. Its
 * cursor is kept in the state directory: a restart goes on where it stopped, and without one
 * it starts at most SSHDJOURNAL_BACK_USEC back.
 */

#define SSHDJOURNAL_BACK_USEC (10ULL * 60 * 1000000)
/* In the state directory. */
#define SSHDJOURNAL_CURSOR_FILE "journal-cursor"
#define SSHDJOURNAL_CURSOR_MAX 1024
/*
 * The cursor is written at most this often (and when the daemon stops): replacing the file
 * took about 40% of the reader's CPU time when it followed every wakeup. A crash replays at
 * most this much.
 */
#define SSHDJOURNAL_SAVE_USEC (1ULL * 1000000)

struct sshdjournal;

/* Whether the daemon on ROOT (NULL: the running system) reads sshd's journal under CFG. */
bool sshdjournal_wanted(const struct config *cfg, const char *root);

/*
 * Open the journal and add its source to EV. *ENGINE is read at each connection judged (a
 * reload replaces it). 0, or a negative errno (told by the caller).
 */
int sshdjournal_start(sd_event *ev, struct engine *const *engine, struct sshdjournal **ret);
void sshdjournal_free(struct sshdjournal *s);

/* Entries read, connections judged refused, connections dropped unjudged. */
void sshdjournal_counts(const struct sshdjournal *s, unsigned long long *lines,
			unsigned long long *refused, unsigned long long *dropped);
