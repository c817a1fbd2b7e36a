/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "macro.h"
#include "notify.h"

/* At most one STATUS= (and one retry of what the socket did not take) in this long. */
#define NOTIFY_GAP_USEC 1000000ull
#define NOTIFY_TEXT_MAX 512

static sd_event *loop;
static sd_event_source *timer;
/* Messages not taken yet, one a line; the newest status, and the one last sent. */
static char held[NOTIFY_TEXT_MAX];
static char status[NOTIFY_TEXT_MAX], status_sent[NOTIFY_TEXT_MAX];
/* When the last STATUS= was sent (CLOCK_MONOTONIC, microseconds; 0: never). */
static uint64_t status_at;

/* 0 sent (or no one to tell), -EAGAIN not taken now, another negative errno: failed. */
static int send_now(const char *text)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len;
	int fd, r = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	/* '@': an abstract address, its leading byte NUL and its length exact. */
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		r = errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? -EAGAIN : -errno;
	close(fd);
	return r;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

static uint64_t now_usec(void)
{
	struct timespec ts;
	uint64_t t = 0;

	if (loop && sd_event_now(loop, CLOCK_MONOTONIC, &t) >= 0)
		return t;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

/* Come back at AT, for what is held; failing, the next message or status tries again. */
static void arm(uint64_t at)
{
	if (timer || !loop)
		return;
	if (sd_event_add_time(loop, &timer, CLOCK_MONOTONIC, at, 0, on_timer, NULL) < 0)
		timer = NULL;
}

/* What is held and the status if it is new, in one datagram; what the socket did not take,
 * tried again in a second. */
static void flush(void)
{
	char text[2 * NOTIFY_TEXT_MAX + 16];
	bool new_status = strcmp(status, status_sent) != 0;
	int r;

	if (!*held && !new_status)
		return;
	snprintf(text, sizeof(text), "%s%s%s", held, new_status ? "STATUS=" : "",
		 new_status ? status : "");
	r = send_now(text);
	if (r == -EAGAIN) {
		arm(now_usec() + NOTIFY_GAP_USEC);
		return;
	}
	*held = '\0';
	if (new_status) {
		memcpy(status_sent, status, sizeof(status));
		status_at = now_usec();
	}
}

static int on_timer(sd_event_source *s, _unused_ uint64_t usec, _unused_ void *userdata)
{
	timer = sd_event_source_unref(s);
	flush();
	return 0;
}

int notify_attach(sd_event *e)
{
	loop = sd_event_ref(e);
	return 0;
}

void notify_message(const char *text)
{
	size_t n = strlen(held);

	if (!*held && send_now(text) != -EAGAIN)
		return;
	/* Held, behind what is held already (full: the oldest are what matters). */
	if (n + strlen(text) + 2 <= sizeof(held))
		snprintf(held + n, sizeof(held) - n, "%s\n", text);
	arm(now_usec() + NOTIFY_GAP_USEC);
}

void notify_status(const char *text)
{
	uint64_t now = now_usec();

	snprintf(status, sizeof(status), "%s", text);
	/* A flush is due already; or the last one was less than a second ago: then held until
	 * that second is over. The loop wakes only for a status held. */
	if (timer || (!*held && strcmp(status, status_sent) == 0))
		return;
	if (status_at && now - status_at < NOTIFY_GAP_USEC)
		arm(status_at + NOTIFY_GAP_USEC);
	else
		flush();
}

void notify_detach(void)
{
	timer = sd_event_source_disable_unref(timer);
	loop = sd_event_unref(loop);
	flush();
}
