#pragma once

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_DRIFT = 1,
	CLI_EXIT_USAGE = 2,
};

struct cli_options {
	const char *root;
	const char *config;
};

/* Run COMMAND (argv[0]) with its arguments; returns the process exit status. */
int cli_dispatch(const struct cli_options *o, int argc, char **argv);
