/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "audit.h"
#include "events.h"
#include "macro.h"
#include "report.h"
#include "safeio.h"
#include "strv.h"
#include "timespan.h"
#include "userstate.h"

/* A user in back-off: how often, at most, an event has its approved keys looked at, so that a
 * drop-in change (a revocation) is synced at its event, or at the fight's next one within this
 * long, not after the back-off. */
/* What identifies a finding told about: its path and a drop-in's reason, with room. */
#define TOLD_KEY_MAX 4600

/* Has LINE been told, one of the lines of TOLD? */
static bool told_before(const char *told, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = told; (p = strstr(p, line)); p++)
		if ((p == told || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/*
 * What identifies the drop-in line or file FI told about: its text ("FILE:LINE: why" or
 * "FILE: why"), and the identity and modification time of FILE, so that it is told again when
 * the file changes, not on every heal of the user.
 */
static void told_dropin(int rootfd, const struct finding *fi, char *buf, size_t len)
{
	_cleanup_close_ int fd = -1;
	struct stat st = {0};
	char text[4400];

	if (fi->lineno)
		snprintf(text, sizeof(text), "%s:%u: %s", fi->path, fi->lineno,
			 fi->reason ? fi->reason : "");
	else
		snprintf(text, sizeof(text), "%s: %s", fi->path, fi->reason ? fi->reason : "");
	if (safe_open_in_root(rootfd, fi->path, O_PATH, &fd) >= 0)
		(void)fstat(fd, &st);
	snprintf(buf, len, "dropin %lx:%lx:%lld.%09ld %s", (unsigned long)st.st_dev,
		 (unsigned long)st.st_ino, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, text);
}

/* What identifies the refused or failed finding FI, told once. */
static void told_key(int rootfd, const struct finding *fi, char *buf, size_t len)
{
	if (fi->problem == PROBLEM_DROPIN)
		told_dropin(rootfd, fi, buf, len);
	else
		snprintf(buf, len, "%s|%d|%d|%s", fi->path, fi->problem, fi->action,
			 fi->fingerprint ? fi->fingerprint : "");
}

/*
 * The approved keys a sync added to and removed from U's keys files, as space-separated
 * fingerprints (malloc'd; NULL for none): what is approved there now against what the key
 * audit last recorded as approved, before it has seen the sync.
 */
static void synced_keys(const struct engine *e, const struct user *u, char **added, char **removed)
{
	_cleanup_(strv_freep) char **state = NULL;
	struct key_list l = {0};

	*added = *removed = NULL;
	if (audit_state_load(e->rootfd, u->name, &state) < 0 ||
	    engine_list_keys(e, u, state, &l) < 0)
		return;
	(void)audit_synced(state, &l, added, removed);
	key_list_done(&l);
}

/* One heal's telling: SIG, what is told now or was before, one line each; KEPT, the keys
 * Exclusive= leaves, told in one entry. */
struct telling {
	const char *told;
	FILE *sig, *kept;
	size_t n_kept;
	bool kept_new;
	const char *not_applied;
	struct tell_extra x;
	char *added, *removed;
	bool synced;
};

/* A repair or a key sync: told every time. */
static void tell_fixed(struct telling *t, const struct engine *e, const struct user_report *rep,
		       const struct finding *fi)
{
	if (fi->problem == PROBLEM_KEYS && !t->synced) {
		synced_keys(e, rep->user, &t->added, &t->removed);
		t->x.added = t->added;
		t->x.removed = t->removed;
		t->synced = true;
	}
	events_finding(rep, fi, false, &t->x);
}

/* A refusal, a failure, a drop-in rejection: told once. */
static void tell_undone(struct ustate *s, struct telling *t, const struct engine *e,
			const struct user_report *rep, const struct finding *fi)
{
	char key[TOLD_KEY_MAX];

	told_key(e->rootfd, fi, key, sizeof(key));
	if (fi->problem == PROBLEM_UNAPPROVED_KEY) {
		/* Each key is told by the audit (key-unapproved); the user, once, after. */
		fprintf(t->kept, "%s\n", key);
		t->n_kept++;
		t->not_applied = fi->reason;
		t->kept_new = t->kept_new || !told_before(t->told, key);
		return;
	}
	if (told_before(t->told, key))
		fprintf(t->sig, "%s\n", key);
	else if (events_finding(rep, fi, false, &t->x) == 0) {
		fprintf(t->sig, "%s\n", key);
		s->refused_told += fi->action == ACTION_REFUSED;
	} else
		s->retell = true;
}

/* What is told now, the new SIG and KEPT, kept for the next heal. */
static void told_commit(struct ustate *s, struct telling *t, char *const *sig, char *const *kept)
{
	if (!t->kept || fclose(t->kept) != 0 || !t->sig) {
		if (t->sig)
			fclose(t->sig);
		return;
	}
	if (t->n_kept)
		fputs(*kept, t->sig);
	if (fclose(t->sig) != 0)
		return;
	/* Nothing told and nothing to tell is the usual case: no copy is kept for it. */
	if (strcmp(t->told, *sig) != 0) {
		free(s->logged);
		s->logged = **sig ? strdup(*sig) : NULL;
	}
}

void ustate_tell_findings(struct ustate *s, const struct engine *e, const struct user_report *rep)
{
	_cleanup_free_ char *sig = NULL, *kept = NULL;
	size_t siglen = 0, keptlen = 0;
	struct telling t = {.told = s->logged ? s->logged : "",
			    .x = {.db = e->db, .share = &s->share}};

	/* Nothing found, nothing told before: the usual case, at every start. */
	if (!rep->n_findings && !s->logged)
		return;
	/* What the rate limit holds back is not in SIG: it is told later. */
	t.sig = open_memstream(&sig, &siglen);
	t.kept = open_memstream(&kept, &keptlen);
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *fi = &rep->findings[k];

		if (fi->action == ACTION_FIXED)
			tell_fixed(&t, e, rep, fi);
		else if (t.sig && t.kept &&
			 (fi->action == ACTION_REFUSED || fi->action == ACTION_FAILED))
			tell_undone(s, &t, e, rep, fi);
	}
	free(t.added);
	free(t.removed);
	if (t.kept_new && events_not_applied(rep->user->name, rep->keys_file, t.not_applied,
					     t.n_kept, &s->share) < 0) {
		s->retell = true;
		t.n_kept = 0; /* not told: none of them is */
	}
	told_commit(s, &t, &sig, &kept);
}

void ustate_tell_quarantined(struct ustate *s, const struct user_report *rep)
{
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *fi = &rep->findings[k];

		if (fi->problem == PROBLEM_UNAPPROVED_KEY && fi->action == ACTION_FIXED)
			events_key(TELL_QUARANTINED, rep->user->name, fi->path, fi->fingerprint,
				   fi->comment, &s->share);
	}
}

