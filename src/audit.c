/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include "audit.h"
#include "dropin.h"
#include "keys.h"
#include "macro.h"
#include "strindex.h"
#include "strv.h"

static const char *const status_names[] = {
    [KEY_APPROVED] = "approved",
    [KEY_USER] = "user",
    [KEY_UNAPPROVED] = "unapproved",
    [KEY_INVALID] = "invalid",
};

const char *key_status_to_string(enum key_status s)
{
	return status_names[s];
}

/* A new entry of L for line LINENO of FILE. */
static struct key_entry *entry_add(struct key_list *l, const char *file, unsigned lineno)
{
	struct key_entry *e;

	if (array_room(&l->e, l->n, sizeof(*l->e)) < 0)
		return NULL;
	e = &l->e[l->n++];
	*e = (struct key_entry){.lineno = lineno, .file = strdup(file)};
	return e;
}

int audit_scan_unread(const char *file, const char *why, struct key_list *l)
{
	struct key_entry *e = entry_add(l, file, 0);

	if (!e)
		return -ENOMEM;
	e->status = KEY_INVALID;
	e->why = strdup(why);
	return 0;
}

int audit_scan(const char *file, const char *text, size_t len, struct key_list *l)
{
	unsigned lineno = 0;
	bool in_block = false;

	for (size_t off = 0; off < len;) {
		const char *line = text + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		struct key_line k = {0};
		struct key_entry *e;
		char why[256] = "";
		int r;

		off += n + (nl ? 1 : 0);
		lineno++;
		if (dropin_is_marker(line, n, DROPIN_BEGIN) ||
		    dropin_is_marker(line, n, DROPIN_END)) {
			in_block = dropin_is_marker(line, n, DROPIN_BEGIN);
			continue;
		}
		r = key_parse_line(line, n, KEY_RSA_MIN_BITS, &k, why, sizeof(why));
		if (r == 1)
			continue;
		if (r == -ENOMEM || !(e = entry_add(l, file, lineno))) {
			key_line_done(&k);
			return -ENOMEM;
		}
		e->in_block = in_block;
		if (r == 0) {
			e->fingerprint = strdup(k.fingerprint);
			e->type = strdup(k.type);
			e->comment = k.comment ? strdup(k.comment) : NULL;
			e->certificate = k.certificate;
		} else {
			e->status = KEY_INVALID;
			e->why = strdup(why);
		}
		key_line_done(&k);
	}
	return 0;
}

void key_list_done(struct key_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].file);
		free(l->e[i].fingerprint);
		free(l->e[i].type);
		free(l->e[i].comment);
		free(l->e[i].why);
		free(l->e[i].last_from);
	}
	free(l->e);
	*l = (struct key_list){0};
}
/* L's strings joined by spaces (malloc'd), or NULL when L is empty or memory short. */
static char *join_ws(char *const *l)
{
	size_t n = 0;
	char *out, *p;

	for (size_t k = 0; l && l[k]; k++)
		n += strlen(l[k]) + 1;
	if (!n || !(out = malloc(n)))
		return NULL;
	p = out;
	for (size_t k = 0; l[k]; k++)
		p += sprintf(p, "%s%s", k ? " " : "", l[k]);
	return out;
}

int audit_synced(char *const *state, const struct key_list *l, char **added, char **removed)
{
	_cleanup_(strv_freep) char **now = NULL, **gone = NULL, **gained = NULL;
	struct strindex *index = NULL;
	int r;

	*added = *removed = NULL;
	r = audit_state_index(state, &index);
	if (r < 0)
		return r;
	for (size_t k = 0; k < l->n; k++)
		if (l->e[k].fingerprint && l->e[k].status == KEY_APPROVED &&
		    (strv_push_unique(&now, l->e[k].fingerprint) < 0 ||
		     (audit_state_status(state, index, l->e[k].fingerprint, NULL) != KEY_APPROVED &&
		      strv_push_unique(&gained, l->e[k].fingerprint) < 0)))
			break;
	for (char *const *s = state; s && *s; s++) {
		_cleanup_free_ char *fp = strndup(*s, strcspn(*s, " "));

		if (fp && audit_state_status(state, index, fp, NULL) == KEY_APPROVED &&
		    !strv_contains(now, fp) && strv_push_unique(&gone, fp) < 0)
			break;
	}
	strindex_free(index);
	*added = join_ws(gained);
	*removed = join_ws(gone);
	return 0;
}

/* One audit: what it compares, and what it could not tell. */
struct diff {
	char *const *state;
	struct strindex *index;
	struct key_list *l;
	bool *seen; /* STATE's lines that L holds */
	signed char
	    *held;   /* L's unapproved keys not told: their status in STATE plus 2, 1 for none */
	bool *gone;  /* STATE's keys gone and not told */
	char **told; /* STATE's lines of the keys gone and told, for audit_gone_record() */
	size_t n_told;
	bool dirty; /* the state is to be written */
};

