/*
 * Reading trace files for `view` and `report`: OTLP JSON lines from files or
 * standard input into the library's trace data, with the problems reported
 * as FILE:LINE: ... on stderr (the first MAX_MESSAGES, the rest counted), a
 * clear verdict for a file that is not OTLP JSON lines at all (a Chaos
 * Toolkit journal or experiment, another JSON document), and the options
 * both commands share.
 */
#ifndef CHAOSTRACING_CLI_INPUT_H
#define CHAOSTRACING_CLI_INPUT_H

#include <chaostracing/decode.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cli_input {
    struct ctr_trace_data data;
    unsigned long bad_lines, bad_spans;
    unsigned long messages; /* problems found, printed or not */
    bool io_error;          /* a file could not be read */
    bool not_traces;        /* a file was JSON of another kind */
    bool oom;
    /* Private: the file being read. */
    const char *src;
    unsigned long lineno, requests, ignored, file_bad_lines;
    struct ctr_buf head;    /* its text while no request was found */
    bool head_full;         /* it was too long to keep */
    struct ctr_buf pending; /* its messages, held until its end */
    unsigned long n_pending;
};

/* Initialise; cannot fail. */
void cli_input_init(struct cli_input *in);

/* Read every line of `path` ("-" = stdin). Returns false when it cannot be
 * opened or read (reported on stderr, in->io_error set). */
bool cli_input_read(struct cli_input *in, const char *path);

/* Print the closing messages ("out of memory", "no spans found", the count
 * of skipped lines and spans) and return the exit status: CLI_EXIT_IO when a
 * file could not be read, was not OTLP JSON or memory ran out, else
 * CLI_EXIT_SKIPPED when lines or spans were skipped, else CLI_EXIT_OK. */
int cli_input_finish(struct cli_input *in, bool shown);

void cli_input_free(struct cli_input *in);

/*
 * A command's own options: called with argv[*i], an argument that starts
 * with '-'. Returns CLI_OPT_TAKEN (advancing *i past a value it takes),
 * CLI_OPT_UNKNOWN, or an exit status after reporting a bad value. Sets
 * *missing when the option wants a value that is not there.
 */
enum { CLI_OPT_TAKEN = -1, CLI_OPT_UNKNOWN = -2 };
typedef int (*cli_option_fn)(void *ud, int argc, char **argv, int *i, bool *missing);

/*
 * Parse argv[1..argc) of command `cmd`: operands ("-", arguments that do not
 * start with '-', everything after "--") go to files[*nfiles...] (room for
 * argc entries), -h/--help prints `usage` to stdout, the rest goes to `take`.
 * Returns -1 to go on, else the exit status (help shown: 0; an unknown
 * option or a missing value reported with the usage: CLI_EXIT_USAGE).
 */
int cli_parse_args(int argc, char **argv, const char *cmd, const char **files, size_t *nfiles,
                   cli_option_fn take, void *ud, void (*usage)(FILE *));

/*
 * An option with a value at argv[*i]: "--name VALUE" (the value is the next
 * argument, *i is advanced) or "--name=VALUE". Returns the value, or NULL
 * when argv[*i] is not that option; a missing value is reported as a usage
 * error by setting *missing.
 */
const char *cli_opt_value(int argc, char **argv, int *i, const char *name, bool *missing);

/*
 * The one trace `prefix` (hex digits) names among the decoded spans, into
 * id; prints why on stderr ("no trace", "N traces match: ...") and returns
 * false when it names none or several. `cmd` prefixes the messages.
 */
bool cli_pick_trace(const struct cli_input *in, const char *cmd, const char *prefix,
                    uint8_t id[CTR_TRACE_ID_LEN]);

#endif