int ustate_carry_lines(struct ustate *s, const struct engine *e, const struct user *u,
		       const char *data, size_t len, struct user_report *rep)
{
	struct tell_extra x = {.db = e->db, .carried = len, .share = &s->share};
	int r = engine_carry_keys(e, u, data, len, rep), undone;

	if (r < 0) {
		events_internal_error(
		    u->name, "%s: lines written to the replaced keys file not carried over: %s",
		    u->name, strerror(-r));
		return r;
	}
	undone = r; /* not written, whether a finding says why or not */
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *fi = &rep->findings[k];

		if (fi->problem != PROBLEM_KEYS)
			continue; /* the drop-ins and Exclusive= are told by the user's heal */
		events_finding(rep, fi, true, &x);
		if (fi->action == ACTION_REFUSED || fi->action == ACTION_FAILED)
			undone = 1;
	}
	ustate_tell_quarantined(s, rep);
	return undone;
}

/*
 * The audit's state at a limit, or unreadable: said at priority err, once while it lasts
 * (WHAT is the condition; 0 when none).
 */
static void tell_audit_state(struct ustate *s, const struct user *u, int what, const char *why)
{
	if (what == s->audit_state_told)
		return;
	s->audit_state_told = what;
	if (what)
		events_internal_error(u->name, "%s: the key audit's state: %s", u->name, why);
}

