/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "escape.h"
#include "lastuse.h"
#include "report.h"
#include "verdict.h"

void report_owner_name(const struct userdb *db, uid_t uid, char *buf, size_t len)
{
	const struct user *u = userdb_by_uid(db, uid);

	if (u)
		snprintf(buf, len, "%s", u->name);
	else
		snprintf(buf, len, "%lu", (unsigned long)uid);
}

void report_change(const struct userdb *db, const struct finding *f, char *buf, size_t len)
{
	mode_t old_mode = f->found.st_mode & 07777;
	mode_t new_mode = f->has_final ? f->final_mode : f->exp_mode;
	uid_t new_uid = f->has_final ? f->final_uid : f->exp_uid;
	char a[64], b[64];
	size_t n = 0;

	*buf = 0;
	if (old_mode != new_mode)
		n += (size_t)snprintf(buf, len, "mode %04o -> %04o", (unsigned)old_mode,
				      (unsigned)new_mode);
	if (f->found.st_uid != new_uid && n < len) {
		report_owner_name(db, f->found.st_uid, a, sizeof(a));
		report_owner_name(db, new_uid, b, sizeof(b));
		n += (size_t)snprintf(buf + n, len - n, "%sowner %s -> %s", n ? ", " : "", a, b);
	}
	if (f->found.st_gid != f->exp_gid && !f->has_final && n < len)
		n += (size_t)snprintf(buf + n, len - n, "%sgroup %lu -> %lu", n ? ", " : "",
				      (unsigned long)f->found.st_gid, (unsigned long)f->exp_gid);
	if (f->exp_label && n < len)
		snprintf(buf + n, len - n, "%slabel %s -> %s", n ? ", " : "",
			 f->cur_label ? f->cur_label : "(none)", f->exp_label);
}

static void describe(FILE *out, const struct userdb *db, const struct finding *f, bool dry_run)
{
	char a[64], b[64];
	mode_t cur = f->found.st_mode & 07777;

	switch (f->problem) {
	case PROBLEM_SYMLINK:
		fputs("symlink, not followed", out);
		return;
	case PROBLEM_TYPE:
		fputs(f->reason ? f->reason : "wrong type", out);
		return;
	case PROBLEM_KEYS:
		if (dry_run && f->action == ACTION_WOULD_FIX) {
			fprintf(out, "would write the approved keys block (%s)",
				f->reason ? f->reason : "out of date");
			return;
		}
		/* fall through */
	case PROBLEM_MISSING:
		fputs(f->reason ? f->reason : "missing", out);
		return;
	case PROBLEM_HARDLINK:
		fprintf(out, "hard link (%lu links)", (unsigned long)f->found.st_nlink);
		return;
	case PROBLEM_UNAPPROVED_KEY:
		fprintf(out, "key %s%s%s%s outside the approved set", f->fingerprint,
			f->comment ? " (" : "", f->comment ? f->comment : "",
			f->comment ? ")" : "");
		if (f->action == ACTION_WOULD_FIX || f->action == ACTION_FIXED)
			fprintf(out, ": %s", f->reason);
		return;
	case PROBLEM_DROPIN:
		fprintf(out, "%s: %s",
			f->lineno ? "drop-in key rejected, not written" : "drop-in ignored",
			f->reason);
		return;
	default:
		break;
	}
	if (!f->has_state) {
		fputs(f->reason ? f->reason : "cannot be inspected", out);
		return;
	}
	if (dry_run && f->action == ACTION_WOULD_FIX) {
		char change[200];

		report_change(db, f, change, sizeof(change));
		if (*change) {
			fprintf(out, "would change %s", change);
			return;
		}
	}
	report_owner_name(db, f->found.st_uid, a, sizeof(a));
	report_owner_name(db, f->exp_uid, b, sizeof(b));
	if (f->found.st_uid != f->exp_uid) {
		fprintf(out, "owner %s, expected %s", a, b);
		if (cur != f->exp_mode)
			fputs("; ", out);
	} else if (f->found.st_gid != f->exp_gid && cur == f->exp_mode) {
		fprintf(out, "group %lu, expected %lu", (unsigned long)f->found.st_gid,
			(unsigned long)f->exp_gid);
	}
	if (cur != f->exp_mode)
		fprintf(out, "mode %04o, expected %04o", (unsigned)cur, (unsigned)f->exp_mode);
	if (f->problem == PROBLEM_LABEL)
		fprintf(out, "label %s, expected %s%s", f->cur_label ? f->cur_label : "(none)",
			f->exp_label,
			f->sshd_rejects ? " - the enforcing policy denies sshd this type" : "");
}

