/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "config.h"
#include "dropin.h"
#include "journal.h"
#include "keys.h"
#include "macro.h"
#include "safeio.h"
#include "strv.h"
#include "timespan.h"

#define CONFIG_MAX (1u << 20)

typedef int (*value_parser)(struct config *c, const char *value);

struct config_key {
	const char *section;
	const char *key;
	value_parser parse;
};

static int parse_list(char ***l, const char *value)
{
	char **words = NULL;
	int r;

	/* As in systemd: a list accumulates, and an empty assignment resets it. */
	if (!*value) {
		strv_free(*l);
		*l = NULL;
		return 0;
	}
	r = strv_split_ws(&words, value);
	for (size_t i = 0; r >= 0 && words[i]; i++)
		r = strv_push_unique(l, words[i]);
	strv_free(words);
	return r;
}

static int p_include(struct config *c, const char *v)
{
	return parse_list(&c->include_users, v);
}

static int p_exclude(struct config *c, const char *v)
{
	return parse_list(&c->exclude_users, v);
}

static int p_min_uid(struct config *c, const char *v)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n >= (uid_t)-1)
		return -EINVAL;
	c->min_uid = (uid_t)n;
	c->min_uid_set = true;
	return 0;
}

static int p_mode(struct config *c, const char *v)
{
	if (strcmp(v, "sshd") == 0)
		c->mode = POLICY_SSHD;
	else if (strcmp(v, "strict") == 0)
		c->mode = POLICY_STRICT;
	else
		return -EINVAL;
	return 0;
}

static int p_flavor(struct config *c, const char *v)
{
	if (strcmp(v, "auto") == 0)
		c->flavor = FLAVOR_AUTO;
	else if (strcmp(v, "upstream") == 0)
		c->flavor = FLAVOR_UPSTREAM;
	else if (strcmp(v, "debian") == 0)
		c->flavor = FLAVOR_DEBIAN;
	else
		return -EINVAL;
	return 0;
}

static int p_keys_file(struct config *c, const char *v)
{
	int r = parse_list(&c->authorized_keys, v);

	/* An explicit empty value means "as sshd_config says" again. */
	return r;
}

/* The values of SELinux=, in the order of enum selinux_mode. */
static const char *const selinux_modes[] = {"auto", "yes", "no"};

static int p_selinux(struct config *c, const char *v)
{
	for (size_t i = 0; i < ELEMENTSOF(selinux_modes); i++)
		if (strcmp(v, selinux_modes[i]) == 0) {
			c->selinux = (enum selinux_mode)i;
			return 0;
		}
	return -EINVAL;
}

static int parse_uint(const char *v, unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n > max)
		return -EINVAL;
	*ret = n;
	return 0;
}

#define MIN_TIMESPAN_USEC USEC_PER_MSEC
#define MAX_TIMESPAN_USEC (366ull * 24 * 3600 * USEC_PER_SEC)

/* A time span as systemd writes it ("10min", "1h 30s", "600", "500ms"), at least a
 * millisecond: a zero interval would spin. */
static int parse_sec(const char *v, unsigned long long *ret)
{
	uint64_t usec;

	if (timespan_parse(v, &usec) < 0 || usec < MIN_TIMESPAN_USEC || usec > MAX_TIMESPAN_USEC)
		return -EINVAL;
	*ret = usec;
	return 0;
}

static int p_rescan(struct config *c, const char *v)
{
	return parse_sec(v, &c->rescan_usec);
}

static int p_fallback(struct config *c, const char *v)
{
	return parse_sec(v, &c->fallback_scan_usec);
}

static int p_flap_window(struct config *c, const char *v)
{
	return parse_sec(v, &c->flap_window_usec);
}

static int p_flap_backoff(struct config *c, const char *v)
{
	return parse_sec(v, &c->flap_backoff_usec);
}

static int p_flap_backoff_max(struct config *c, const char *v)
{
	return parse_sec(v, &c->flap_backoff_max_usec);
}

