/*
 * `chaostracing report TRACEFILE... [-o report.html]`: read OTLP JSON lines
 * as `view` does (input.c) and write one trace as a self-contained HTML page
 * with the library's report renderer (ctr_render_report).
 */
#include "report.h"
#include "input.h"
#include "view.h"

#include <chaostracing/render.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_report_usage(FILE *f)
{
    fputs("usage: chaostracing report [-o FILE] [--trace ID] [--title TEXT] TRACEFILE...\n"
          "\n"
          "Write one trace of OTLP JSON lines files (as the file exporter writes them)\n"
          "as a self-contained HTML page: the experiment's phases and activities as bars\n"
          "on one time axis, the windows of actions shaded across it, hypothesis\n"
          "results, and each span's attributes, events and exception on a click. The\n"
          "page needs no network: open it from disk or attach it to a CI run.\n"
          "TRACEFILE '-' reads standard input.\n"
          "\n"
          "  -o, --output FILE  where to write ('-': standard output); default: the\n"
          "                     first TRACEFILE with its extension replaced by .html\n"
          "  --trace ID         the trace whose id starts with ID (hex digits); default:\n"
          "                     the one that started last\n"
          "  --title TEXT       the page's title; default: the experiment's\n"
          "\n"
          "Exit status: 0 written; 1 a file could not be read or written, is not OTLP\n"
          "JSON lines, holds no span, or --trace names no trace or several; 2 written,\n"
          "but malformed lines or spans were skipped; 64 usage error.\n",
          f);
}

/* The default output: `in` without its .jsonl/.json/.ndjson extension, plus
 * ".html". NULL for standard input or out of memory. */
static char *default_output(const char *in)
{
    static const char *const exts[] = {".jsonl", ".ndjson", ".json"};
    if (strcmp(in, "-") == 0)
        return NULL;
    size_t n = strlen(in);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strcmp(in + n - e, exts[i]) == 0 && in[n - e - 1] != '/') {
            n -= e;
            break;
        }
    }
    char *out = malloc(n + 6);
    if (out) {
        memcpy(out, in, n);
        memcpy(out + n, ".html", 6);
    }
    return out;
}

/* Write `b` to `path` ("-": stdout); false after reporting why not. A file
 * that could not be written whole is removed. */
static bool write_out(const char *path, const struct ctr_buf *b)
{
    bool is_stdout = strcmp(path, "-") == 0;
    FILE *f = is_stdout ? stdout : fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "chaostracing report: cannot write %s: %s\n", path, strerror(errno));
        return false;
    }
    bool ok = fwrite(b->data, 1, b->len, f) == b->len;
    ok = (is_stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "chaostracing report: cannot write %s: %s\n", path, strerror(errno));
        if (!is_stdout)
            unlink(path);
    }
    return ok;
}

struct report_args {
    const char *output, *trace, *title, **files;
    size_t nfiles;
};

/* The options of `report` (cli_option_fn). */
static int take_option(void *ud, int argc, char **argv, int *i, bool *missing)
{
    struct report_args *a = ud;
    const char *val;
    if ((val = cli_opt_value(argc, argv, i, "-o", missing)) ||
        (val = cli_opt_value(argc, argv, i, "--output", missing)))
        a->output = val;
    else if ((val = cli_opt_value(argc, argv, i, "--trace", missing)))
        a->trace = val;
    else if ((val = cli_opt_value(argc, argv, i, "--title", missing)))
        a->title = val;
    else
        return CLI_OPT_UNKNOWN;
    return CLI_OPT_TAKEN;
}

/* Render the chosen trace and write it. Returns false after reporting. */
static bool report(const struct cli_input *in, const struct report_args *a, const char *output)
{
    struct ctr_report_options o;
    uint8_t id[CTR_TRACE_ID_LEN];
    size_t traces = 0;
    ctr_report_options_default(&o);
    o.title = a->title;
    if (a->trace) {
        if (!cli_pick_trace(in, "report", a->trace, id))
            return false;
        o.trace_id = id;
    } else if (ctr_render_match_traces(in->data.batches, in->data.n_batches, "", &id, 0, &traces) ==
                   0 &&
               traces > 1) {
        fprintf(stderr,
                "chaostracing report: %zu traces read; the report shows the one that "
                "started last (--trace ID picks another)\n",
                traces);
    }
    struct ctr_buf page = {0};
    int rc = ctr_render_report(in->data.batches, in->data.n_batches, &o, &page);
    bool ok = rc == 0 && write_out(output, &page);
    if (rc)
        fprintf(stderr, "chaostracing report: %s\n", ctr_strerror(rc));
    else if (ok)
        fprintf(strcmp(output, "-") == 0 ? stderr : stdout, "report: %s\n", output);
    ctr_buf_free(&page);
    return ok;
}

int cli_report_main(int argc, char **argv)
{
    struct report_args a = {0};
    a.files = calloc((size_t)argc + 1, sizeof(*a.files));
    if (!a.files) {
        fputs("chaostracing: out of memory\n", stderr);
        return CLI_EXIT_IO;
    }
    int status =
        cli_parse_args(argc, argv, "report", a.files, &a.nfiles, take_option, &a, cli_report_usage);
    if (status < 0 && a.nfiles == 0) {
        fputs("chaostracing report: no TRACEFILE given (use '-' for standard input)\n", stderr);
        cli_report_usage(stderr);
        status = CLI_EXIT_USAGE;
    }
    char *made = NULL;
    if (status < 0 && !a.output && !(a.output = made = default_output(a.files[0]))) {
        fputs("chaostracing report: give -o FILE when reading standard input\n", stderr);
        status = CLI_EXIT_USAGE;
    }
    if (status >= 0) {
        free(a.files);
        return status;
    }
    struct cli_input in;
    cli_input_init(&in);
    for (size_t i = 0; i < a.nfiles && !in.oom; i++)
        cli_input_read(&in, a.files[i]);
    bool ok = !in.oom && !in.io_error && !in.not_traces && in.data.n_spans > 0 &&
              report(&in, &a, a.output);
    status = cli_input_finish(&in, true);
    cli_input_free(&in);
    free(made);
    free(a.files);
    return ok || status ? status : CLI_EXIT_IO;
}
