/* The `replay` command: send the spans earlier runs spooled. */
#ifndef CHAOSTRACING_CLI_REPLAY_H
#define CHAOSTRACING_CLI_REPLAY_H

#include <stdio.h>

int cli_replay_main(int argc, char **argv);
void cli_replay_usage(FILE *f);

#endif
