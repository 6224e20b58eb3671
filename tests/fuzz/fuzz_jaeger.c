/*
 * libFuzzer target: Jaeger's uber-trace-id. Whatever parses has non-zero
 * ids and formats back to a value that parses to the same context.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctr_span_context ctx, again;
    if (ctr_jaeger_parse((const char *)data, size, &ctx) != 0)
        return 0;
    if (!ctr_span_context_is_valid(&ctx) || (ctx.trace_flags & ~CTR_TRACE_FLAG_SAMPLED))
        abort();
    char out[80];
    ctr_jaeger_format(&ctx, out);
    if (ctr_jaeger_parse(out, strlen(out), &again) != 0 || memcmp(&ctx, &again, sizeof ctx) != 0)
        abort();
    return 0;
}
