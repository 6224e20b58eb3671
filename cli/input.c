/*
 * Reading trace files for `view` and `report` (see input.h). Each line goes
 * to the library's OTLP JSON decoder. A file's problems are held until its
 * end: when no line of it was a request, its whole text is looked at once
 * more (ctr_json_kind), and a pretty-printed request is decoded, while a
 * Chaos Toolkit journal, an experiment or another JSON document gets one
 * clear message instead of a complaint per line.
 */
#include "input.h"
#include "view.h"

#include <chaostracing/render.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE ((size_t)256 * 1024 * 1024) /* longer lines are skipped */
#define MAX_HEAD ((size_t)64 * 1024 * 1024)  /* text kept to look at again */
#define READ_CHUNK ((size_t)1 << 20)
#define MAX_MESSAGES 20 /* problems printed before going quiet */
#define MAX_LISTED 5    /* traces named when a prefix matches several */

void cli_input_init(struct cli_input *in)
{
    memset(in, 0, sizeof *in);
    ctr_trace_data_init(&in->data);
}

void cli_input_free(struct cli_input *in)
{
    ctr_trace_data_free(&in->data);
    ctr_buf_free(&in->head);
    ctr_buf_free(&in->pending);
}

/* ------------------------------------------------------------ messages -- */

/* Hold a problem with the current line until the end of the file; only the
 * first MAX_MESSAGES of the whole run are ever printed. */