/* A count from 1 to 1000000 into *RET. */
static int parse_count(const char *v, unsigned *ret)
{
	unsigned long long n;
	int r = parse_uint(v, 1000000, &n);

	if (r < 0 || n == 0)
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

static int p_flap_threshold(struct config *c, const char *v)
{
	return parse_count(v, &c->flap_threshold);
}

static int p_log_burst(struct config *c, const char *v)
{
	return parse_count(v, &c->log_burst);
}

static int p_log_user_burst(struct config *c, const char *v)
{
	return parse_count(v, &c->log_user_burst);
}

static int p_log_ceiling(struct config *c, const char *v)
{
	return parse_count(v, &c->log_ceiling);
}

static int p_log_interval(struct config *c, const char *v)
{
	return parse_sec(v, &c->log_interval_usec);
}

static int p_dropin_dir(struct config *c, const char *v)
{
	char *d;

	/* Resolved inside the root like every other path, so ".." cannot leave it. */
	if (v[0] != '/')
		return -EINVAL;
	d = strdup(v);
	if (!d)
		return -ENOMEM;
	free(c->dropin_dir);
	c->dropin_dir = d;
	return 0;
}

static int p_min_rsa_bits(struct config *c, const char *v)
{
	unsigned long long n;
	int r = parse_uint(v, 16384, &n);

	/* sshd itself refuses RSA keys under KEY_RSA_MIN_BITS. */
	if (r < 0 || n < KEY_RSA_MIN_BITS)
		return -EINVAL;
	c->min_rsa_bits = (unsigned)n;
	return 0;
}

static int p_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*ret = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int p_exclusive(struct config *c, const char *v)
{
	return p_bool(v, &c->exclusive);
}

static int p_exclusive_users(struct config *c, const char *v)
{
	return parse_list(&c->exclusive_users, v);
}

static int p_diag_journal(struct config *c, const char *v)
{
	bool b;
	int r = p_bool(v, &b);

	if (r >= 0)
		c->diagnose_journal = b ? DIAGNOSE_JOURNAL_YES : DIAGNOSE_JOURNAL_NO;
	return r;
}

static int p_noise_summary(struct config *c, const char *v)
{
	return parse_sec(v, &c->noise_summary_usec);
}

/* A directory for the metrics file, inside the root: absolute, or "" for none. */
static int p_metrics_dir(struct config *c, const char *v)
{
	char *d = NULL;

	if (*v && v[0] != '/')
		return -EINVAL;
	if (*v && !(d = strdup(v)))
		return -ENOMEM;
	free(c->metrics_dir);
	c->metrics_dir = d;
	return 0;
}

static const struct config_key keys[] = {
    {"Users", "Include", p_include},
    {"Users", "Exclude", p_exclude},
    {"Users", "MinUID", p_min_uid},
    {"Policy", "Mode", p_mode},
    {"Policy", "SshdFlavor", p_flavor},
    {"Policy", "AuthorizedKeysFile", p_keys_file},
    {"Policy", "SELinux", p_selinux},
    {"Keys", "DropInDirectory", p_dropin_dir},
    {"Keys", "MinRSABits", p_min_rsa_bits},
    {"Keys", "Exclusive", p_exclusive},
    {"Keys", "ExclusiveUsers", p_exclusive_users},
    {"Daemon", "RescanIntervalSec", p_rescan},
    {"Daemon", "FallbackScanIntervalSec", p_fallback},
    {"Daemon", "FlapThreshold", p_flap_threshold},
    {"Daemon", "FlapWindowSec", p_flap_window},
    {"Daemon", "FlapBackoffSec", p_flap_backoff},
    {"Daemon", "FlapBackoffMaxSec", p_flap_backoff_max},
    {"Daemon", "LogRateLimitBurst", p_log_burst},
    {"Daemon", "LogRateLimitUserBurst", p_log_user_burst},
    {"Daemon", "LogRateLimitCeiling", p_log_ceiling},
    {"Daemon", "LogRateLimitIntervalSec", p_log_interval},
    {"Daemon", "MetricsDirectory", p_metrics_dir},
    {"Diagnose", "Journal", p_diag_journal},
    {"Diagnose", "NoiseSummarySec", p_noise_summary},
};

static void defaults(struct config *c)
{
	c->min_rsa_bits = 2048;
	c->rescan_usec = 600 * USEC_PER_SEC;
	c->fallback_scan_usec = 60 * USEC_PER_SEC;
	c->flap_threshold = 10;
	c->flap_window_usec = 10 * USEC_PER_SEC;
	c->flap_backoff_usec = 5 * USEC_PER_SEC;
	c->flap_backoff_max_usec = 600 * USEC_PER_SEC;
	c->log_burst = JOURNAL_RATELIMIT_BURST;
	c->log_user_burst = JOURNAL_RATELIMIT_USER_BURST;
	c->log_ceiling = JOURNAL_RATELIMIT_CEILING;
	c->log_interval_usec = JOURNAL_RATELIMIT_INTERVAL_USEC;
	c->diagnose_journal = DIAGNOSE_JOURNAL_AUTO;
	c->noise_summary_usec = 3600 * USEC_PER_SEC;
}

bool config_key_at(size_t i, const char **section, const char **key)
{
	if (i >= ELEMENTSOF(keys))
		return false;
	*section = keys[i].section;
	*key = keys[i].key;
	return true;
}

static char *strip(char *s)
{
	char *e;

	s += strspn(s, " \t\r");
	e = s + strlen(s);
	while (e > s && strchr(" \t\r", e[-1]))
		*--e = 0;
	return s;
}

static int warn(struct config *c, const char *file, unsigned line, const char *what,
		const char *name)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s:%u: %s '%s', ignoring", file, line, what, name);
	return strv_push(&c->warnings, buf);
}

