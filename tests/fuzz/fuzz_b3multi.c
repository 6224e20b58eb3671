/*
 * libFuzzer target: the B3 multi-header form through a carrier. The input
 * is up to four '\n'-separated values for X-B3-TraceId, X-B3-SpanId,
 * X-B3-Sampled and X-B3-Flags; the first byte's low bits say which of them
 * are present. A context that comes out is valid, needs both id headers,
 * and extraction never writes to the carrier or fills tracestate/baggage.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[4] = {"X-B3-TraceId", "X-B3-SpanId", "X-B3-Sampled", "X-B3-Flags"};

struct multi {
    char *value[4]; /* NULL when absent */
};

static const char *mget(void *ud, const char *name)
{
    struct multi *m = ud;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, names[i]) == 0)
            return m->value[i];
    return NULL;
}

static void mset(void *ud, const char *name, const char *value)
{
    (void)ud, (void)name, (void)value;
    abort(); /* extraction never writes */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned present = data[0];
    const char *s = (const char *)data + 1;
    size_t len = size - 1, start = 0;
    struct multi m = {{NULL}};
    int field = 0;
    for (size_t i = 0; i <= len && field < 4; i++) {
        if (i < len && s[i] != '\n')
            continue;
        if (present & (1u << field)) {
            m.value[field] = malloc(i - start + 1);
            if (!m.value[field])
                goto out;
            memcpy(m.value[field], s + start, i - start);
            m.value[field][i - start] = '\0';
        }
        field++;
        start = i + 1;
    }
    struct ctr_propagation p;
    ctr_propagation_default(&p, CTR_PROP_B3MULTI);
    struct ctr_carrier c = {mget, mset, &m};
    struct ctr_span_context ctx;
    char ts[4], bag[4];
    if (ctr_propagation_extract(&p, &c, &ctx, ts, sizeof ts, bag, sizeof bag) == 0) {
        if (!ctr_span_context_is_valid(&ctx) || !ctx.is_remote || ts[0] || bag[0])
            abort();
        /* Both ids were present and well-formed. */
        if (!m.value[0] || !m.value[1])
            abort();
    } else if (ts[0] || bag[0]) {
        abort();
    }
out:
    for (int i = 0; i < 4; i++)
        free(m.value[i]);
    return 0;
}
