/* The `check` command: send a test trace and report delivery. */
#ifndef CHAOSTRACING_CLI_CHECK_H
#define CHAOSTRACING_CLI_CHECK_H

#include <stdio.h>

#include "view.h"

int cli_check_main(int argc, char **argv);
void cli_check_usage(FILE *f);

#endif
