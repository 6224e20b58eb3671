/*
 * `chaostracing view`: print OTLP JSON lines (the file exporter's output) as
 * one span tree per trace, with a waterfall beside it; and the exit codes
 * every command shares.
 */
#ifndef CHAOSTRACING_CLI_VIEW_H
#define CHAOSTRACING_CLI_VIEW_H

#include <stdio.h>

/* Exit codes of the command. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_IO = 1,      /* a file could not be read or used (or out of memory) */
    CLI_EXIT_SKIPPED = 2, /* some lines or spans were malformed and skipped */
    CLI_EXIT_USAGE = 64,  /* bad command line */
};

/* Run the command; argv[0] is "view". Returns the process exit code. */
int cli_view_main(int argc, char **argv);

/* Print the command's usage to `f`. */
void cli_view_usage(FILE *f);

#endif
