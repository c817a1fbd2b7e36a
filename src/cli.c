/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "audit.h"
#include "cli.h"
#include "daemon.h"
#include "engine.h"
#include "escape.h"
#include "follow.h"
#include "macro.h"
#include "report.h"
#include "strv.h"
#include "why.h"

#define USAGE_LINE "Usage: sshmend [--root DIR] [--config FILE] COMMAND [ARGS...]\n"

/* "NAME VALUE" or "NAME=VALUE" at ARGV[*I]: 1 with its value (*I on the last word taken),
 * 0 when it is another option, -EINVAL when the value is missing. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **ret)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0 || (a[n] && a[n] != '='))
		return 0;
	if (a[n] == '=') {
		*ret = a + n + 1;
		return 1;
	}
	if (*i + 1 >= argc) {
		escape_say("option '%s' requires an argument", name);
		return -EINVAL;
	}
	*ret = argv[++*i];
	return 1;
}

int cli_parse_globals(int argc, char **argv, struct cli_options *o)
{
	bool command = false, ended = false;
	int n = 1, r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (ended || a[0] != '-' || !a[1]) {
			command = true;
			argv[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			/* Before the command, getopt's end of options; after it, the command's. */
			ended = true;
			if (command)
				argv[n++] = argv[i];
			continue;
		}
		if ((r = take_value(argc, argv, &i, "--root", &o->root)) ||
		    (r = take_value(argc, argv, &i, "--config", &o->config))) {
			if (r < 0)
				return r;
			continue;
		}
		if (strcmp(a, "--version") == 0 || (!command && strcmp(a, "-V") == 0))
			o->version = true;
		else if (!command && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0))
			o->help = true;
		else if (!command) {
			escape_say("unknown option '%s'", a);
			return -EINVAL;
		} else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

static void print_warnings(char *const *w)
{
	for (size_t i = 0; w && w[i]; i++)
		escape_say("warning: %s", w[i]);
}

/* What the drop-in directory holds that is never written, said on stderr too. */
static void print_dropin_rejects(const struct user_report *rep)
{
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *f = &rep->findings[k];

		if (f->problem != PROBLEM_DROPIN)
			continue;
		if (f->lineno)
			escape_say("%s:%u: %s: key rejected, not written", f->path, f->lineno,
				   f->reason);
		else
			escape_say("warning: %s: %s, ignoring", f->path, f->reason);
	}
}

static int open_engine(const struct cli_options *o, struct engine **ret)
{
	char err[4200] = "";
	int r = engine_open(o->root, o->config, ret, err, sizeof(err));

	if (r < 0) {
		escape_say("%s", *err ? err : strerror(-r));
		return CLI_EXIT_USAGE;
	}
	print_warnings((*ret)->db->warnings);
	print_warnings((*ret)->cfg.warnings);
	return 0;
}

