/* SPDX-License-Identifier: Apache-2.0 */
#include "sshdjournal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>
#include "audit.h"
#include "diagnose.h"
#include "events.h"
#include "lastuse.h"
#include "macro.h"
#include "noise.h"
#include "safeio.h"
#include "sshdconn.h"
#include "sshdlog.h"

/*
 * The names sshd logs under: 9.x's one, 9.8's sshd-session, 10.0's sshd-auth; only root's
 * entries (every line of a refusal is logged by sshd's listener or monitor, both root).
 * SYSLOG_IDENTIFIER, not _COMM: journald reads _COMM from /proc when it takes the line, and a
 * pre-auth process that logs its last line and exits at once is gone by then, its entry
 * without _COMM. The identifier is in the line itself, _UID in the socket's credentials:
 * both always there.
 */
static const char *const matches[] = {"SYSLOG_IDENTIFIER=sshd", "SYSLOG_IDENTIFIER=sshd-session",
				      "SYSLOG_IDENTIFIER=sshd-auth", "_UID=0"};

struct sshdjournal {
	sd_journal *j;
	sd_event_source *io;
	sd_event_source *recheck; /* when sd-journal cannot be woken (no inotify): its timeout */
	struct sshdconn_table *conns;
	struct noise *noise;
	sd_event_source *save;	  /* the cursor's next save, SSHDJOURNAL_SAVE_USEC after a read */
	bool unsaved;		  /* entries read since the cursor was saved */
	sd_event_source *summary; /* the noise's summary, every NoiseSummarySec= */
	uint64_t summary_usec;
	struct engine *const *engine;
	sshdjournal_chain_fn chain;
	void *chain_data;
	unsigned long long lines, refused;
	void (*on_refused)(void *userdata, const char *cause);
	void *on_refused_data;
};

bool sshdjournal_wanted(const struct config *cfg, const char *root)
{
	if (cfg->diagnose_journal != DIAGNOSE_JOURNAL_AUTO)
		return cfg->diagnose_journal == DIAGNOSE_JOURNAL_YES;
	return !root || strcmp(root, "/") == 0;
}

/* FIELD's value in the current entry (without "FIELD="), or -errno. */
static int field(sd_journal *j, const char *name, const char **ret, size_t *len)
{
	const void *data;
	size_t n, k = strlen(name);
	int r = sd_journal_get_data(j, name, &data, &n);

	if (r < 0)
		return r;
	if (n <= k || ((const char *)data)[k] != '=')
		return -EBADMSG;
	*ret = (const char *)data + k + 1;
	*len = n - k - 1;
	return 0;
}

