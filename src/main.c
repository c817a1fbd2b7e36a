#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const char usage_text[] =
	"Usage: sshmend [--root DIR] [--config FILE] COMMAND [ARGS...]\n"
	"\n"
	"Keep the files sshd checks for public-key logins in a state sshd accepts.\n"
	"\n"
	"Commands:\n"
	"  check [--json] [USER...]            report what sshd would refuse, change nothing\n"
	"  fix [--dry-run] [--json] [USER...]  repair modes and owners, then report\n"
	"  daemon                              fix once, then watch and heal, logging to the journal\n"
	"  keys [--json] [USER...]             list each user's keys, fingerprints and status\n"
	"  keys --quarantined [--json] [USER...]\n"
	"                                      list the keys Exclusive= moved to the quarantine\n"
	"  keys --restore USER FINGERPRINT     put a quarantined key back, approved\n"
	"\n"
	"Options:\n"
	"  --root DIR     treat DIR as the root of the file system (a mounted volume)\n"
	"  --config FILE  read FILE instead of /etc/sshmend/sshmend.conf\n"
	"  -h, --help     show this help and exit\n"
	"  -V, --version  show the version and exit\n"
	"\n"
	"Exit status: 0 clean, 1 drift found or a repair refused or failed,\n"
	"2 usage or configuration error.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},   {"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cli_options o = {0};
	int c;

	/* '+' stops at the command, whose own options are parsed by cli.c. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.root = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("sshmend %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fputs("Usage: sshmend [--root DIR] [--config FILE] COMMAND [ARGS...]\n", stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("sshmend: no command given\n"
		      "Usage: sshmend [--root DIR] [--config FILE] COMMAND [ARGS...]\n",
		      stderr);
		return CLI_EXIT_USAGE;
	}
	return cli_dispatch(&o, argc - optind, argv + optind);
}