static void
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    report(struct cli_input *in, const char *fmt, ...)
{
    in->n_pending++;
    if (in->messages + in->n_pending > MAX_MESSAGES + 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    char msg[600];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctr_buf_printf(&in->pending, "%s:%lu: %s\n", in->src, in->lineno, msg);
}

/* Print the held problems (up to the limit) and count them. */
static void flush_pending(struct cli_input *in)
{
    size_t at = 0;
    for (unsigned long k = 0; k < in->n_pending; k++) {
        in->messages++;
        if (in->messages > MAX_MESSAGES) {
            if (in->messages == MAX_MESSAGES + 1)
                fprintf(stderr, "chaostracing: more problems; only the first %d are shown\n",
                        MAX_MESSAGES);
            continue;
        }
        const uint8_t *nl = memchr(in->pending.data + at, '\n', in->pending.len - at);
        if (!nl)
            continue; /* the text could not be kept (out of memory) */
        size_t n = (size_t)(nl - in->pending.data) - at + 1;
        fwrite(in->pending.data + at, 1, n, stderr);
        at += n;
    }
    ctr_buf_reset(&in->pending);
    in->n_pending = 0;
}

/* The decoder's on_skip: a malformed span of the current line. */
static void span_skipped(void *ud, size_t span_no, const char *reason)
{
    struct cli_input *in = ud;
    in->bad_spans++;
    report(in, "span %zu skipped: %s", span_no, reason);
}

/* ---------------------------------------------------------- one line -- */

/* Decode one input line. Blank lines are ignored; so are JSON objects that
 * are not requests (unknown members are ignored in OTLP JSON), while other
 * JSON values and invalid lines are reported and counted. */
static void process_line(struct cli_input *in, const char *line, size_t len)
{
    if (in->lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
        line += 3; /* a byte order mark some editors add */
        len -= 3;
    }
    if (in->requests == 0 && !in->head_full) {
        if (in->head.len + len + 1 > MAX_HEAD) {
            in->head_full = true;
            ctr_buf_free(&in->head);
        } else {
            ctr_buf_append(&in->head, line, len);
            ctr_buf_putc(&in->head, '\n');
        }
    }
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return;
    char err[256];
    int rc = ctr_trace_data_append_line(&in->data, line, len, err, sizeof err);
    if (rc == 0) {
        if (in->requests++ == 0)
            ctr_buf_free(&in->head);
        return;
    }
    if (rc == CTR_EFORMAT && line[i] == '{') {
        in->ignored++;
        return;
    }
    if (rc == CTR_ENOMEM) {
        in->oom = true;
        return;
    }
    in->file_bad_lines++;
    report(in, "%s; line skipped", err);
}

/* At the end of a file none of whose lines was a request: decide from its
 * whole text whether it is a request after all (decoded now), JSON of
 * another kind (one message), or just bad lines (their messages). */
static void judge_file(struct cli_input *in)
{
    enum ctr_json_kind kind = CTR_JSON_NOT_JSON;
    if (in->requests || in->head_full || in->head.err || (!in->file_bad_lines && !in->ignored))
        return;
    int rc = ctr_json_kind((const char *)in->head.data, in->head.len, 0, &kind);
    if (rc == CTR_ENOMEM)
        in->oom = true;
    if (rc || kind == CTR_JSON_NOT_JSON || (kind == CTR_JSON_OTHER && !in->file_bad_lines))
        return;
    /* The per-line complaints were about fragments of one document. */
    in->file_bad_lines = 0;
    ctr_buf_reset(&in->pending);
    in->n_pending = 0;
    if (kind == CTR_JSON_REQUEST) {
        /* A request written over several lines (pretty-printed); its
         * problems, if any, are reported at its first line. */
        char err[256];
        in->lineno = 1;
        rc = ctr_trace_data_append_line(&in->data, (const char *)in->head.data, in->head.len, err,
                                        sizeof err);
        in->oom |= rc == CTR_ENOMEM;
    } else {
        const char *what = kind == CTR_JSON_CTK_JOURNAL ? "it looks like a Chaos Toolkit journal"
                           : kind == CTR_JSON_CTK_EXPERIMENT
                               ? "it looks like a Chaos Toolkit experiment"
                               : "it is one JSON document, not JSON lines";
        fprintf(stderr,
                "chaostracing: %s is not an OTLP JSON trace file (%s): all of its %lu line%s "
                "skipped. Give the file the control's file exporter writes "
                "(tracing_opentelemetry_file_path, one ExportTraceServiceRequest per line).\n",
                in->src, what, in->lineno, in->lineno == 1 ? " was" : "s were");
        in->not_traces = true;
    }
}

/* --------------------------------------------------------- line reader -- */

struct reader {
    FILE *f;
    char *buf;
    size_t cap;
    size_t start; /* first unread byte */
    size_t end;   /* one past the last byte read */
    bool eof;
};

enum { READ_LINE = 1, READ_EOF = 0, READ_ERROR = -1, READ_TOO_LONG = 2, READ_NOMEM = -2 };

/*
 * Next line of the input, without its '\n' and NUL-terminated in place, valid
 * until the next call. Lines longer than MAX_LINE are consumed and reported as
 * READ_TOO_LONG. Returns READ_LINE, READ_TOO_LONG, READ_EOF, READ_ERROR
 * (errno set) or READ_NOMEM.
 */
static int read_line(struct reader *r, char **line, size_t *len)
{
    bool discarding = false;
    for (;;) {
        size_t avail = r->end - r->start;
        char *s = r->buf + r->start;
        char *nl = avail ? memchr(s, '\n', avail) : NULL;
        if (nl) {
            r->start = (size_t)(nl - r->buf) + 1;
            if (discarding)
                return READ_TOO_LONG;
            *nl = '\0';
            *line = s;
            *len = (size_t)(nl - s);
            return READ_LINE;
        }
        if (discarding || avail > MAX_LINE) {
            discarding = true;
            r->start = r->end = 0;
            avail = 0;
        }
        if (r->eof) {
            if (discarding)
                return READ_TOO_LONG;
            if (avail == 0)
                return READ_EOF;
            s[avail] = '\0'; /* the buffer always keeps one spare byte */
            *line = s;
            *len = avail;
            r->start = r->end;
            return READ_LINE;
        }
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, avail);
            r->start = 0;
            r->end = avail;
        }
        if (r->cap - r->end < READ_CHUNK / 4 + 1) {
            size_t ncap = r->cap ? r->cap * 2 : READ_CHUNK;
            char *nb = realloc(r->buf, ncap);
            if (!nb)
                return READ_NOMEM;
            r->buf = nb;
            r->cap = ncap;
        }
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end - 1, r->f);
        r->end += got;
        if (got == 0) {
            if (ferror(r->f))
                return READ_ERROR;
            r->eof = true;
        }
    }
}

