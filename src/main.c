/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include "cli.h"

#define USAGE_LINE "Usage: sshmend [--root DIR] [--config FILE] COMMAND [ARGS...]\n"

static const char usage_text[] = USAGE_LINE
    "\n"
    "Keep the files sshd checks for public-key logins in a state sshd accepts.\n"
    "\n"
    "Commands:\n"
    "  check [--json] [--strict] [USER...]\n"
    "                                      report what sshd would refuse, change nothing\n"
    "  fix [--dry-run] [--json] [--strict] [USER...]\n"
    "                                      repair modes and owners, then report\n"
    "  daemon                              fix once, then watch and heal, logging to the journal\n"
    "  keys [--json] [USER...]             list each user's keys, fingerprints and status\n"
    "  keys --quarantined [--json] [USER...]\n"
    "                                      list the keys Exclusive= moved to the quarantine\n"
    "  keys --restore USER FINGERPRINT     put a quarantined key back, approved\n"
    "  why USER [--key FILE|-] [--from ADDR] [--json]\n"
    "                                      say why sshd would refuse a key login as USER\n"
    "  (--strict: a warning about the configuration fails the run, exit 1)\n"
    "\n"
    "Options:\n"
    "  --root DIR     treat DIR as the root of the file system (a mounted volume)\n"
    "  --config FILE  read FILE instead of /etc/sshmend/sshmend.conf\n"
    "  -h, --help     show this help and exit\n"
    "  -V, --version  show the version and exit\n"
    "Global options may also follow the command.\n"
    "\n"
    "Exit status: 0 clean, 1 drift found, a repair refused or failed, or with --strict a\n"
    "configuration warning, 2 usage or configuration error, 3 another daemon runs on the\n"
    "same root.\n";

int main(int argc, char **argv)
{
	struct cli_options o = {0};
	int n = cli_parse_globals(argc, argv, &o);

	if (n < 0) {
		fputs(USAGE_LINE, stderr);
		return CLI_EXIT_USAGE;
	}
	if (o.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (o.version) {
		printf("sshmend %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (n < 2) {
		fputs("sshmend: no command given\n" USAGE_LINE, stderr);
		return CLI_EXIT_USAGE;
	}
	return cli_dispatch(&o, n - 1, argv + 1);
}
