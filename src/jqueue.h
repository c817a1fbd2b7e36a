/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <systemd/sd-event.h>

/*
 * Journal entries on a socket that never blocks: each entry one datagram of journald's native
 * protocol (a field per line, a field holding a newline as its name, its length in 64 bits
 * little-endian, and its bytes), queued in order and sent when the loop has nothing of a
 * higher priority to do (a storm's heals come before its entries), a batch at a time, none
 * later than a second after it came even while the loop stays busy; while the socket takes
 * none, the queue waits until it can be written again. The queue is bounded:
 * past the bound, the oldest entries are sent at once to make room, and only when the socket
 * takes none is an entry dropped, counted, and the count handed to the attach's DROPPED once
 * the queue is empty again.
 */

/* Connect to the journal's SOCKET and send from E's loop at PRIORITY (below the sources whose
 * work goes first); 0 or a negative errno. */
int jqueue_attach(sd_event *e, const char *socket, int64_t priority,
		  void (*dropped)(unsigned long n));
bool jqueue_attached(void);
/* Entry IOV[N] (each a NAME=VALUE field): 0 sent or queued, -ENOBUFS dropped (counted),
 * -ENOTCONN when no socket is attached. */
int jqueue_send(const struct iovec *iov, int n);
/* What is still queued, sent while the socket takes it within a short while; then closed. */
void jqueue_detach(void);
