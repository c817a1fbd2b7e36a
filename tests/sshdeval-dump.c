/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Print sshd_settings_eval()'s answer in the format of `sshd -T`, for comparison with the real
 * sshd. Usage:
 *   sshdeval-dump [-r] [-V VERSION] [-d DEFAULT-ALGORITHMS] [-a ALL-ALGORITHMS] -f FILE
 *                 -C user=U,host=H,addr=A,laddr=L,lport=P [-C ...]
 * VERSION is what `sshd -V` printed ("OpenSSH_9.2p1 ..."). Each -C is answered in turn, after a
 * line "== SPEC". With -r, the answer is whether AllowUsers and its kin let the user in:
 * "allowed", or "refused: " and sshd's sentence. The user's groups come from NSS, as sshd
 * takes them. An error prints "error: WHY" for that -C and makes the exit status 1.
 */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sshdeval.h"
#include "strv.h"

#define MAX_GROUPS 256

static char *field(const char *spec, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = spec; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return strndup(p + n + 1, strcspn(p + n + 1, ","));
	return NULL;
}

static char **user_groups(const char *user)
{
	struct passwd *pw = user ? getpwnam(user) : NULL;
	gid_t gids[MAX_GROUPS];
	int n = MAX_GROUPS;
	char **l = NULL;

	if (!pw)
		return NULL;
	l = calloc(1, sizeof(char *));
	if (getgrouplist(user, pw->pw_gid, gids, &n) < 0)
		n = 0;
	for (int i = 0; i < n; i++) {
		struct group *gr = getgrgid(gids[i]);

		if (gr)
			strv_push(&l, gr->gr_name);
	}
	return l;
}

static void print_list(const char *kw, char *const *l, const char *none)
{
	printf("%s", kw);
	for (size_t i = 0; l && l[i]; i++)
		printf(" %s", l[i]);
	printf("%s\n", l && l[0] ? "" : none);
}

static void print_settings(const struct sshd_settings *s)
{
	static const char *const root[] = {"yes", "without-password", "forced-commands-only", "no"};
	const char *opt[] = {s->authorized_keys_command, s->authorized_keys_command_user,
			     s->trusted_user_ca_keys, s->authorized_principals_file};
	const char *optkw[] = {"authorizedkeyscommand", "authorizedkeyscommanduser",
			       "trustedusercakeys", "authorizedprincipalsfile"};
	char *const *lists[] = {s->allow_users, s->deny_users, s->allow_groups, s->deny_groups};
	const char *listkw[] = {"allowusers", "denyusers", "allowgroups", "denygroups"};

	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; lists[i] && lists[i][j]; j++)
			printf("%s %s\n", listkw[i], lists[i][j]);
	printf("permitrootlogin %s\n", root[s->permit_root_login]);
	printf("pubkeyauthentication %s\n", s->pubkey_authentication ? "yes" : "no");
	print_list("authenticationmethods", s->authentication_methods, " any");
	printf("pubkeyacceptedalgorithms ");
	for (size_t i = 0; s->pubkey_accepted_algorithms[i]; i++)
		printf("%s%s", i ? "," : "", s->pubkey_accepted_algorithms[i]);
	printf("\n");
	printf("requiredrsasize %d\n", s->required_rsa_size);
	print_list("authorizedkeysfile", s->authorized_keys_files, " none");
	for (size_t i = 0; i < 4; i++)
		printf("%s %s\n", optkw[i], opt[i] ? opt[i] : "none");
	print_list("revokedkeys", s->revoked_keys_files, " none");
	printf("strictmodes %s\n", s->strict_modes ? "yes" : "no");
	printf("usepam %s\n", s->use_pam ? "yes" : "no");
	printf("loglevel %s\n", s->log_level);
	printf("usedns %s\n", s->use_dns ? "yes" : "no");
	printf("chrootdirectory %s\n", s->chroot_directory ? s->chroot_directory : "none");
}

static bool refusals;

static int answer(int rootfd, const char *file, const char *spec, const struct sshd_build *b)
{
	char *user = field(spec, "user"), *host = field(spec, "host"), *addr = field(spec, "addr");
	char *laddr = field(spec, "laddr"), *lport = field(spec, "lport");
	char **groups = user_groups(user);
	struct sshd_conn c = {
	    .user = user,
	    .groups = (const char *const *)groups,
	    .host = host,
	    .addr = addr,
	    .laddr = laddr,
	    .lport = lport ? atoi(lport) : 0,
	};
	struct sshd_settings s;
	char err[4400] = "";
	int r;

	printf("== %s\n", spec);
	r = sshd_settings_eval_build(rootfd, "", file, &c, b, &s, err, sizeof(err));
	if (r < 0) {
		printf("error: %s\n", err);
	} else if (refusals) {
		char why[512];

		if (sshd_settings_refuse_user(&s, &c, why, sizeof(why)))
			printf("refused: %s\n", why);
		else
			printf("allowed\n");
		sshd_settings_done(&s);
	} else {
		print_settings(&s);
		sshd_settings_done(&s);
	}
	strv_free(groups);
	free(user);
	free(host);
	free(addr);
	free(laddr);
	free(lport);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	struct sshd_build b = {0};
	char **specs = NULL;
	int opt, rootfd, status = 0;

	while ((opt = getopt(argc, argv, "f:C:d:a:V:r")) != -1) {
		switch (opt) {
		case 'f':
			file = optarg;
			break;
		case 'C':
			strv_push(&specs, optarg);
			break;
		case 'd':
			b.default_algorithms = optarg;
			break;
		case 'a':
			b.all_algorithms = optarg;
			break;
		case 'r':
			refusals = true;
			break;
		case 'V':
			if (sshd_version_parse(optarg, &b.version) < 0)
				return 2;
			break;
		default:
			return 2;
		}
	}
	if (!file || !specs) {
		fprintf(stderr, "usage: sshdeval-dump [-r] [-V VERSION] [-d DEF] [-a ALL] -f FILE "
				"-C SPEC...\n");
		return 2;
	}
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return 2;
	for (size_t i = 0; specs[i]; i++)
		status |= answer(rootfd, file, specs[i], &b);
	strv_free(specs);
	close(rootfd);
	return status;
}