/* The engine and the users a command runs on; an exit status when that fails. */
static int open_users(const struct cli_options *o, char *const *names, struct engine **ret,
		      const struct user ***users, size_t *n)
{
	char err[512];
	int r = open_engine(o, ret);

	if (r)
		return r;
	r = engine_select_users(*ret, names, users, n, err, sizeof(err));
	if (r < 0) {
		escape_say("%s", r == -ENOENT ? err : strerror(-r));
		engine_free(*ret);
		*ret = NULL;
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* check and fix share everything but the mode. */
/* check or fix of one user U, its report printed (FIRST: the first of the JSON list). */
/* A temporary file of a write cut short, removed from the state directory by fix. */
static int leftover_said(_unused_ void *userdata, const char *path)
{
	escape_say("removed %s: %s", path, LEFTOVER_REASON);
	return 0;
}

static int run_chain_user(struct engine *e, const struct user *u, struct follow *fl,
			  enum engine_mode mode, bool json, bool first)
{
	struct user_report rep, after;
	int r, status = CLI_EXIT_OK;

	r = engine_run_user(e, u, mode, NULL, NULL, &rep);
	if (r < 0) {
		escape_say("%s: %s", u->name, strerror(-r));
		return CLI_EXIT_DRIFT;
	}
	if (mode == ENGINE_FIX) {
		/* Clean means clean as sshmend judges it afresh, not as the repair hoped. */
		if (user_report_has_unresolved(&rep))
			status = CLI_EXIT_DRIFT;
		else if (engine_run_user(e, u, ENGINE_CHECK, NULL, NULL, &after) < 0)
			status = CLI_EXIT_DRIFT;
		else {
			if (user_report_has_drift(&after))
				status = CLI_EXIT_DRIFT;
			user_report_done(&after);
		}
	} else if (user_report_has_drift(&rep)) {
		status = CLI_EXIT_DRIFT;
	}
	print_dropin_rejects(&rep);
	if (json)
		report_json_user(stdout, e->db, &rep, first);
	else
		report_human(stdout, e->db, &rep, mode == ENGINE_DRY_RUN);
	if (fl && (r = follow_take(fl, u, &rep)) < 0)
		escape_say("%s: cannot follow the replaced keys file: %s", u->name, strerror(-r));
	user_report_done(&rep);
	return status;
}

/* What fix replaced and is still written to: carried over, within FOLLOW_FIX_USEC. */
static void follow_finish(struct follow *fl, struct engine *e)
{
	int r = follow_wait(fl, e, FOLLOW_FIX_USEC);

	if (r > 0)
		fprintf(stderr,
			"sshmend: a replaced keys file is still open for writing after %llu s; "
			"what is written to it from now on is not carried over\n",
			(unsigned long long)(FOLLOW_FIX_USEC / 1000000));
	else if (r < 0)
		escape_say("lines written to a replaced keys file: %s", strerror(-r));
	follow_free(fl);
}

static int run_chains(const struct cli_options *o, int argc, char **argv, bool fix)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"strict", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false, dry_run = false, strict = false, bad = false;
	struct follow *fl = NULL;
	struct engine *e = NULL;
	const struct user **users = NULL;
	enum engine_mode mode;
	size_t n = 0;
	int c, r, status = CLI_EXIT_OK;

	/* Options and users in any order, as the global options. */
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			strict = true;
			break;
		case 'n':
			if (!fix)
				bad = true;
			dry_run = true;
			break;
		case 'h':
			printf("Usage: sshmend [--root DIR] [--config FILE] %s\n",
			       fix ? "fix [--dry-run] [--json] [--strict] [USER...]"
				   : "check [--json] [--strict] [USER...]");
			return CLI_EXIT_OK;
		default:
			bad = true;
		}
	}
	if (bad) {
		escape_say("%s: unknown option", argv[0]);
		fputs(USAGE_LINE, stderr);
		return CLI_EXIT_USAGE;
	}
	r = open_users(o, argv + optind, &e, &users, &n);
	if (r)
		return r;
	/* An image bake's gate: a key misspelt in the configuration fails it. */
	if (strict && e->cfg.warnings) {
		fputs("sshmend: --strict: the configuration has warnings\n", stderr);
		status = CLI_EXIT_DRIFT;
	}
	/* A keys file fix replaces may still be written to through a descriptor. */
	if (fix && !dry_run && follow_new(&fl) < 0)
		fl = NULL;
	if (json)
		report_json_begin(stdout);
	mode = !fix ? ENGINE_CHECK : dry_run ? ENGINE_DRY_RUN : ENGINE_FIX;
	/* What a killed run left, in the state directory and beside each keys file. */
	if (mode == ENGINE_FIX) {
		(void)audit_state_sweep(e->rootfd, leftover_said, NULL);
		e->sweep_leftovers = true;
	}
	engine_pass_begin(e);
	for (size_t i = 0; i < n; i++)
		if (run_chain_user(e, users[i], fl, mode, json, i == 0) != CLI_EXIT_OK)
			status = CLI_EXIT_DRIFT;
	engine_pass_end(e);
	if (json)
		report_json_end(stdout);
	if (fl)
		follow_finish(fl, e);
	free(users);
	engine_free(e);
	return status;
}

