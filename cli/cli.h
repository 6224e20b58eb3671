/*
 * The `chaostracing` command as a function, so that two programs share it:
 * the standalone binary (standalone.c, `make cli`) and the console script
 * that pip installs (python/cli/entry.c, the module chaostracing._cli).
 */
#ifndef CHAOSTRACING_CLI_CLI_H
#define CHAOSTRACING_CLI_CLI_H

/* Run the command line `argv` (argv[0] is the program name, argv[argc] is
 * NULL). Prints to stdout and stderr and returns the process exit status
 * (the CLI_EXIT_* codes of view.h). Not reentrant: getopt keeps global
 * state, so one call at a time. */
int cli_main(int argc, char **argv);

#endif