int config_parse_text(struct config *c, const char *file, char *text, char *err, size_t errlen)
{
	_cleanup_free_ char *section = NULL;
	bool section_known = false;
	unsigned lineno = 0;
	char *p, *nl;
	int r;

	for (p = text; p; p = nl ? nl + 1 : NULL) {
		char *line, *eq, *key, *value;
		const struct config_key *k = NULL;

		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		line = strip(p);
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			char *end = strchr(line, ']');

			if (!end || end[1]) {
				snprintf(err, errlen, "%s:%u: malformed section header", file,
					 lineno);
				return -EINVAL;
			}
			free(section);
			section = strndup(line + 1, (size_t)(end - line - 1));
			if (!section)
				return -ENOMEM;
			section_known = false;
			for (size_t i = 0; i < ELEMENTSOF(keys); i++)
				if (strcmp(keys[i].section, section) == 0)
					section_known = true;
			if (!section_known &&
			    (r = warn(c, file, lineno, "unknown section", section)) < 0)
				return r;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected Key=Value", file, lineno);
			return -EINVAL;
		}
		*eq = 0;
		key = strip(line);
		value = strip(eq + 1);
		if (!section) {
			snprintf(err, errlen, "%s:%u: assignment outside of a section", file,
				 lineno);
			return -EINVAL;
		}
		if (!section_known)
			continue;
		for (size_t i = 0; i < ELEMENTSOF(keys); i++)
			if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
				k = &keys[i];
		if (!k) {
			if ((r = warn(c, file, lineno, "unknown key", key)) < 0)
				return r;
			continue;
		}
		r = k->parse(c, value);
		if (r == -EINVAL) {
			snprintf(err, errlen, "%s:%u: invalid value for %s: '%s'", file, lineno,
				 key, value);
			return r;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_file(struct config *c, int dirfd, const char *open_path, const char *shown,
		     bool in_root, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	if (in_root)
		r = safe_open_in_root(dirfd, open_path, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd);
	else {
		fd = open(open_path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		r = fd < 0 ? negative_errno() : 0;
	}
	if (r < 0) {
		if (r != -ENOENT)
			snprintf(err, errlen, "%s: %s", shown, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file, refusing", shown);
		return -EINVAL;
	}
	if (st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(err, errlen,
			 "%s: not owned by root or writable by group or others, refusing", shown);
		return -EPERM;
	}
	r = safe_read_all(fd, CONFIG_MAX, &buf, &len);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", shown, strerror(-r));
		return r;
	}
	if (strlen(buf) != len) {
		unsigned line = 1;

		for (const char *q = buf; *q; q++)
			line += *q == '\n';
		snprintf(err, errlen, "%s:%u: NUL byte in file", shown, line);
		return -EINVAL;
	}
	r = strv_push_unique(&c->files, shown);
	if (r < 0)
		return r;
	return config_parse_text(c, shown, buf, err, errlen);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dropins(struct config *c, int rootfd, char *err, size_t errlen)
{
	_cleanup_close_ int dfd = -1;
	char **names = NULL;
	DIR *d;
	struct dirent *de;
	int r;

	r = safe_open_in_root(rootfd, CONFIG_DROPIN_DIR, O_RDONLY | O_DIRECTORY, &dfd);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", CONFIG_DROPIN_DIR, strerror(-r));
		return r;
	}
	d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return negative_errno();
	r = 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		if ((r = strv_push(&names, de->d_name)) < 0)
			break;
	}
	closedir(d);
	if (names)
		qsort(names, strv_length(names), sizeof(char *), name_cmp);
	for (size_t i = 0; r >= 0 && names && names[i]; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", CONFIG_DROPIN_DIR, names[i]);
		r = load_file(c, rootfd, path, path, true, err, errlen);
		if (r == -ENOENT)
			r = 0;
	}
	strv_free(names);
	return r;
}

int config_load(int rootfd, const char *path, struct config *ret, char *err, size_t errlen)
{
	struct config c = {0};
	int r;

	defaults(&c);
	if (path)
		r = load_file(&c, -1, path, path, false, err, errlen);
	else {
		r = load_file(&c, rootfd, CONFIG_PATH, CONFIG_PATH, true, err, errlen);
		if (r == -ENOENT)
			r = 0;
		if (r >= 0)
			r = load_dropins(&c, rootfd, err, errlen);
	}
	if (r >= 0 && !c.dropin_dir && !(c.dropin_dir = strdup(DROPIN_DEFAULT_DIR)))
		r = -ENOMEM;
	/* A back-off longer than its longest: the longest, and a warning that says so. */
	if (r >= 0 && c.flap_backoff_max_usec && c.flap_backoff_usec > c.flap_backoff_max_usec) {
		c.flap_backoff_usec = c.flap_backoff_max_usec;
		r = strv_push(&c.warnings, "FlapBackoffSec= is longer than FlapBackoffMaxSec=; "
					   "the back-off is FlapBackoffMaxSec=");
	}
	if (r < 0) {
		if (!*err)
			snprintf(err, errlen, "%s: %s", path ? path : CONFIG_PATH, strerror(-r));
		config_done(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void config_done(struct config *c)
{
	strv_free(c->include_users);
	strv_free(c->exclude_users);
	strv_free(c->authorized_keys);
	free(c->dropin_dir);
	free(c->metrics_dir);
	strv_free(c->exclusive_users);
	strv_free(c->files);
	strv_free(c->warnings);
	*c = (struct config){0};
}
