/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_DRIFT = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_BUSY = 3, /* daemon: another one runs on the same root */
};

struct cli_options {
	const char *root;
	const char *config;
	bool help;    /* -h or --help before the command */
	bool version; /* -V or --version anywhere */
};

/*
 * Take the global options (--root, --config, --version; -h and --help before the command
 * only, after it they are the command's) out of ARGV, wherever they stand, as systemctl does;
 * "--" after the command ends them. Returns the new argc (ARGV[1] is then the command, if
 * any), or -EINVAL when an option is unknown or lacks its argument (told on stderr).
 */
int cli_parse_globals(int argc, char **argv, struct cli_options *o);

/* Run COMMAND (argv[0]) with its arguments; returns the process exit status. */
int cli_dispatch(const struct cli_options *o, int argc, char **argv);