bool cli_input_read(struct cli_input *in, const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    struct reader r = {0};
    r.f = is_stdin ? stdin : fopen(path, "rb");
    if (!r.f) {
        fprintf(stderr, "chaostracing: cannot read %s: %s\n", path, strerror(errno));
        in->io_error = true;
        return false;
    }
    in->data.on_skip = span_skipped;
    in->data.on_skip_ud = in;
    in->src = is_stdin ? "<stdin>" : path;
    in->lineno = in->requests = in->ignored = in->file_bad_lines = 0;
    in->head_full = false;
    ctr_buf_free(&in->head);
    bool ok = true;
    for (;;) {
        char *line;
        size_t len;
        errno = 0;
        int rc = read_line(&r, &line, &len);
        if (rc == READ_EOF)
            break;
        if (rc == READ_ERROR || rc == READ_NOMEM) {
            fprintf(stderr, "chaostracing: cannot read %s: %s\n", path,
                    rc == READ_NOMEM ? "out of memory" : strerror(errno ? errno : EIO));
            ok = false;
            break;
        }
        in->lineno++;
        if (rc == READ_TOO_LONG) {
            in->file_bad_lines++;
            in->head_full = true;
            ctr_buf_free(&in->head);
            report(in, "line longer than %zu MiB; skipped", MAX_LINE >> 20);
            continue;
        }
        process_line(in, line, len);
        if (in->oom)
            break;
    }
    free(r.buf);
    if (!is_stdin)
        fclose(r.f);
    if (ok && !in->oom)
        judge_file(in);
    ctr_buf_free(&in->head);
    in->bad_lines += in->file_bad_lines;
    flush_pending(in);
    in->io_error |= !ok;
    return ok;
}

int cli_input_finish(struct cli_input *in, bool shown)
{
    if (in->oom)
        fputs("chaostracing: out of memory\n", stderr);
    else if (in->data.n_spans == 0 && !in->io_error && !in->not_traces && shown)
        fputs("chaostracing: no spans found\n", stderr);
    if (in->bad_lines || in->bad_spans)
        fprintf(stderr, "chaostracing: skipped %lu malformed line%s and %lu malformed span%s\n",
                in->bad_lines, in->bad_lines == 1 ? "" : "s", in->bad_spans,
                in->bad_spans == 1 ? "" : "s");
    if (in->io_error || in->oom || in->not_traces)
        return CLI_EXIT_IO;
    if (in->bad_lines || in->bad_spans)
        return CLI_EXIT_SKIPPED;
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------- options -- */

const char *cli_opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int cli_parse_args(int argc, char **argv, const char *cmd, const char **files, size_t *nfiles,
                   cli_option_fn take, void *ud, void (*usage)(FILE *))
{
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool missing = false;
        int rc;
        if (opts_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
            files[(*nfiles)++] = arg;
        } else if (strcmp(arg, "--") == 0) {
            opts_done = true;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if ((rc = take(ud, argc, argv, &i, &missing)) == CLI_OPT_UNKNOWN) {
            if (missing)
                fprintf(stderr, "chaostracing %s: option '%s' needs a value\n", cmd, arg);
            else
                fprintf(stderr, "chaostracing %s: unknown option '%s'\n", cmd, arg);
            usage(stderr);
            return CLI_EXIT_USAGE;
        } else if (rc != CLI_OPT_TAKEN) {
            return rc;
        }
    }
    return -1;
}

bool cli_pick_trace(const struct cli_input *in, const char *cmd, const char *prefix,
                    uint8_t id[CTR_TRACE_ID_LEN])
{
    uint8_t ids[MAX_LISTED][CTR_TRACE_ID_LEN];
    size_t count = 0;
    int rc = ctr_render_match_traces(in->data.batches, in->data.n_batches, prefix, ids, MAX_LISTED,
                                     &count);
    if (rc == CTR_EINVAL) {
        fprintf(stderr,
                "chaostracing %s: --trace wants the hex digits a trace id starts with, "
                "not '%s'\n",
                cmd, prefix);
        return false;
    }
    if (rc) {
        fprintf(stderr, "chaostracing %s: %s\n", cmd, ctr_strerror(rc));
        return false;
    }
    if (count == 1) {
        memcpy(id, ids[0], CTR_TRACE_ID_LEN);
        return true;
    }
    size_t total = 0;
    if (count == 0) {
        ctr_render_match_traces(in->data.batches, in->data.n_batches, "", ids, MAX_LISTED, &total);
        fprintf(stderr, "chaostracing %s: no trace id starts with '%s' (%zu trace%s read%s", cmd,
                prefix, total, total == 1 ? "" : "s", total ? ": " : ")\n");
    } else {
        total = count;
        fprintf(stderr, "chaostracing %s: '%s' matches %zu traces (give more digits): ", cmd,
                prefix, count);
    }
    for (size_t k = 0; k < total && k < MAX_LISTED; k++) {
        char hex[2 * CTR_TRACE_ID_LEN + 1];
        ctr_hex_encode(ids[k], CTR_TRACE_ID_LEN, hex);
        fprintf(stderr, "%s%s", k ? ", " : "", hex);
    }
    if (total > MAX_LISTED)
        fputs(", ...", stderr);
    if (total)
        fputs(count ? "\n" : ")\n", stderr);
    return false;
}
