/*
 * The `chaostracing` command: a table of subcommands, each a function that
 * takes the arguments from its own name on and returns the exit status.
 */
#include "check.h"
#include "replay.h"
#include "report.h"
#include "cli.h"
#include "view.h"

#include <chaostracing/common.h>

#include <curl/curl.h>

#include <stdio.h>
#include <string.h>

/* Print the tool's version and the libcurl it runs with. Always 0. */
static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("chaostracing %s\n", CTR_VERSION);
    if (cv) {
        printf("libcurl %s", cv->version);
        if (cv->ssl_version && cv->ssl_version[0])
            printf(" (%s", cv->ssl_version);
        if (cv->libz_version && cv->libz_version[0])
            printf("%szlib/%s", cv->ssl_version && cv->ssl_version[0] ? ", " : " (",
                   cv->libz_version);
        if ((cv->ssl_version && cv->ssl_version[0]) || (cv->libz_version && cv->libz_version[0]))
            fputc(')', stdout);
        fputc('\n', stdout);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
}

static int cmd_help(int argc, char **argv);

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"view", cli_view_main, "print OTLP JSON lines files as span trees with a waterfall"},
    {"report", cli_report_main, "write a trace as a self-contained HTML page"},
    {"check", cli_check_main, "send a test trace and report whether it was delivered"},
    {"replay", cli_replay_main, "send the spans earlier runs spooled"},
    {"version", cmd_version, "print the version of chaostracing and libcurl"},
    {"help", cmd_help, "show this help, or a command's help"},
};

/* The tool's usage on `f`. */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: chaostracing COMMAND [ARGS...]\n"
            "\n"
            "Tracing for the Chaos Toolkit, version %s.\n"
            "\n"
            "commands:\n",
            CTR_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'chaostracing help COMMAND' or 'chaostracing COMMAND --help' shows a command's "
          "options.\n",
          f);
}

/* `help [COMMAND]`: general usage, or the named command's. */
static int cmd_help(int argc, char **argv)
{
    (void)argv;
    if (argc > 1 && strcmp(argv[1], "view") == 0) {
        cli_view_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "report") == 0) {
        cli_report_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "check") == 0) {
        cli_check_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "replay") == 0) {
        cli_replay_usage(stdout);
        return CLI_EXIT_OK;
    }
    usage(stdout);
    return CLI_EXIT_OK;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0)
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "chaostracing: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
