/*
 * `chaostracing view`: read OTLP JSON lines, one ExportTraceServiceRequest per
 * line, and print each trace as a tree with a waterfall beside it.
 *
 * This file only handles the command line: input.c reads the files through
 * the library's decoder, and the library's renderer (chaostracing/render.h)
 * draws the trees, bars and detail lines. The width comes from --width,
 * else $COLUMNS, else the terminal (TIOCGWINSZ), else DEFAULT_WIDTH.
 */
#include "view.h"
#include "input.h"

#include <chaostracing/render.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define DEFAULT_WIDTH 120 /* output that is not a terminal */
#define MAX_WIDTH 10000

void cli_view_usage(FILE *f)
{
    fputs("usage: chaostracing view [-v] [--trace ID] [--width N] [--no-attrs] [--ascii]\n"
          "                         [--color[=WHEN] | --no-color] FILE...\n"
          "\n"
          "Print the spans in OTLP JSON lines files (one ExportTraceServiceRequest per\n"
          "line, as the file exporter writes them) as one tree per trace, with each\n"
          "span's bar on the trace's time axis beside it, and below a span why it\n"
          "failed (its exceptions) and which probe a deviated hypothesis ran out of\n"
          "tolerance. FILE '-' (or no FILE with a pipe on standard input) reads\n"
          "standard input.\n"
          "\n"
          "  -v, --verbose  also show every attribute, event and link of each span\n"
          "  --trace ID     show only the trace whose id starts with ID (hex digits)\n"
          "  --width N      fit lines to N columns (default: $COLUMNS, else the\n"
          "                 terminal's width, else 120)\n"
          "  --no-attrs     do not show the Chaos Toolkit tags (type, phase, status)\n"
          "                 and the HTTP status code after each span\n"
          "  --ascii        draw with ASCII instead of box-drawing and block characters\n"
          "  --color[=WHEN] colour status, bars and headers: auto (a terminal, NO_COLOR\n"
          "                 unset, TERM not dumb), always (the default of --color) or\n"
          "                 never\n"
          "  --no-color     the same as --color=never\n"
          "\n"
          "Exit status: 0 ok; 1 a file could not be read or is not OTLP JSON lines (a\n"
          "Chaos Toolkit journal, say), or --trace names no trace or several; 2\n"
          "malformed lines or spans were skipped (each reported on stderr as\n"
          "FILE:LINE: ...); 64 usage error.\n",
          f);
}

/* The columns to fit: $COLUMNS, else the terminal's, else DEFAULT_WIDTH. */
static unsigned default_width(void)
{
    const char *env = getenv("COLUMNS");
    if (env && env[0]) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(env, &end, 10);
        if (!errno && *end == '\0' && v > 0 && v <= MAX_WIDTH)
            return (unsigned)v;
    }
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return DEFAULT_WIDTH;
}

/* Parse a --width value; 0 when it is not a number in 1..MAX_WIDTH. */
static unsigned parse_width(const char *v)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    return !errno && end != v && *end == '\0' && v[0] != '-' && n > 0 && n <= MAX_WIDTH
               ? (unsigned)n
               : 0;
}

struct view_args {
    struct ctr_render_options opts;
    int color; /* -1 auto, 0 never, 1 always */
    const char *trace, **files;
    size_t nfiles;
};

/* The options of `view` (cli_option_fn). */
static int take_option(void *ud, int argc, char **argv, int *i, bool *missing)
{
    struct view_args *a = ud;
    const char *arg = argv[*i], *val;
    if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
        a->opts.detail = 2;
    } else if ((val = cli_opt_value(argc, argv, i, "--trace", missing))) {
        a->trace = val;
    } else if ((val = cli_opt_value(argc, argv, i, "--width", missing))) {
        if (!(a->opts.width = parse_width(val))) {
            fprintf(stderr, "chaostracing view: --width wants a number of columns, not '%s'\n",
                    val);
            return CLI_EXIT_USAGE;
        }
    } else if (strcmp(arg, "--no-attrs") == 0) {
        a->opts.attrs = false;
    } else if (strcmp(arg, "--ascii") == 0) {
        a->opts.ascii = true;
    } else if (strcmp(arg, "--color") == 0 || strcmp(arg, "--color=always") == 0) {
        a->color = 1;
    } else if (strcmp(arg, "--color=never") == 0 || strcmp(arg, "--no-color") == 0) {
        a->color = 0;
    } else if (strcmp(arg, "--color=auto") == 0) {
        a->color = -1;
    } else {
        return CLI_OPT_UNKNOWN;
    }
    return CLI_OPT_TAKEN;
}

int cli_view_main(int argc, char **argv)
{
    struct view_args a = {.color = -1};
    ctr_render_options_default(&a.opts);
    a.opts.detail = 1;
    a.files = calloc((size_t)argc + 1, sizeof(*a.files));
    if (!a.files) {
        fputs("chaostracing: out of memory\n", stderr);
        return CLI_EXIT_IO;
    }
    int status =
        cli_parse_args(argc, argv, "view", a.files, &a.nfiles, take_option, &a, cli_view_usage);
    if (status < 0 && a.nfiles == 0) {
        if (isatty(STDIN_FILENO)) {
            fputs("chaostracing view: no FILE given (use '-' for standard input)\n", stderr);
            cli_view_usage(stderr);
            status = CLI_EXIT_USAGE;
        } else {
            a.files[a.nfiles++] = "-";
        }
    }
    if (status >= 0) {
        free(a.files);
        return status;
    }
    if (a.color < 0) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        a.color = isatty(STDOUT_FILENO) && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);
    }
    a.opts.color = a.color == 1;
    if (a.opts.width == 0)
        a.opts.width = default_width();

    struct cli_input in;
    cli_input_init(&in);
    for (size_t i = 0; i < a.nfiles && !in.oom; i++)
        cli_input_read(&in, a.files[i]);
    free(a.files);

    uint8_t id[CTR_TRACE_ID_LEN];
    bool picked = !a.trace || in.oom || cli_pick_trace(&in, "view", a.trace, id);
    if (a.trace && picked)
        a.opts.trace_id = id;
    if (!in.oom && picked) {
        int rc = ctr_render_tree_file(in.data.batches, in.data.n_batches, &a.opts, stdout);
        if (rc == CTR_ENOMEM)
            in.oom = true;
        else if (rc)
            in.io_error = true;
    }
    if (fflush(stdout) != 0)
        in.io_error = true;
    status = cli_input_finish(&in, picked);
    cli_input_free(&in);
    return picked || status ? status : CLI_EXIT_IO;
}
