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
struct chain_note;

/* What the daemon did last to USER's chain, into *RET (its text valid until the next call). */
typedef void (*sshdjournal_chain_fn)(void *userdata, const char *user, struct chain_note *ret);

/* Whether the daemon on ROOT (NULL: the running system) reads sshd's journal under CFG. */
bool sshdjournal_wanted(const struct config *cfg, const char *root);

/*
 * Open the journal and add its source to EV. *ENGINE is read at each connection judged (a
 * reload replaces it); CHAIN (with USERDATA) is asked about the user of a StrictModes
 * refusal. 0, or a negative errno (told by the caller).
 */
int sshdjournal_start(sd_event *ev, struct engine *const *engine, sshdjournal_chain_fn chain,
		      void *userdata, struct sshdjournal **ret);
void sshdjournal_free(struct sshdjournal *s);

/* NoiseSummarySec= changed: the next summary USEC from now. */
void sshdjournal_set_summary(struct sshdjournal *s, uint64_t usec);
/* Call FN with the cause of each refused connection (a static string), noise or not. */
void sshdjournal_on_refused(struct sshdjournal *s, void (*fn)(void *userdata, const char *cause),
			    void *userdata);

/* Entries read, connections judged refused, connections dropped unjudged. */
void sshdjournal_counts(const struct sshdjournal *s, unsigned long long *lines,
			unsigned long long *refused, unsigned long long *dropped);