#define KEYS_USAGE                                                                                 \
	"Usage: sshmend [--root DIR] [--config FILE] keys [--json] [USER...]\n"                    \
	"       sshmend [--root DIR] [--config FILE] keys --quarantined [--json] [USER...]\n"      \
	"       sshmend [--root DIR] [--config FILE] keys --restore USER FINGERPRINT\n"

/* The drop-in file a restored key is approved in: restored-SHA256-<fingerprint>.pub. */
static void restored_name(const char *fp, char *buf, size_t len)
{
	size_t k = (size_t)snprintf(buf, len, "restored-");

	for (const char *p = fp; *p && k + 5 < len; p++)
		buf[k++] = *p == '/' ? '_' : *p == '+' ? '-' : *p == ':' ? '-' : *p;
	snprintf(buf + k, len - k, ".pub");
}

/* Put the key FP back into USER's keys file from the quarantine, approved. */
static int restore_key(const struct cli_options *o, const char *user, const char *fp)
{
	char *names[] = {(char *)user, NULL};
	struct quarantine_list l = {0};
	const struct quarantined_key *q = NULL;
	struct user_report rep = {0};
	struct key_list keys = {0};
	struct engine *e = NULL;
	const struct user **users = NULL;
	char name[128], why[256] = "";
	bool back = false;
	size_t n = 0;
	int r, status = CLI_EXIT_DRIFT;

	r = open_users(o, names, &e, &users, &n);
	if (r)
		return r;
	r = audit_quarantine_load(e->rootfd, user, &l);
	for (size_t i = 0; r >= 0 && i < l.n; i++)
		if (strcmp(l.q[i].fingerprint, fp) == 0)
			q = &l.q[i]; /* the last taken */
	if (r < 0)
		escape_say("%s: the quarantine cannot be read: %s", user, strerror(-r));
	else if (!q)
		escape_say("%s: no key %s in the quarantine", user, fp);
	if (r < 0 || !q)
		goto out;
	restored_name(fp, name, sizeof(name));
	r = engine_approve_key(e, users[0], name, q->line, why, sizeof(why), &rep);
	if (r < 0) {
		escape_say("%s: %s not restored, it stays in the quarantine: %s", user, fp,
			   r == -EKEYREJECTED ? why
			   : r == -EPERM      ? "its drop-in directory is not root's alone"
					      : strerror(-r));
		goto out;
	}
	if (rep.n_findings)
		report_human(stdout, e->db, &rep, false);
	/* Back, as sshmend judges it afresh: in the keys file, approved. */
	if (engine_list_keys(e, users[0], NULL, &keys) >= 0)
		for (size_t i = 0; i < keys.n && !back; i++)
			back = keys.e[i].status == KEY_APPROVED && keys.e[i].fingerprint &&
			       strcmp(keys.e[i].fingerprint, fp) == 0;
	if (!back) {
		escape_say("%s: %s approved in %s/%s/%s but not written yet (see above); "
			   "\"sshmend fix %s\" writes it once that is repaired",
			   user, fp, e->cfg.dropin_dir, user, name, user);
		goto out;
	}
	r = audit_quarantine_drop(e->rootfd, user, fp, q->line);
	if (r < 0)
		escape_say("%s: %s is back, but still listed in the quarantine: %s", user, fp,
			   strerror(-r));
	escape_printf(stdout, "%s: %s%s%s%s restored to %s, approved in %s/%s/%s", user, fp,
		      q->comment ? " (" : "", q->comment ? q->comment : "", q->comment ? ")" : "",
		      rep.keys_file ? rep.keys_file : "the keys file", e->cfg.dropin_dir, user,
		      name);
	putchar('\n');
	status = r < 0 ? CLI_EXIT_DRIFT : CLI_EXIT_OK;
out:
	key_list_done(&keys);
	user_report_done(&rep);
	quarantine_list_done(&l);
	free(users);
	engine_free(e);
	return status;
}

