/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <systemd/sd-event.h>

/*
 * The daemon's messages to the service manager ($NOTIFY_SOCKET, as sd_notify(3) sends them),
 * never waiting for it: a message its socket does not take now is held and sent again from
 * the loop; STATUS= is sent at most once a second, the newest one (a storm of repairs is one
 * datagram a second, not one a repair). Without a NOTIFY_SOCKET, nothing is sent.
 */

/* Hold and coalesce on E's loop; before it, or failing, messages are sent without waiting. */
int notify_attach(sd_event *e);
/* READY=1, STOPPING=1, RELOADING=1...: sent now, or held until the socket takes it. */
void notify_message(const char *text);
/* TEXT (without STATUS=): sent now if it is new and none was sent in the last second, else
 * when that second is over. */
void notify_status(const char *text);
/* Forget the loop; what is held is tried once more. */
void notify_detach(void);
