/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CONFIG_PATH "/etc/sshmend/sshmend.conf"
#define CONFIG_DROPIN_DIR "/etc/sshmend/sshmend.conf.d"

enum policy_mode {
	POLICY_SSHD,
	POLICY_STRICT,
};

enum sshd_flavor {
	FLAVOR_AUTO,
	FLAVOR_UPSTREAM,
	FLAVOR_DEBIAN,
};

enum selinux_mode {
	SELINUX_AUTO, /* judge labels when SELinux is enabled */
	SELINUX_YES,  /* judge them even when it is not (image bakes, rescue volumes) */
	SELINUX_NO,
};

enum diagnose_journal {
	DIAGNOSE_JOURNAL_AUTO, /* yes on the running system, no with --root */
	DIAGNOSE_JOURNAL_YES,
	DIAGNOSE_JOURNAL_NO,
};

struct config {
	char **include_users; /* always checked, whatever their uid or shell */
	char **exclude_users; /* never checked */
	uid_t min_uid;
	bool min_uid_set;
	enum policy_mode mode;
	enum sshd_flavor flavor;
	char **authorized_keys; /* NULL: as sshd_config says */
	enum selinux_mode selinux;
	/* [Keys] */
	char *dropin_dir;
	unsigned min_rsa_bits;
	bool exclusive;
	char **exclusive_users;
	/* [Daemon], in microseconds and counts */
	unsigned long long rescan_usec;
	unsigned long long fallback_scan_usec;
	unsigned flap_threshold;
	unsigned long long flap_window_usec;
	unsigned long long flap_backoff_usec;
	unsigned long long flap_backoff_max_usec;
	unsigned log_burst;
	unsigned log_user_burst;
	unsigned log_ceiling;
	unsigned long long log_interval_usec;
	char *metrics_dir; /* NULL: no metrics file */
	/* [Diagnose] */
	enum diagnose_journal diagnose_journal;
	unsigned long long noise_summary_usec;
	char **files;	 /* files read, for the watcher */
	char **warnings; /* "FILE:LINE: ..." for unknown keys and sections */
};

/*
 * Load sshmend's configuration: with PATH NULL, CONFIG_PATH and then
 * CONFIG_DROPIN_DIR/\*.conf in name order (later wins) inside ROOTFD; otherwise only
 * PATH, a path on the running system. Files must be root's and not writable by group
 * or others. On a bad value returns -EINVAL with "FILE:LINE: why" in ERR.
 */
int config_load(int rootfd, const char *path, struct config *ret, char *err, size_t errlen);
void config_done(struct config *c);

/* Parse one file's text into C; exposed for the unit tests. */
int config_parse_text(struct config *c, const char *file, char *text, char *err, size_t errlen);

/* The I-th key the parser accepts; false past the last. */
bool config_key_at(size_t i, const char **section, const char **key);
