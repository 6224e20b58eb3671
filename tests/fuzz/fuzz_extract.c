/*
 * libFuzzer target: full extraction through a carrier built from the input,
 * The first byte picks the tracestate and baggage buffer sizes (to exercise
 * truncation) and which formats are off; the rest is "name: value" lines.
 * Checks: a context is valid; tracestate and baggage come back valid,
 * within their buffers and limits; injecting the context and extracting it
 * again gives the same ids and sampled flag.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef void (*ctr__carrier_pair_fn)(void *arg, const char *name, const char *value);
typedef void (*ctr__carrier_each_fn)(void *ud, ctr__carrier_pair_fn fn, void *arg);
int ctr__propagation_extract_each(const struct ctr_propagation *p, const struct ctr_carrier *c,
                                  ctr__carrier_each_fn each, struct ctr_span_context *out,
                                  char *ts_buf, size_t ts_size, char *bag_buf, size_t bag_size);

#define MAXH 256
struct hdrs {
    int n;
    char *name[MAXH], *value[MAXH];
};

static const char *hget(void *ud, const char *name)
{
    struct hdrs *h = ud;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void hset(void *ud, const char *name, const char *value)
{
    struct hdrs *h = ud;
    for (int i = 0; i < h->n; i++)
        if (strcasecmp(h->name[i], name) == 0) {
            char *v = dup_n(value, strlen(value));
            if (!v)
                return;
            free(h->value[i]);
            h->value[i] = v;
            return;
        }
    if (h->n == MAXH)
        return; /* only Jaeger baggage headers can be this many */
    h->name[h->n] = dup_n(name, strlen(name));
    h->value[h->n] = dup_n(value, strlen(value));
    if (!h->name[h->n] || !h->value[h->n]) {
        free(h->name[h->n]);
        free(h->value[h->n]);
        return;
    }
    h->n++;
}

static void heach(void *ud, ctr__carrier_pair_fn fn, void *arg)
{
    struct hdrs *h = ud;
    for (int i = 0; i < h->n; i++)
        fn(arg, h->name[i], h->value[i]);
}

static void hfree(struct hdrs *h)
{
    for (int i = 0; i < h->n; i++) {
        free(h->name[i]);
        free(h->value[i]);
    }
    h->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const size_t ts_sizes[4] = {CTR_TRACESTATE_MAX + 1, 1, 40, 200};
    static const size_t bag_sizes[4] = {CTR_BAGGAGE_MAX + 1, 1, 50, 300};
    size_t ts_size = ts_sizes[data[0] & 3], bag_size = bag_sizes[(data[0] >> 2) & 3];
    unsigned off = data[0] >> 4, formats = CTR_PROP_BAGGAGE; /* bits 4-7 turn formats off */
    if (!(off & 1))
        formats |= CTR_PROP_TRACECONTEXT;
    if (!(off & 2))
        formats |= CTR_PROP_B3 | CTR_PROP_B3MULTI;
    if (!(off & 4))
        formats |= CTR_PROP_JAEGER;
    if (!(off & 8))
        formats |= CTR_PROP_XRAY;

    struct hdrs h = {0};
    const char *s = (const char *)data + 1;
    size_t len = size - 1, start = 0;
    for (size_t i = 0; i <= len && h.n < 64; i++) {
        if (i < len && s[i] != '\n')
            continue;
        const char *line = s + start;
        size_t ln = i - start;
        start = i + 1;
        const char *colon = memchr(line, ':', ln);
        if (!colon)
            continue;
        const char *v = colon + 1;
        while (v < line + ln && *v == ' ')
            v++;
        char *name = dup_n(line, (size_t)(colon - line));
        char *value = dup_n(v, (size_t)(line + ln - v));
        if (!name || !value || memchr(name, '\0', (size_t)(colon - line))) {
            free(name);
            free(value);
            continue;
        }
        h.name[h.n] = name;
        h.value[h.n] = value;
        h.n++;
    }

    struct ctr_propagation p;
    ctr_propagation_default(&p, formats);
    struct ctr_carrier c = {hget, hset, &h};
    struct ctr_span_context ctx;
    char *ts = malloc(ts_size), *bag = malloc(bag_size);
    if (!ts || !bag)
        goto out;
    int rc = ctr__propagation_extract_each(&p, &c, heach, &ctx, ts, ts_size, bag, bag_size);
    size_t tn = strnlen(ts, ts_size), bn = strnlen(bag, bag_size);
    if (tn >= ts_size || bn >= bag_size || bn > CTR_BAGGAGE_MAX)
        abort();
    if (bn && ctr_baggage_validate(bag, bn) <= 0)
        abort();
    if (rc != 0) {
        if (rc != CTR_EPARSE || tn)
            abort();
        goto out;
    }
    if (!ctr_span_context_is_valid(&ctx) || !ctx.is_remote)
        abort();
    if (tn && (ctr_tracestate_validate(ts, tn) <= 0 || ctx.trace_state.ptr != ts ||
               ctx.trace_state.len != tn))
        abort();

    /* Inject what came out into a fresh carrier and read it back. */
    struct hdrs h2 = {0};
    struct ctr_carrier c2 = {hget, hset, &h2};
    struct ctr_span_context back;
    if (ctr_propagation_inject(&p, &ctx, bag, &c2) != 0)
        abort();
    char ts2[CTR_TRACESTATE_MAX + 1], bag2[CTR_BAGGAGE_MAX + 1];
    if (h2.n && ctr__propagation_extract_each(&p, &c2, heach, &back, ts2, sizeof ts2, bag2,
                                              sizeof bag2) != 0)
        abort();
    if (h2.n &&
        (memcmp(back.trace_id, ctx.trace_id, CTR_TRACE_ID_LEN) ||
         memcmp(back.span_id, ctx.span_id, CTR_SPAN_ID_LEN) ||
         back.trace_flags != (ctx.trace_flags & CTR_TRACE_FLAG_SAMPLED) || strcmp(ts2, ts) != 0))
        abort();
    hfree(&h2);
out:
    free(ts);
    free(bag);
    hfree(&h);
    return 0;
}
