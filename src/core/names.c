/*
 * Exporter, propagator and vendor names, and closest matches; see
 * core/names.h.
 */
#include "core/names.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define BOTH (CTR__IN_ENV | CTR__IN_SETTING)
#define W3C (CTR_PROP_TRACECONTEXT | CTR_PROP_BAGGAGE)

/* In the order messages list them. */
static const struct ctr__exporter_name exporters[] = {
    {"otlp-http", CTR_EXPORTER_OTLP_HTTP, CTR__IN_SETTING, NULL},
    {"oltp-http", CTR_EXPORTER_OTLP_HTTP, CTR__IN_SETTING, "otlp-http"},
    {"otlp-json", CTR_EXPORTER_OTLP_JSON, CTR__IN_SETTING, NULL},
    {"otlp-http-json", CTR_EXPORTER_OTLP_JSON, CTR__IN_SETTING, "otlp-json"},
    {"otlp-grpc", CTR_EXPORTER_OTLP_GRPC, CTR__IN_SETTING, NULL},
    {"oltp-grpc", CTR_EXPORTER_OTLP_GRPC, CTR__IN_SETTING, "otlp-grpc"},
    {"otlp", CTR_EXPORTER_OTLP, BOTH, NULL},
    {"jaeger-thrift", CTR_EXPORTER_JAEGER_THRIFT, CTR__IN_SETTING, NULL},
    {"jaeger-grpc", CTR_EXPORTER_JAEGER_GRPC, CTR__IN_SETTING, NULL},
    {"zipkin", CTR_EXPORTER_ZIPKIN, BOTH, NULL},
    {"file", CTR_EXPORTER_FILE, BOTH, NULL},
    {"console", CTR_EXPORTER_CONSOLE, BOTH, NULL},
    {"none", CTR_EXPORTER_NONE, BOTH, NULL},
};

/* "b3" differs: one header in OTEL_PROPAGATORS (the specification), the
 * X-B3-* headers in tracing_propagation (what the Jaeger client and the
 * upstream control sent). */
static const struct ctr__propagator_name propagators[] = {
    {"tracecontext", CTR_PROP_TRACECONTEXT, W3C, BOTH},
    {"w3c", 0, W3C, CTR__IN_SETTING},
    {"baggage", CTR_PROP_BAGGAGE, CTR_PROP_BAGGAGE, BOTH},
    {"b3", CTR_PROP_B3, CTR_PROP_B3MULTI, BOTH},
    {"b3multi", CTR_PROP_B3MULTI, CTR_PROP_B3MULTI, BOTH},
    {"b3single", 0, CTR_PROP_B3, CTR__IN_SETTING},
    {"b3-single", 0, CTR_PROP_B3, CTR__IN_SETTING},
    {"jaeger", CTR_PROP_JAEGER, CTR_PROP_JAEGER, BOTH},
    {"xray", CTR_PROP_XRAY, CTR_PROP_XRAY, BOTH},
    {"none", 0, 0, BOTH},
};

static const struct ctr__vendor_name vendors[] = {
    {"aws", CTR__VENDOR_AWS},
    {"gcp", CTR__VENDOR_GCP},
    {"azure", CTR__VENDOR_AZURE},
};

static bool name_is(const char *p, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(p, name, len) == 0;
}

const struct ctr__exporter_name *ctr__exporter_lookup(const char *p, size_t len, unsigned where)
{
    for (size_t i = 0; i < N_ELEMS(exporters); i++)
        if ((exporters[i].where & where) && name_is(p, len, exporters[i].name))
            return &exporters[i];
    return NULL;
}

const struct ctr__propagator_name *ctr__propagator_lookup(const char *p, size_t len, unsigned where)
{
    for (size_t i = 0; i < N_ELEMS(propagators); i++)
        if ((propagators[i].where & where) && name_is(p, len, propagators[i].name))
            return &propagators[i];
    return NULL;
}

const struct ctr__vendor_name *ctr__vendor_lookup(const char *p, size_t len)
{
    for (size_t i = 0; i < N_ELEMS(vendors); i++)
        if (name_is(p, len, vendors[i].name))
            return &vendors[i];
    return NULL;
}

/* Append `s` to out[*used..size), keeping a NUL. */
static void put(char *out, size_t size, size_t *used, const char *s)
{
    int n = snprintf(out + *used, size - *used, "%s", s);
    if (n > 0)
        *used = *used + (size_t)n < size ? *used + (size_t)n : size - 1;
}

