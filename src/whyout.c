/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include "escape.h"
#include "report.h"
#include "why.h"

void why_print_human(FILE *out, const char *user, const struct why *w)
{
	for (size_t i = 0; i < w->n_steps; i++) {
		const struct why_step *s = &w->steps[i];

		escape_printf(out, "%-8s %-12s %s", s->ok ? "ok" : "REFUSED", s->check, s->detail);
		fputc('\n', out);
		if (!s->ok && w->sshd_message) {
			escape_printf(out, "%-8s %-12s %s", "", "sshd:", w->sshd_message);
			fputc('\n', out);
		}
	}
	if (w->accepts)
		escape_printf(out, "sshd accepts a key login as %s", user);
	else
		escape_printf(out, "hint: %s", w->hint ? w->hint : "(none)");
	fputc('\n', out);
}

/* ,"NAME":"VALUE" or ,"NAME":null */
static void field(FILE *out, const char *name, const char *value)
{
	fprintf(out, ",\"%s\":", name);
	if (value)
		report_json_string(out, value);
	else
		fputs("null", out);
}

void why_print_json(FILE *out, const char *user, const struct why *w)
{
	fputs("{\"user\":", out);
	report_json_string(out, user);
	fprintf(out, ",\"accepts\":%s", w->accepts ? "true" : "false");
	field(out, "cause", why_cause_to_string(w->cause));
	fputs(",\"steps\":[", out);
	for (size_t i = 0; i < w->n_steps; i++) {
		fputs(i ? ",{\"check\":" : "{\"check\":", out);
		report_json_string(out, w->steps[i].check);
		fprintf(out, ",\"ok\":%s", w->steps[i].ok ? "true" : "false");
		field(out, "detail", w->steps[i].detail);
		fputc('}', out);
	}
	fputc(']', out);
	field(out, "sshd_message", w->sshd_message);
	field(out, "hint", w->hint);
	fputs(",\"authorized_for\":[", out);
	for (size_t i = 0; w->authorized_for && w->authorized_for[i]; i++) {
		if (i)
			fputc(',', out);
		report_json_string(out, w->authorized_for[i]);
	}
	fputs("]}\n", out);
}