static pid_t entry_pid(sd_journal *j)
{
	const char *v;
	size_t n;
	char buf[16];

	if (field(j, "_PID", &v, &n) < 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A refused connection: its own entry, or counted as noise. */
static int refused(struct sshdjournal *s, const struct sshdconn_attempt *a)
{
	const struct engine *e = *s->engine;
	struct diagnosis d;
	struct chain_note note = {0};
	int r = diagnose_attempt(e, a, false, NULL, &d);

	if (r < 0)
		return r;
	if (s->on_refused)
		s->on_refused(s->on_refused_data, d.cause);
	bool own = noise_judge(s->noise, a->user, userdb_by_name(e->db, a->user) != NULL, a->addr,
			       d.cause, now_usec(CLOCK_MONOTONIC));
	diagnosis_done(&d);
	if (!own)
		return 0;
	if (a->refusal == SSHDLOG_STRICT_MODES)
		s->chain(s->chain_data, a->user, &note);
	return diagnose_tell(e, a, a->refusal == SSHDLOG_STRICT_MODES ? &note : NULL);
}

static int on_summary(sd_event_source *src, _unused_ uint64_t usec, void *userdata)
{
	struct sshdjournal *s = userdata;
	char text[2048];
	unsigned long total;

	if (noise_summary(s->noise, text, sizeof(text), &total))
		events_login_noise(total, s->summary_usec, text);
	if (sd_event_source_set_time_relative(src, s->summary_usec) < 0 ||
	    sd_event_source_set_enabled(src, SD_EVENT_ONESHOT) < 0)
		events_internal_error(NULL, "cannot set the timer of the noise's summary");
	return 0;
}

/* An accepted key login: the key's last use, in the state directory. */
static void key_used(const struct sshdjournal *s, const struct sshdlog_line *l, uint64_t usec)
{
	int r = lastuse_accepted((*s->engine)->rootfd, l, usec);

	if (r < 0 && r != -EINVAL)
		events_internal_error(NULL, "cannot record the last use of key %s of %s: %s",
				      l->fingerprint, l->user, strerror(-r));
}

/* The addresses that logged in before, from the last-use records: not noise. */
static void seed_accepted(void *userdata, const char *addr)
{
	noise_accepted(userdata, addr);
}

static void one_entry(struct sshdjournal *s)
{
	struct sshdlog_line l;
	struct sshdconn_attempt a;
	const char *msg;
	size_t len;
	uint64_t usec = 0;

	s->lines++;
	if (field(s->j, "MESSAGE", &msg, &len) < 0)
		return;
	if (sshdlog_parse(entry_pid(s->j), msg, len, &l) == SSHDLOG_OTHER)
		return;
	(void)sd_journal_get_realtime_usec(s->j, &usec);
	int r = sshdconn_feed(s->conns, &l, usec, &a);
	if (r == SSHDCONN_REFUSED) {
		s->refused++;
		r = refused(s, &a);
		if (r < 0 && r != -EAGAIN)
			events_internal_error(NULL, "cannot diagnose a refused login: %s",
					      strerror(-r));
	} else if (r == SSHDCONN_ACCEPTED) {
		noise_accepted(s->noise, a.addr);
		key_used(s, &l, usec);
	} else if (r < 0)
		events_internal_error(NULL, "cannot group sshd's journal lines: %s", strerror(-r));
}

static int state_dir(const struct sshdjournal *s, bool create, int *ret)
{
	return audit_state_dir((*s->engine)->rootfd, create, ret);
}

static void save_cursor(struct sshdjournal *s)
{
	_cleanup_free_ char *cursor = NULL;
	_cleanup_close_ int dfd = -1;
	struct stat st;
	int r;

	s->unsaved = false;
	if (sd_journal_get_cursor(s->j, &cursor) < 0 || state_dir(s, true, &dfd) < 0)
		return;
	bool exists = fstatat(dfd, SSHDJOURNAL_CURSOR_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0;
	r = safe_replace_file(dfd, SSHDJOURNAL_CURSOR_FILE, exists ? &st : NULL, cursor,
			      strlen(cursor), 0, 0, 0600, false);
	if (r < 0)
		events_internal_error(NULL, "cannot save the journal's cursor: %s", strerror(-r));
}

/* What sd-journal asks for after each look: the events on its descriptor, and a wakeup at
 * the time it names (never, while inotify serves every directory of the journal). */
static void rearm(struct sshdjournal *s)
{
	uint64_t usec = UINT64_MAX;
	int events = sd_journal_get_events(s->j), r = events;

	if (r >= 0)
		r = sd_event_source_set_io_events(s->io, (uint32_t)events);
	if (r >= 0)
		r = sd_journal_get_timeout(s->j, &usec);
	if (r >= 0 && usec != UINT64_MAX)
		r = sd_event_source_set_time(s->recheck, usec);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->recheck, usec != UINT64_MAX ? SD_EVENT_ONESHOT
									       : SD_EVENT_OFF);
	if (r < 0)
		events_internal_error(NULL, "cannot watch sshd's journal for new entries: %s",
				      strerror(-r));
}

static void read_new(struct sshdjournal *s)
{
	unsigned long long before = s->lines;
	int r = sd_journal_process(s->j);

	if (r < 0)
		events_internal_error(NULL, "cannot follow sshd's journal: %s", strerror(-r));
	while ((r = sd_journal_next(s->j)) > 0)
		one_entry(s);
	if (r < 0)
		events_internal_error(NULL, "cannot read sshd's journal: %s", strerror(-r));
	if (s->lines != before && !s->unsaved) {
		s->unsaved = true;
		if (sd_event_source_set_time_relative(s->save, SSHDJOURNAL_SAVE_USEC) < 0 ||
		    sd_event_source_set_enabled(s->save, SD_EVENT_ONESHOT) < 0)
			save_cursor(s);
	}
	rearm(s);
}

static int on_save(_unused_ sd_event_source *src, _unused_ uint64_t usec, void *userdata)
{
	struct sshdjournal *s = userdata;

	save_cursor(s);
	return 0;
}

static int on_journal(_unused_ sd_event_source *src, _unused_ int fd, _unused_ uint32_t revents,
		      void *userdata)
{
	read_new(userdata);
	return 0;
}

static int on_recheck(_unused_ sd_event_source *src, _unused_ uint64_t usec, void *userdata)
{
	read_new(userdata);
	return 0;
}

/* The cursor kept, as a string in BUF; false when there is none. */
static bool load_cursor(const struct sshdjournal *s, char *buf, size_t len)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	ssize_t n;

	if (state_dir(s, false, &dfd) < 0)
		return false;
	fd = openat(dfd, SSHDJOURNAL_CURSOR_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Where reading starts: after the cursor kept, never more than SSHDJOURNAL_BACK_USEC back. */
static int seek_start(struct sshdjournal *s)
{
	char cursor[SSHDJOURNAL_CURSOR_MAX];
	uint64_t now = now_usec(CLOCK_REALTIME), usec = 0;
	int r;

	if (load_cursor(s, cursor, sizeof(cursor)) && sd_journal_seek_cursor(s->j, cursor) >= 0) {
		r = sd_journal_next(s->j);
		if (r > 0 && sd_journal_test_cursor(s->j, cursor) <= 0)
			(void)sd_journal_previous(s->j); /* not the cursor's entry: read it */
		if (r > 0 && sd_journal_get_realtime_usec(s->j, &usec) >= 0 &&
		    usec + SSHDJOURNAL_BACK_USEC >= now)
			return 0;
	}
	return sd_journal_seek_realtime_usec(
	    s->j, now > SSHDJOURNAL_BACK_USEC ? now - SSHDJOURNAL_BACK_USEC : 0);
}

int sshdjournal_start(sd_event *ev, struct engine *const *engine, sshdjournal_chain_fn chain,
		      void *userdata, struct sshdjournal **ret)
{
	struct sshdjournal *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->engine = engine;
	s->chain = chain;
	s->chain_data = userdata;
	s->conns = sshdconn_new(SSHDCONN_MAX_DEFAULT);
	s->noise = noise_new();
	s->summary_usec = (*engine)->cfg.noise_summary_usec;
	r = s->conns && s->noise ? sd_journal_open(&s->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)
				 : -ENOMEM;
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(matches); i++)
		r = sd_journal_add_match(s->j, matches[i], 0);
	int fd = r >= 0 ? sd_journal_get_fd(s->j) : r;
	if (fd < 0)
		r = fd;
	if (r >= 0)
		(void)lastuse_each_addr((*engine)->rootfd, seed_accepted, s->noise);
	if (r >= 0)
		r = seek_start(s);
	if (r >= 0)
		r = sd_event_add_io(ev, &s->io, fd, (uint32_t)sd_journal_get_events(s->j),
				    on_journal, s);
	if (r >= 0)
		r = sd_event_add_time(ev, &s->recheck, CLOCK_MONOTONIC, 0, 0, on_recheck, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->recheck, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_time(ev, &s->save, CLOCK_MONOTONIC, 0, 0, on_save, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->save, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_time_relative(ev, &s->summary, CLOCK_MONOTONIC, s->summary_usec, 0,
					       on_summary, s);
	if (r < 0) {
		sshdjournal_free(s);
		return r;
	}
	read_new(s);
	*ret = s;
	return 0;
}

void sshdjournal_set_summary(struct sshdjournal *s, uint64_t usec)
{
	if (usec == s->summary_usec)
		return;
	s->summary_usec = usec;
	if (sd_event_source_set_time_relative(s->summary, usec) < 0 ||
	    sd_event_source_set_enabled(s->summary, SD_EVENT_ONESHOT) < 0)
		events_internal_error(NULL, "cannot set the timer of the noise's summary");
}

void sshdjournal_free(struct sshdjournal *s)
{
	if (!s)
		return;
	if (s->unsaved)
		save_cursor(s);
	sd_event_source_unref(s->io);
	sd_event_source_unref(s->recheck);
	sd_event_source_unref(s->save);
	sd_event_source_unref(s->summary);
	noise_free(s->noise);
	sd_journal_close(s->j);
	sshdconn_free(s->conns);
	free(s);
}

void sshdjournal_counts(const struct sshdjournal *s, unsigned long long *lines,
			unsigned long long *refused, unsigned long long *dropped)
{
	*lines = s->lines;
	*refused = s->refused;
	*dropped = sshdconn_dropped(s->conns);
}

void sshdjournal_on_refused(struct sshdjournal *s, void (*fn)(void *userdata, const char *cause),
			    void *userdata)
{
	s->on_refused = fn;
	s->on_refused_data = userdata;
}