void ctr__exporter_names(unsigned where, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_ELEMS(exporters) && size; i++) {
        if (!(exporters[i].where & where) || exporters[i].canonical)
            continue;
        put(out, size, &used, used ? ", " : "");
        put(out, size, &used, exporters[i].name);
        const char *sep = " (also ";
        for (size_t j = 0; j < N_ELEMS(exporters); j++) {
            if ((exporters[j].where & where) && exporters[j].canonical &&
                strcmp(exporters[j].canonical, exporters[i].name) == 0) {
                put(out, size, &used, sep);
                put(out, size, &used, exporters[j].name);
                sep = ", ";
            }
        }
        if (sep[0] == ',')
            put(out, size, &used, ")");
    }
}

void ctr__propagator_names(unsigned where, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_ELEMS(propagators) && size; i++) {
        if (!(propagators[i].where & where))
            continue;
        put(out, size, &used, used ? ", " : "");
        put(out, size, &used, propagators[i].name);
    }
}

void ctr__vendor_names(char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_ELEMS(vendors) && size; i++) {
        put(out, size, &used, used ? ", " : "");
        put(out, size, &used, vendors[i].name);
    }
}

const char *ctr__vendor_closest(const char *p, size_t len)
{
    const char *names[N_ELEMS(vendors)];
    for (size_t i = 0; i < N_ELEMS(vendors); i++)
        names[i] = vendors[i].name;
    return ctr__closest(p, len, names, N_ELEMS(vendors));
}

const char *ctr__exporter_closest(const char *p, size_t len, unsigned where)
{
    const char *names[N_ELEMS(exporters)];
    size_t n = 0;
    for (size_t i = 0; i < N_ELEMS(exporters); i++)
        if (exporters[i].where & where)
            names[n++] = exporters[i].name;
    const char *best = ctr__closest(p, len, names, n);
    /* Suggest what an alias stands for. */
    const struct ctr__exporter_name *e =
        best ? ctr__exporter_lookup(best, strlen(best), where) : NULL;
    return e && e->canonical ? e->canonical : best;
}

const char *ctr__propagator_closest(const char *p, size_t len, unsigned where)
{
    const char *names[N_ELEMS(propagators)];
    size_t n = 0;
    for (size_t i = 0; i < N_ELEMS(propagators); i++)
        if (propagators[i].where & where)
            names[n++] = propagators[i].name;
    return ctr__closest(p, len, names, n);
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

#define MAX_WORD 64

/* Optimal string alignment distance between a[0..n) and b[0..m), case
 * folded; both at most MAX_WORD long. */
static size_t distance(const char *a, size_t n, const char *b, size_t m)
{
    size_t rows[3][MAX_WORD + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = lower(a[i - 1]) != lower(b[j - 1]);
            size_t v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

const char *ctr__closest(const char *word, size_t len, const char *const *candidates, size_t n)
{
    if (!word || len == 0 || len > MAX_WORD)
        return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t m = strlen(candidates[i]);
        if (m > MAX_WORD)
            continue;
        size_t d = distance(word, len, candidates[i], m);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    /* A name that differs only in case is a suggestion (setting names are
     * matched exactly); the word itself is not. */
    if (!best || best_d > limit || (strlen(best) == len && memcmp(best, word, len) == 0))
        best = NULL;
    /* A name written only in part ("jaeger" for "jaeger-thrift"). */
    for (size_t i = 0; !best && len >= 3 && len <= MAX_WORD / 2 && i < n; i++)
        if (strlen(candidates[i]) > len && strncasecmp(candidates[i], word, len) == 0)
            best = candidates[i];
    /* Or only its last part ("endpoint" for "collector_endpoint"), when one
     * name alone ends so (and the word is no name itself). */
    const char *only = NULL;
    size_t ends = 0;
    for (size_t i = 0; !best && i < n; i++)
        if (strlen(candidates[i]) == len && memcmp(candidates[i], word, len) == 0)
            return NULL;
    for (size_t i = 0; !best && len >= 3 && len <= MAX_WORD / 2 && i < n; i++) {
        size_t m = strlen(candidates[i]);
        if (m > len + 1 && strchr("_-.", candidates[i][m - len - 1]) &&
            strncasecmp(candidates[i] + m - len, word, len) == 0) {
            only = candidates[i];
            ends++;
        }
    }
    if (!best && ends == 1)
        best = only;
    return best;
}