/* Each key of L against STATE: those newly unapproved told. */
static int diff_present(struct diff *d, const struct audit_tell *t, struct audit_result *ret)
{
	for (size_t k = 0; k < d->l->n; k++) {
		const struct key_entry *e = &d->l->e[k];
		ssize_t at;
		int was;

		if (!e->fingerprint)
			continue;
		if (!d->state)
			ret->n_keys++;
		was = audit_state_status(d->state, d->index, e->fingerprint, &at);
		if (at >= 0)
			d->seen[at] = true;
		if (was != (int)e->status)
			d->dirty = true;
		/* Told once: when it appears, or when Exclusive= leaves it unapproved. */
		if (e->status != KEY_UNAPPROVED || was == KEY_UNAPPROVED ||
		    t->unapproved(t->userdata, e) >= 0)
			continue;
		if (!d->held && !(d->held = calloc(d->l->n, sizeof(*d->held))))
			return -ENOMEM;
		d->held[k] = (signed char)(was + 2);
	}
	return 0;
}

/* Each key STATE remembers that L does not hold: told gone. */
static int diff_gone(struct diff *d, const struct audit_tell *t)
{
	for (size_t k = 0; d->state && d->state[k]; k++) {
		size_t n = strcspn(d->state[k], " ");
		_cleanup_free_ char *fp = NULL;

		/* Each key once: the line the index holds for it. */
		if (d->seen[k] || !d->state[k][n] ||
		    strindex_find(d->index, d->state[k], n) != (ssize_t)k)
			continue;
		d->dirty = true;
		fp = strndup(d->state[k], n);
		if (t->removed(t->userdata, fp,
			       fp ? audit_state_comment(d->state, d->index, fp) : NULL) >= 0) {
			if (strv_append(&d->told, &d->n_told, d->state[k], strlen(d->state[k])) < 0)
				return -ENOMEM;
			continue;
		}
		if (!d->gone && !(d->gone = calloc(strv_length(d->state), sizeof(*d->gone))))
			return -ENOMEM;
		d->gone[k] = true;
	}
	return 0;
}

/*
 * What was not told is recorded as it was before, so that the next audit tells it again: L's
 * entries held back get their status in STATE back, or are left out; STATE's keys gone and
 * not told stay.
 */
static int diff_unrecord(struct diff *d)
{
	struct key_list *l = d->l;
	size_t n_gone = 0;
	struct key_entry *e;

	for (size_t k = 0; d->held && k < l->n; k++)
		if (d->held[k] > 1)
			l->e[k].status = (enum key_status)(d->held[k] - 2);
		else if (d->held[k] == 1)
			l->e[k].fingerprint = (free(l->e[k].fingerprint), NULL);
	for (size_t k = 0; d->gone && d->state[k]; k++)
		n_gone += d->gone[k];
	if (!n_gone)
		return 0;
	e = realloc(l->e, (l->n + n_gone) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	l->e = e;
	for (size_t k = 0; d->state[k]; k++) {
		_cleanup_free_ char *fp = NULL;
		const char *comment;
		int was;

		if (!d->gone[k] || !(fp = strndup(d->state[k], strcspn(d->state[k], " "))))
			continue;
		comment = audit_state_comment(d->state, d->index, fp);
		was = audit_state_status(d->state, d->index, fp, NULL);
		if (was < 0)
			continue;
		e[l->n++] = (struct key_entry){.fingerprint = TAKE_PTR(fp),
					       .comment = comment ? strdup(comment) : NULL,
					       .status = (enum key_status)was};
	}
	return 0;
}

int audit_diff(int rootfd, const char *user, char *const *state, struct key_list *l,
	       const struct audit_tell *t, struct audit_result *ret)
{
	struct diff d = {.state = state, .l = l, .dirty = !state};
	bool unread = false;
	int r;

	*ret = (struct audit_result){.baseline = !state};
	r = audit_state_index(state, &d.index);
	if (r < 0)
		return r;
	d.seen = calloc(strv_length(state) + 1, sizeof(*d.seen));
	r = d.seen ? diff_present(&d, t, ret) : -ENOMEM;
	/* A keys file too large to read hides its keys: none is taken for gone meanwhile. */
	for (size_t k = 0; k < l->n; k++)
		unread = unread || (!l->e[k].fingerprint && l->e[k].lineno == 0);
	if (r >= 0 && !unread)
		r = diff_gone(&d, t);
	if (r >= 0 && d.dirty && !unread && diff_unrecord(&d) >= 0) {
		ret->recorded = true;
		ret->state_full = audit_state_save(rootfd, user, l) > 0;
	}
	/* When they went, for sshmend why: an aid, whose failure the audit does not share. */
	if (r >= 0)
		(void)audit_gone_record(rootfd, user, d.told);
	strv_free(d.told);
	strindex_free(d.index);
	free(d.seen);
	free(d.held);
	free(d.gone);
	return r;
}
