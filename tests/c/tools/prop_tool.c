/*
 * prop_tool: drive the propagators from the command line, for the Python
 * round-trip tests against the official OpenTelemetry propagators.
 *
 *   prop_tool [OPTIONS] inject FORMATS TRACEPARENT [BAGGAGE]
 *       prints the injected headers, one "name: value" per line, in the
 *       order they were set.
 *   prop_tool [OPTIONS] extract FORMATS
 *       reads "name: value" lines on stdin (repeated names are folded with
 *       ", " as an HTTP server does) and prints one line:
 *       "traceparent=... tracestate=... baggage=..." for a valid context, or
 *       "invalid", followed by " baggage=..." when there is baggage anyway.
 *
 * FORMATS is an OTEL_PROPAGATORS list (tracecontext,baggage,b3,b3multi,
 * jaeger,xray), parsed by the library's own configuration code. OPTIONS:
 * --tracestate TS (inject), --jaeger-header NAME, --jaeger-prefix PREFIX.
 * Exit status: 0 when a command ran, 2 on a usage error.
 */
#include <chaostracing/chaostracing.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Declared in src/propagate/propagation.c until struct ctr_carrier can list
 * its entries. */
typedef void (*ctr__carrier_pair_fn)(void *arg, const char *name, const char *value);
typedef void (*ctr__carrier_each_fn)(void *ud, ctr__carrier_pair_fn fn, void *arg);
int ctr__propagation_extract_each(const struct ctr_propagation *p, const struct ctr_carrier *c,
                                  ctr__carrier_each_fn each, struct ctr_span_context *out,
                                  char *ts_buf, size_t ts_size, char *bag_buf, size_t bag_size);

/* Headers in insertion order; names compared case-insensitively. */
struct headers {
    size_t n, cap;
    char **name, **value;
};

static void die_oom(void)
{
    fputs("prop_tool: out of memory\n", stderr);
    exit(2);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        die_oom();
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static const char *hget(void *ud, const char *name)
{
    struct headers *h = ud;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

/* Replace the value of `name` (when `fold`, append ", value" instead). */
static void hput(struct headers *h, const char *name, const char *value, bool fold)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) != 0)
            continue;
        size_t a = fold ? strlen(h->value[i]) : 0, b = strlen(value);
        char *v = malloc(a + 2 + b + 1);
        if (!v)
            die_oom();
        memcpy(v, h->value[i], a);
        if (fold)
            memcpy(v + a, ", ", 2);
        memcpy(v + (fold ? a + 2 : 0), value, b + 1);
        free(h->value[i]);
        h->value[i] = v;
        return;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        char **nn = realloc(h->name, cap * sizeof *nn);
        if (!nn)
            die_oom();
        h->name = nn;
        char **vv = realloc(h->value, cap * sizeof *vv);
        if (!vv)
            die_oom();
        h->value = vv;
        h->cap = cap;
    }
    h->name[h->n] = dup_n(name, strlen(name));
    h->value[h->n] = dup_n(value, strlen(value));
    h->n++;
}

static void hset(void *ud, const char *name, const char *value)
{
    hput(ud, name, value, false);
}

static void heach(void *ud, ctr__carrier_pair_fn fn, void *arg)
{
    struct headers *h = ud;
    for (size_t i = 0; i < h->n; i++)
        fn(arg, h->name[i], h->value[i]);
}

static void hfree(struct headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->name[i]);
        free(h->value[i]);
    }
    free(h->name);
    free(h->value);
}

static const char *formats_env(void *ud, const char *name)
{
    return strcmp(name, "OTEL_PROPAGATORS") == 0 ? ud : NULL;
}

/* CTR_PROP_* bits from an OTEL_PROPAGATORS list; exits on a bad list. */
static unsigned parse_formats(const char *list)
{
    struct ctr_config cfg;
    if (ctr_config_from_env(&cfg, formats_env, (void *)list) != 0)
        die_oom();
    if (cfg.warnings) {
        fprintf(stderr, "prop_tool: %s\n", cfg.warnings);
        ctr_config_free(&cfg);
        exit(2);
    }
    unsigned bits = cfg.propagators;
    ctr_config_free(&cfg);
    return bits;
}

static int usage(void)
{
    fputs("usage: prop_tool [--tracestate TS] [--jaeger-header NAME] [--jaeger-prefix P]\n"
          "                 inject FORMATS TRACEPARENT [BAGGAGE]\n"
          "       prop_tool [--jaeger-header NAME] [--jaeger-prefix P] extract FORMATS\n",
          stderr);
    return 2;
}

static bool set_field(char dst[64], const char *src)
{
    size_t n = strlen(src);
    if (n >= 64)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* Read "name: value" lines from stdin into `h`, folding repeated names. */
static void read_headers(struct headers *h)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        line[len] = '\0';
        char *colon = memchr(line, ':', len);
        if (!colon || colon == line)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vn = strlen(v);
        while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
            vn--;
        char *value = dup_n(v, vn);
        hput(h, line, value, true);
        free(value);
    }
    free(line);
}

int main(int argc, char **argv)
{
    const char *tracestate = NULL, *jheader = NULL, *jprefix = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--tracestate") == 0)
            tracestate = argv[i + 1];
        else if (strcmp(argv[i], "--jaeger-header") == 0)
            jheader = argv[i + 1];
        else if (strcmp(argv[i], "--jaeger-prefix") == 0)
            jprefix = argv[i + 1];
        else
            return usage();
    }
    if (argc - i < 2)
        return usage();
    const char *cmd = argv[i];
    struct ctr_propagation p;
    ctr_propagation_default(&p, parse_formats(argv[i + 1]));
    if ((jheader && !set_field(p.jaeger_trace_header, jheader)) ||
        (jprefix && !set_field(p.jaeger_baggage_prefix, jprefix)))
        return usage();
    struct headers h = {0};
    struct ctr_carrier c = {hget, hset, &h};

    if (strcmp(cmd, "inject") == 0 && (argc - i == 3 || argc - i == 4)) {
        struct ctr_span_context ctx;
        const char *tp = argv[i + 2];
        if (ctr_traceparent_parse(tp, strlen(tp), &ctx) != 0) {
            fprintf(stderr, "prop_tool: not a valid traceparent: %s\n", tp);
            return 2;
        }
        if (tracestate)
            ctx.trace_state = (struct ctr_str){tracestate, strlen(tracestate)};
        int rc = ctr_propagation_inject(&p, &ctx, argc - i == 4 ? argv[i + 3] : NULL, &c);
        if (rc != 0) {
            fprintf(stderr, "prop_tool: inject: %s\n", ctr_strerror(rc));
            hfree(&h);
            return 2;
        }
        for (size_t k = 0; k < h.n; k++)
            printf("%s: %s\n", h.name[k], h.value[k]);
    } else if (strcmp(cmd, "extract") == 0 && argc - i == 2) {
        read_headers(&h);
        struct ctr_span_context ctx;
        static char ts[CTR_TRACESTATE_MAX + 1], bag[CTR_BAGGAGE_MAX + 1];
        int rc = ctr__propagation_extract_each(&p, &c, heach, &ctx, ts, sizeof ts, bag, sizeof bag);
        if (rc == 0) {
            char tp[CTR_TRACEPARENT_LEN + 1];
            ctr_traceparent_format(&ctx, tp);
            printf("traceparent=%s tracestate=%s baggage=%s\n", tp, ts, bag);
        } else {
            printf("invalid%s%s\n", bag[0] ? " baggage=" : "", bag);
        }
    } else {
        hfree(&h);
        return usage();
    }
    hfree(&h);
    return 0;
}
