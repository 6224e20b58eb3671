/* The `report` command: a trace file as a self-contained HTML page. */
#ifndef CHAOSTRACING_CLI_REPORT_H
#define CHAOSTRACING_CLI_REPORT_H

#include <stdio.h>

int cli_report_main(int argc, char **argv);
void cli_report_usage(FILE *f);

#endif
