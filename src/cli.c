#include <stdio.h>
#include <string.h>
#include "cli.h"

int cli_dispatch(const struct cli_options *o, int argc, char **argv)
{
	(void)o;
	(void)argc;
	fprintf(stderr, "sshmend: unknown command '%s'\n"
			"Usage: sshmend [--root DIR] [--config FILE] COMMAND [ARGS...]\n",
		argv[0]);
	return CLI_EXIT_USAGE;
}