/* The last use of U's keys L; without it, each key reads as never used, and a line says why. */
static void keys_last_use(const struct engine *e, const struct user *u, struct key_list *l)
{
	int r = engine_list_last_use(e, u, l);

	if (r < 0)
		escape_say("%s: cannot read the last use of the keys: %s", u->name, strerror(-r));
}

static int list_keys(const struct cli_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"quarantined", no_argument, NULL, 'q'},
	    {"restore", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false, quarantined = false, restore = false;
	struct engine *e = NULL;
	const struct user **users = NULL;
	size_t n = 0;
	int c, r, bound, status = CLI_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'q':
			quarantined = true;
			break;
		case 'R':
			restore = true;
			break;
		case 'h':
			fputs(KEYS_USAGE, stdout);
			return CLI_EXIT_OK;
		default:
			fprintf(stderr, "sshmend: keys: unknown option\n" KEYS_USAGE);
			return CLI_EXIT_USAGE;
		}
	}
	if (restore) {
		if (json || quarantined || argc - optind != 2) {
			fprintf(
			    stderr,
			    "sshmend: keys --restore takes a user and a fingerprint\n" KEYS_USAGE);
			return CLI_EXIT_USAGE;
		}
		return restore_key(o, argv[optind], argv[optind + 1]);
	}
	r = open_users(o, argv + optind, &e, &users, &n);
	if (r)
		return r;
	/* Another machine's state, or none tied to a machine: every key as at the baseline. */
	bound = quarantined ? 0 : audit_state_bind(e->rootfd, false);
	if (json)
		fputs("{\"users\":[", stdout);
	for (size_t i = 0; i < n; i++) {
		_cleanup_(strv_freep) char **state = NULL;
		struct quarantine_list q = {0};
		struct key_list l = {0};

		if (quarantined)
			r = audit_quarantine_load(e->rootfd, users[i]->name, &q);
		else {
			if (bound > 0)
				(void)audit_state_load(e->rootfd, users[i]->name, &state);
			r = engine_list_keys(e, users[i], state, &l);
			if (r >= 0 && bound > 0)
				keys_last_use(e, users[i], &l);
		}
		if (r < 0) {
			escape_say("%s: %s", users[i]->name, strerror(-r));
			status = CLI_EXIT_DRIFT;
			continue;
		}
		if (quarantined && json)
			report_quarantine_json_user(stdout, users[i], &q, i == 0);
		else if (quarantined)
			report_quarantine_human(stdout, users[i], &q);
		else if (json)
			report_keys_json_user(stdout, users[i], &l, i == 0);
		else
			report_keys_human(stdout, users[i], &l);
		quarantine_list_done(&q);
		key_list_done(&l);
	}
	if (json)
		fputs("]}\n", stdout);
	free(users);
	engine_free(e);
	return status;
}

int cli_dispatch(const struct cli_options *o, int argc, char **argv)
{
	if (strcmp(argv[0], "keys") == 0)
		return list_keys(o, argc, argv);
	if (strcmp(argv[0], "why") == 0)
		return why_command(o, argc, argv);
	if (strcmp(argv[0], "check") == 0)
		return run_chains(o, argc, argv, false);
	if (strcmp(argv[0], "fix") == 0)
		return run_chains(o, argc, argv, true);
	if (strcmp(argv[0], "daemon") == 0) {
		if (argc > 1) {
			if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
				puts("Usage: sshmend [--root DIR] [--config FILE] daemon");
				return CLI_EXIT_OK;
			}
			fprintf(stderr, "sshmend: daemon takes no arguments\n" USAGE_LINE);
			return CLI_EXIT_USAGE;
		}
		return daemon_run(o->root, o->config);
	}
	escape_say("unknown command '%s'", argv[0]);
	fputs(USAGE_LINE, stderr);
	return CLI_EXIT_USAGE;
}
