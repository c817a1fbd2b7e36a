/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdint.h>
#include <systemd/sd-event.h>
#include "keyindex.h"

/*
 * The daemon's answer to `sshmend why`'s question "whose keys files hold this key?", from its
 * index of keys (keyindex.c), on a socket only root can reach: whyquery.c serves it, whyask.c
 * asks it. One request, one reply, then the daemon closes the connection.
 *
 * The request, one SOCK_SEQPACKET message of NUL-terminated fields:
 *   "sshmend-why-1", FINGERPRINT ("" for any key), EXCEPT ("" for none), MAX (decimal)
 * The reply, one message:
 *   "ok", the digest of the daemon's user set (keyindex_digest(), in hex), the number of users it
 *   cannot vouch for and their names, the number of holders and their names (at most MAX, in the
 *   order of the user set, EXCEPT left out);
 *   or one field: "busy" (nothing can be vouched for now), "refused" (the client is not root),
 *   "bad" (a malformed request).
 */

/* Under the unit's RuntimeDirectory=. */
#define WHYQUERY_DIR "/run/sshmend"
#define WHYQUERY_SOCKET WHYQUERY_DIR "/why.sock"
#define WHYQUERY_MAGIC "sshmend-why-1"
/* The longest request read; a longer one is malformed. */
#define WHYQUERY_REQUEST_MAX 1024
/* The longest reply: past it the daemon says busy. */
#define WHYQUERY_REPLY_MAX (64u << 10)
/* The most holders a request may ask for. */
#define WHYQUERY_HOLDERS_MAX 64
/* The most users the daemon cannot vouch for that a reply names; with more, it says busy. */
#define WHYQUERY_UNKNOWN_MAX 256
/* Stale users (keyindex_stale()) read again before an answer, at most: some 4 ms; the rest are
 * unknown to it, and past WHYQUERY_UNKNOWN_MAX the answer is "busy". */
#define WHYQUERY_REFRESH_MAX 256
/* Connections accepted whose request has not arrived yet, held at most, and for how long. */
#define WHYQUERY_PENDING_MAX 4
#define WHYQUERY_PENDING_USEC (1 * 1000000ull)
/* Connections accepted per dispatch: the loop goes back to its heals in between. */
#define WHYQUERY_ACCEPT_BATCH 8
#define WHYQUERY_BACKLOG 16
/* How long `why` waits for the daemon before it reads the keys files itself. */
#define WHYQUERY_TIMEOUT_MSEC 200

struct whyquery;

/*
 * Serve the question from X on WHYQUERY_SOCKET (its directory made 0700 when missing, the socket
 * 0600), dispatched in EV at PRIORITY: below the sources that heal, so that a change of a keys
 * file already seen is in the index before a question is answered.
 */
int whyquery_start(sd_event *ev, int64_t priority, struct keyindex *x, struct whyquery **ret);
/* Stop serving; the socket is removed. */
void whyquery_free(struct whyquery *q);
