/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's counters as a Prometheus text file. */
#include "metrics.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "macro.h"
#include "safeio.h"

void metrics_count_cause(struct metrics_values *v, const char *cause)
{
	size_t i;

	for (i = 0; i < v->n_causes; i++)
		if (strcmp(v->causes[i].cause, cause) == 0)
			break;
	if (i == METRICS_CAUSES_MAX)
		return;
	if (i == v->n_causes)
		v->causes[v->n_causes++] = (struct metrics_cause){.cause = cause};
	v->causes[i].n++;
}

/* The head of a metric: its help and type. */
static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void keys_by_status(FILE *f, const struct metrics_values *v)
{
	head(f, "sshmend_keys", "gauge",
	     "Keys in the users' keys files by status, at each user's last key audit.");
	for (int s = 0; s <= KEY_INVALID; s++)
		fprintf(f, "sshmend_keys{status=\"%s\"} %lu\n", key_status_to_string(s),
			v->keys[s]);
}

int metrics_text(const struct metrics_values *v, char **ret, size_t *len)
{
	FILE *f = open_memstream(ret, len);

	if (!f)
		return -ENOMEM;
	head(f, "sshmend_users", "gauge", "Users whose chains the daemon keeps.");
	fprintf(f, "sshmend_users %lu\n", v->users);
	head(f, "sshmend_users_refused", "gauge",
	     "Users whose keys file sshd would refuse now, as the last check found the chain.");
	fprintf(f, "sshmend_users_refused %lu\n", v->users_refused);
	head(f, "sshmend_repairs_total", "counter", "Repairs of a chain element made.");
	fprintf(f, "sshmend_repairs_total %llu\n", v->repairs);
	head(f, "sshmend_repairs_refused_total", "counter",
	     "Repairs refused (repair-refused entries), each counted once as it was told.");
	fprintf(f, "sshmend_repairs_refused_total %llu\n", v->repairs_refused);
	head(f, "sshmend_logins_refused_total", "counter",
	     "Logins sshd refused, read in its journal, by the cause diagnosed.");
	for (size_t i = 0; i < v->n_causes; i++)
		fprintf(f, "sshmend_logins_refused_total{cause=\"%s\"} %llu\n", v->causes[i].cause,
			v->causes[i].n);
	keys_by_status(f, v);
	head(f, "sshmend_last_full_scan_seconds", "gauge",
	     "How long the last full scan of every user took.");
	fprintf(f, "sshmend_last_full_scan_seconds %llu.%06llu\n",
		(unsigned long long)(v->last_full_scan_usec / 1000000),
		(unsigned long long)(v->last_full_scan_usec % 1000000));
	if (fclose(f) != 0) {
		free(*ret);
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

int metrics_write(int rootfd, const char *dir, const char *text, size_t len)
{
	_cleanup_close_ int dfd = -1;
	struct stat st;
	int r = safe_open_in_root(rootfd, dir, O_PATH | O_DIRECTORY, &dfd);

	for (int attempt = 0; r >= 0 && attempt < 4; attempt++) {
		bool exists = fstatat(dfd, METRICS_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0;
		r = safe_replace_file(dfd, METRICS_FILE, exists ? &st : NULL, text, len, 0, 0, 0644,
				      true);
		if (r != -EAGAIN)
			return r < 0 ? r : 0;
		r = 0;
	}
	return r < 0 ? r : -EAGAIN;
}