/* One finding's line, without its newline. */
static void finding_human(FILE *out, const struct userdb *db, const struct user_report *r,
			  const struct finding *f, bool dry_run)
{
	fprintf(out, "%s: %s", r->user->name, f->path);
	if (f->lineno)
		fprintf(out, ":%u", f->lineno);
	fputs(": ", out);
	describe(out, db, f, dry_run);
	if (f->sshd_rejects && f->sshd_message) {
		fprintf(out, " - sshd refuses: %s", verdict_message_body(f->sshd_message));
	}
	switch (f->action) {
	case ACTION_FIXED:
		fputs(" (fixed)", out);
		break;
	case ACTION_REFUSED:
		/* A drop-in's reason is its description. */
		if (f->problem != PROBLEM_DROPIN)
			fprintf(out, " (refused: %s)", f->reason);
		break;
	case ACTION_FAILED:
		fprintf(out, " (failed: %s)", f->reason);
		break;
	default:
		break;
	}
}

void report_human(FILE *out, const struct userdb *db, const struct user_report *r, bool dry_run)
{
	if (r->n_findings == 0) {
		escape_printf(out, "%s: ok", r->user->name);
		fputc('\n', out);
		return;
	}
	for (size_t i = 0; i < r->n_findings; i++) {
		char *line = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&line, &len);

		/* Written whole, then shown escaped: names, paths, comments and reasons alike. */
		if (!m)
			continue;
		finding_human(m, db, r, &r->findings[i], dry_run);
		if (fclose(m) == 0) {
			escape_write(out, line);
			fputc('\n', out);
		}
		free(line);
	}
}

void report_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	while (*s) {
		long cp;
		bool shown;
		size_t n = escape_scan(s, &cp, &shown);

		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (shown)
			fwrite(s, 1, n, out);
		else if (cp >= 0)
			fprintf(out, "\\u%04lx", (unsigned long)cp);
		else
			fprintf(out, "\\\\x%02x", (unsigned char)*s);
		s += n;
	}
	fputc('"', out);
}

/* ,"NAME":"VALUE" when there is a VALUE. */
static void json_field(FILE *out, const char *name, const char *value)
{
	if (!value)
		return;
	fprintf(out, ",\"%s\":", name);
	report_json_string(out, value);
}

void report_json_begin(FILE *out)
{
	fputs("{\"users\":[", out);
}

void report_json_end(FILE *out)
{
	fputs("]}\n", out);
}

void report_json_user(FILE *out, const struct userdb *db, const struct user_report *r, bool first)
{
	char name[64];

	if (!first)
		fputc(',', out);
	fputs("{\"user\":", out);
	report_json_string(out, r->user->name);
	fprintf(out, ",\"uid\":%lu,\"home\":", (unsigned long)r->user->uid);
	report_json_string(out, r->user->home);
	fprintf(out, ",\"sshd_accepts\":%s,\"findings\":[", r->sshd_accepts ? "true" : "false");
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct finding *f = &r->findings[i];

		fputs(i ? ",{\"path\":" : "{\"path\":", out);
		report_json_string(out, f->path);
		if (f->lineno)
			fprintf(out, ",\"line\":%u", f->lineno);
		fprintf(out, ",\"problem\":\"%s\"", problem_to_string(f->problem));
		json_field(out, "fingerprint", f->fingerprint);
		json_field(out, "comment", f->comment);
		if (f->has_state) {
			fprintf(out, ",\"current_mode\":\"%04o\",\"expected_mode\":\"%04o\"",
				(unsigned)(f->found.st_mode & 07777), (unsigned)f->exp_mode);
			report_owner_name(db, f->found.st_uid, name, sizeof(name));
			fputs(",\"current_owner\":", out);
			report_json_string(out, name);
			report_owner_name(db, f->exp_uid, name, sizeof(name));
			fputs(",\"expected_owner\":", out);
			report_json_string(out, name);
		}
		if (f->exp_label) {
			fputs(",\"current_label\":", out);
			if (f->cur_label)
				report_json_string(out, f->cur_label);
			else
				fputs("null", out);
			json_field(out, "expected_label", f->exp_label);
		}
		if (f->has_final) {
			fprintf(out, ",\"final_mode\":\"%04o\"", (unsigned)f->final_mode);
			report_owner_name(db, f->final_uid, name, sizeof(name));
			fputs(",\"final_owner\":", out);
			report_json_string(out, name);
		}
		fprintf(out, ",\"sshd_rejects\":%s", f->sshd_rejects ? "true" : "false");
		if (f->sshd_message) {
			fputs(",\"sshd_message\":", out);
			report_json_string(out, f->sshd_message);
		}
		fprintf(out, ",\"action\":\"%s\"", action_to_string(f->action));
		if (f->reason) {
			fputs(",\"reason\":", out);
			report_json_string(out, f->reason);
		}
		fputc('}', out);
	}
	fputs("]}", out);
}

