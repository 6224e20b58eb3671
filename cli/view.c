/*
 * `chaostracing view`: read OTLP JSON lines, one ExportTraceServiceRequest per
 * line, and print a span tree per trace.
 *
 * This file only reads: the command line, and files or standard input line by
 * line (huge lines are skipped, unreadable files reported while the rest is
 * still shown). Each line goes to the library's OTLP JSON decoder
 * (chaostracing/decode.h); once everything is read, the library's renderer
 * (chaostracing/render.h) prints the trees. Problems are reported as
 * FILE:LINE: ..., the first MAX_MESSAGES of them, and counted.
 */
#include "view.h"

#include <chaostracing/decode.h>
#include <chaostracing/render.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINE ((size_t)256 * 1024 * 1024) /* longer lines are skipped */
#define READ_CHUNK ((size_t)1 << 20)
#define MAX_MESSAGES 20 /* problems printed before going quiet */

struct view {
    struct ctr_render_options opts;
    struct ctr_trace_data data;
    unsigned long bad_lines, bad_spans, messages;
    bool io_error;
    bool oom;
    const char *src;      /* name of the input being read */
    unsigned long lineno; /* 1-based line number in `src` */
};

/* ------------------------------------------------------------ messages -- */

/* Report a problem with the current line on stderr; after MAX_MESSAGES only
 * the total is reported at the end. */
static void
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    report(struct view *v, const char *fmt, ...)
{
    v->messages++;
    if (v->messages > MAX_MESSAGES) {
        if (v->messages == MAX_MESSAGES + 1)
            fprintf(stderr, "chaostracing: more problems; only the first %d are shown\n",
                    MAX_MESSAGES);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%lu: ", v->src, v->lineno);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The decoder's on_skip: a malformed span of the current line. */
static void span_skipped(void *ud, size_t span_no, const char *reason)
{
    struct view *v = ud;
    v->bad_spans++;
    report(v, "span %zu skipped: %s", span_no, reason);
}

/* ---------------------------------------------------------- one line -- */

/* Decode one input line into the view. Blank lines are ignored; so are JSON
 * objects that are not requests (unknown members are ignored in OTLP JSON),
 * while other JSON values and invalid lines are reported and counted. */
static void process_line(struct view *v, const char *line, size_t len)
{
    if (v->lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
        line += 3; /* a byte order mark some editors add */
        len -= 3;
    }
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return;
    char err[256];
    int rc = ctr_trace_data_append_line(&v->data, line, len, err, sizeof err);
    if (rc == 0 || (rc == CTR_EFORMAT && line[i] == '{'))
        return;
    if (rc == CTR_ENOMEM) {
        v->oom = true;
        return;
    }
    v->bad_lines++;
    report(v, "%s; line skipped", err);
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

/* Read every line of `path` ("-" = stdin) into the view. Returns false when
 * the file cannot be opened or read (reported on stderr). */
static bool read_input(struct view *v, const char *path)
{
    bool is_stdin = strcmp(path, "-") == 0;
    struct reader r = {0};
    r.f = is_stdin ? stdin : fopen(path, "rb");
    if (!r.f) {
        fprintf(stderr, "chaostracing: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    v->src = is_stdin ? "<stdin>" : path;
    v->lineno = 0;
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
        v->lineno++;
        if (rc == READ_TOO_LONG) {
            v->bad_lines++;
            report(v, "line longer than %zu MiB; skipped", MAX_LINE >> 20);
            continue;
        }
        process_line(v, line, len);
        if (v->oom)
            break;
    }
    free(r.buf);
    if (!is_stdin)
        fclose(r.f);
    return ok;
}

/* ---------------------------------------------------------- the command -- */

void cli_view_usage(FILE *f)
{
    fputs("usage: chaostracing view [--no-attrs] [--ascii] [--color=auto|always|never] "
          "FILE...\n"
          "\n"
          "Print the spans in OTLP JSON lines files (one ExportTraceServiceRequest per\n"
          "line, as the file exporter writes them) as one tree per trace. FILE '-' (or\n"
          "no FILE with a pipe on standard input) reads standard input.\n"
          "\n"
          "  --no-attrs   do not show chaostoolkit.type, chaostoolkit.activity.status\n"
          "               and http.response.status_code after each span\n"
          "  --ascii      draw the tree with ASCII instead of box-drawing characters\n"
          "  --color=WHEN colour ERROR and headers: auto (a terminal, NO_COLOR unset),\n"
          "               always or never\n"
          "\n"
          "Exit status: 0 ok; 1 a file could not be read; 2 malformed lines or spans\n"
          "were skipped (each reported on stderr as FILE:LINE: ...); 64 usage error.\n",
          f);
}

int cli_view_main(int argc, char **argv)
{
    struct view v;
    memset(&v, 0, sizeof(v));
    ctr_render_options_default(&v.opts);
    int color = -1; /* auto */
    const char **files = calloc((size_t)argc + 1, sizeof(*files));
    size_t nfiles = 0;
    if (!files) {
        fputs("chaostracing: out of memory\n", stderr);
        return CLI_EXIT_IO;
    }
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
            files[nfiles++] = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (strcmp(a, "--no-attrs") == 0) {
            v.opts.attrs = false;
        } else if (strcmp(a, "--ascii") == 0) {
            v.opts.ascii = true;
        } else if (strcmp(a, "--color") == 0 || strcmp(a, "--color=always") == 0) {
            color = 1;
        } else if (strcmp(a, "--color=never") == 0) {
            color = 0;
        } else if (strcmp(a, "--color=auto") == 0) {
            color = -1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_view_usage(stdout);
            free(files);
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "chaostracing view: unknown option '%s'\n", a);
            cli_view_usage(stderr);
            free(files);
            return CLI_EXIT_USAGE;
        }
    }
    if (nfiles == 0) {
        if (isatty(STDIN_FILENO)) {
            fputs("chaostracing view: no FILE given (use '-' for standard input)\n", stderr);
            cli_view_usage(stderr);
            free(files);
            return CLI_EXIT_USAGE;
        }
        files[nfiles++] = "-";
    }
    if (color < 0) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
        color = isatty(STDOUT_FILENO) && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);
    }
    v.opts.color = color == 1;

    ctr_trace_data_init(&v.data);
    v.data.on_skip = span_skipped;
    v.data.on_skip_ud = &v;
    for (size_t i = 0; i < nfiles && !v.oom; i++)
        if (!read_input(&v, files[i]))
            v.io_error = true;
    free(files);

    if (!v.oom) {
        int rc = ctr_render_tree_file(v.data.batches, v.data.n_batches, &v.opts, stdout);
        if (rc == CTR_ENOMEM)
            v.oom = true;
        else if (rc)
            v.io_error = true;
    }
    if (fflush(stdout) != 0)
        v.io_error = true;
    if (v.oom)
        fputs("chaostracing: out of memory\n", stderr);
    else if (v.data.n_spans == 0 && !v.io_error)
        fputs("chaostracing: no spans found\n", stderr);
    if (v.bad_lines || v.bad_spans)
        fprintf(stderr, "chaostracing: skipped %lu malformed line%s and %lu malformed span%s\n",
                v.bad_lines, v.bad_lines == 1 ? "" : "s", v.bad_spans, v.bad_spans == 1 ? "" : "s");
    ctr_trace_data_free(&v.data);
    if (v.io_error || v.oom)
        return CLI_EXIT_IO;
    if (v.bad_lines || v.bad_spans)
        return CLI_EXIT_SKIPPED;
    return CLI_EXIT_OK;
}