/* The key audit of one user, what it tells. */
struct audit_ctx {
	struct ustate *s;
	const char *user, *keys_file;
};

static int audit_unapproved(void *userdata, const struct key_entry *e)
{
	struct audit_ctx *c = userdata;
	int r =
	    events_key(TELL_UNAPPROVED, c->user, e->file, e->fingerprint, e->comment, &c->s->share);

	c->s->retell = c->s->retell || r < 0;
	return r;
}

static int audit_removed(void *userdata, const char *fp, const char *comment)
{
	struct audit_ctx *c = userdata;
	int r = events_key(TELL_REMOVED, c->user, c->keys_file, fp, comment, &c->s->share);

	c->s->retell = c->s->retell || r < 0;
	return r;
}

/* The state of U's remembered keys as read (LOADED, audit_state_load()'s result): told. */
static bool audit_loaded(struct ustate *s, const struct user *u, int loaded)
{
	char why[256];

	if (loaded < 0) {
		snprintf(why, sizeof(why), "cannot be read (%s): this user's keys are not audited",
			 strerror(-loaded));
		tell_audit_state(s, u, loaded, why);
		return false;
	}
	if (loaded > 0) {
		snprintf(why, sizeof(why),
			 "larger than %u bytes: only its start is read, the keys past it are told "
			 "as new",
			 AUDIT_STATE_MAX);
		tell_audit_state(s, u, 1, why);
	}
	return true;
}

void ustate_audit(struct ustate *s, const struct engine *e, const struct user *u, uint64_t sig,
		  struct baseline *b)
{
	_cleanup_(strv_freep) char **state = NULL;
	_cleanup_free_ char *keys_file = NULL;
	struct audit_ctx c = {.s = s, .user = u->name};
	struct audit_tell t = {
	    .unapproved = audit_unapproved, .removed = audit_removed, .userdata = &c};
	struct audit_result res;
	struct key_list l = {0};
	char why[256];
	int r, loaded;

	/* Keys files unchanged since the last audit (a mode repair): nothing new to tell. The
	 * signature is taken before the key sync, whose write changes it and brings us back. */
	if (s->audited && s->audited_sig == sig)
		return;
	s->audited = true;
	s->audited_sig = sig;
	loaded = audit_state_load(e->rootfd, u->name, &state);
	if (!audit_loaded(s, u, loaded) || engine_list_keys(e, u, state, &l) < 0)
		return;
	c.keys_file = keys_file = engine_keys_file(e, u);
	r = audit_diff(e->rootfd, u->name, state, &l, &t, &res);
	memset(s->keys, 0, sizeof(s->keys));
	for (size_t i = 0; i < l.n; i++)
		s->keys[l.e[i].status]++;
	key_list_done(&l);
	if (r < 0)
		return;
	/* The first sight is the baseline, told in one summary entry. */
	b->users += res.baseline;
	b->keys += res.n_keys;
	snprintf(why, sizeof(why),
		 "the keys would make it larger than %u bytes: those past it are not remembered, "
		 "and are told again as they are seen",
		 AUDIT_STATE_MAX);
	if (res.recorded && res.state_full)
		tell_audit_state(s, u, 2, why);
	else if (res.recorded && loaded == 0)
		tell_audit_state(s, u, 0, NULL);
}

/*
 * What REP repaired that counts for a fight: the first chain element (*path), or, with no
 * such repair, a key sync of the approved set the last heal saw, which undid what another
 * process did to the block (*keys). One a change of the drop-in directory asked for is the
 * operator's doing, never a fight.
 */