/* A key's last_used column: " (last used 2026-12-06 14:02 UTC from ADDR)", or never. */
static void human_last_use(FILE *out, const struct key_entry *e)
{
	char when[LASTUSE_TIME_MAX];

	if (!e->last_used) {
		fputs(" (last used: never)", out);
		return;
	}
	escape_printf(out, " (last used %s from %s)", lastuse_human(e->last_used, when),
		      e->last_from ? e->last_from : "?");
}

/* A key's "last_used" (ISO 8601 UTC) and "last_from", each null when it was never used. */
static void json_last_use(FILE *out, const struct key_entry *e)
{
	char when[LASTUSE_TIME_MAX];

	if (!e->last_used) {
		fputs(",\"last_used\":null,\"last_from\":null", out);
		return;
	}
	fprintf(out, ",\"last_used\":\"%s\",\"last_from\":", lastuse_iso(e->last_used, when));
	if (e->last_from)
		report_json_string(out, e->last_from);
	else
		fputs("null", out);
}

void report_keys_human(FILE *out, const struct user *u, const struct key_list *l)
{
	if (l->n == 0) {
		escape_printf(out, "%s: no keys", u->name);
		fputc('\n', out);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct key_entry *e = &l->e[i];

		if (e->status == KEY_INVALID)
			escape_printf(out, "%s: %s:%u: invalid: %s", u->name, e->file, e->lineno,
				      e->why);
		else
			escape_printf(out, "%s: %s:%u: %s %s %s%s%s", u->name, e->file, e->lineno,
				      key_status_to_string(e->status), e->fingerprint, e->type,
				      e->comment ? " " : "", e->comment ? e->comment : "");
		if (e->status != KEY_INVALID)
			human_last_use(out, e);
		fputc('\n', out);
	}
}

/* A user's object up to the opening of its list LIST: {"user":..,"LIST":[ */
static void json_user_list(FILE *out, const struct user *u, bool first, const char *list)
{
	if (!first)
		fputc(',', out);
	fputs("{\"user\":", out);
	report_json_string(out, u->name);
	fprintf(out, ",\"%s\":[", list);
}

void report_keys_json_user(FILE *out, const struct user *u, const struct key_list *l, bool first)
{
	json_user_list(out, u, first, "keys");
	for (size_t i = 0; i < l->n; i++) {
		const struct key_entry *e = &l->e[i];

		fputs(i ? ",{\"file\":" : "{\"file\":", out);
		report_json_string(out, e->file);
		fprintf(out, ",\"line\":%u,\"status\":\"%s\"", e->lineno,
			key_status_to_string(e->status));
		json_field(out, "fingerprint", e->fingerprint);
		json_field(out, "type", e->fingerprint ? e->type : NULL);
		json_field(out, "comment", e->comment);
		json_field(out, "reason", e->why);
		json_last_use(out, e);
		fputc('}', out);
	}
	fputs("]}", out);
}

void report_quarantine_human(FILE *out, const struct user *u, const struct quarantine_list *l)
{
	if (l->n == 0) {
		escape_printf(out, "%s: nothing quarantined", u->name);
		fputc('\n', out);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct quarantined_key *q = &l->q[i];

		escape_printf(out, "%s: %s %s%s%s, taken %s from %s", u->name, q->fingerprint,
			      q->type, q->comment ? " " : "", q->comment ? q->comment : "",
			      q->taken ? q->taken : "at a time not recorded",
			      q->from ? q->from : "?");
		fputc('\n', out);
	}
}

void report_quarantine_json_user(FILE *out, const struct user *u, const struct quarantine_list *l,
				 bool first)
{
	json_user_list(out, u, first, "quarantined");
	for (size_t i = 0; i < l->n; i++) {
		const struct quarantined_key *q = &l->q[i];

		fputs(i ? ",{\"fingerprint\":" : "{\"fingerprint\":", out);
		report_json_string(out, q->fingerprint);
		json_field(out, "type", q->type);
		json_field(out, "comment", q->comment);
		json_field(out, "from", q->from);
		fputs(",\"taken\":", out);
		if (q->taken)
			report_json_string(out, q->taken);
		else
			fputs("null", out);
		fputc('}', out);
	}
	fputs("]}", out);
}