static const char *flap_path(struct ustate *s, const struct user_report *rep, bool *keys)
{
	const char *path = NULL, *synced = NULL;

	*keys = false;
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *fi = &rep->findings[k];

		if (fi->action == ACTION_FIXED && !problem_is_keys(fi->problem) && !path)
			path = fi->path;
		else if (fi->action == ACTION_FIXED && fi->problem == PROBLEM_KEYS)
			synced = fi->path;
	}
	if (synced && !path && s->approved_known && s->approved_sig == rep->approved_sig) {
		path = synced;
		*keys = true;
	}
	s->approved_known = true;
	s->approved_sig = rep->approved_sig;
	return path;
}

bool ustate_flap(struct ustate *s, const struct config *c, const struct user_report *rep,
		 uint64_t now)
{
	bool keys;
	const char *path = flap_path(s, rep, &keys);

	if (!path)
		return false;
	/* Quiet for a whole window after the last back-off: the episode is over. */
	if (s->flapping && now - s->last_repair > c->flap_window_usec + s->backoff_len) {
		s->flapping = false;
		s->backoff_len = 0;
	}
	s->last_repair = now;
	if (!s->flapping && now - s->flap_window_start > c->flap_window_usec) {
		s->flap_window_start = now;
		s->flap_count = 0;
	}
	/* While flapping, every repair after a back-off earns the next, longer one. */
	if (++s->flap_count <= c->flap_threshold && !s->flapping)
		return false;
	s->backoff_len = s->backoff_len ? s->backoff_len * 2 : c->flap_backoff_usec;
	if (s->backoff_len > c->flap_backoff_max_usec)
		s->backoff_len = c->flap_backoff_max_usec;
	s->backoff_until = now + s->backoff_len;
	if (!s->flapping) {
		s->flapping = true;
		events_flapping(rep->user->name, path, keys, c->flap_threshold, c->flap_window_usec,
				s->backoff_len, &s->share);
	}
	return true;
}

bool ustate_approved_changed(struct ustate *s, const struct engine *e, const struct user *u)
{
	uint64_t sig = 0;

	if (!s->approved_known)
		return false;
	return engine_approved_sig(e, u, &sig) >= 0 && sig != s->approved_sig;
}

void ustate_note_chain(struct ustate *s, const struct userdb *db, const struct user_report *rep)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *fi = &rep->findings[k];
		char change[200], what[USTATE_CHAIN_WHAT_MAX];

		if (problem_is_keys(fi->problem) ||
		    (fi->action != ACTION_FIXED && fi->action != ACTION_REFUSED &&
		     fi->action != ACTION_FAILED))
			continue;
		s->chain_usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
		s->chain_refused = fi->action != ACTION_FIXED;
		if (s->chain_refused) {
			snprintf(what, sizeof(what), "%s: %s", fi->path,
				 fi->reason ? fi->reason : problem_to_string(fi->problem));
		} else {
			report_change(db, fi, change, sizeof(change));
			snprintf(what, sizeof(what), "%s%s%s", fi->path, *change ? ": " : "",
				 change);
		}
		/* Out of memory: the time is kept, the chain's text left empty. */
		free(s->chain_what);
		s->chain_what = strdup(what);
	}
}

void ustate_carry(struct ustate *to, struct ustate *from)
{
	/* What was told stays told: a reload does not tell a refusal again; what the rate limit
	 * held back is still to tell; the user's share of it, and what its last key sync
	 * wrote, stay. */
	to->logged = TAKE_PTR(from->logged);
	to->share = from->share;
	to->retell = from->retell;
	to->approved_known = from->approved_known;
	to->approved_sig = from->approved_sig;
	to->chain_usec = from->chain_usec;
	to->chain_refused = from->chain_refused;
	to->chain_what = TAKE_PTR(from->chain_what);
	if (!(from->flapping || from->backoff_until))
		return;
	to->flapping = from->flapping;
	to->last_repair = from->last_repair;
	to->flap_count = from->flap_count;
	to->flap_window_start = from->flap_window_start;
	to->backoff_until = from->backoff_until;
	to->backoff_len = from->backoff_len;
}

void ustate_done(struct ustate *s)
{
	s->backoff_timer = sd_event_source_unref(s->backoff_timer);
	s->logged = (free(s->logged), NULL);
	s->chain_what = (free(s->chain_what), NULL);
}
