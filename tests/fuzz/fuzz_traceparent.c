/*
 * libFuzzer target: W3C traceparent. Whatever parses must format back to a
 * value that parses to the same ids and sampled flag.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctr_span_context ctx, again;
    if (ctr_traceparent_parse((const char *)data, size, &ctx) != 0)
        return 0;
    if (!ctr_span_context_is_valid(&ctx) || !ctx.is_remote)
        abort();
    char out[CTR_TRACEPARENT_LEN + 1];
    ctr_traceparent_format(&ctx, out);
    if (strlen(out) != CTR_TRACEPARENT_LEN || ctr_traceparent_parse(out, strlen(out), &again))
        abort();
    if (memcmp(ctx.trace_id, again.trace_id, CTR_TRACE_ID_LEN) ||
        memcmp(ctx.span_id, again.span_id, CTR_SPAN_ID_LEN) ||
        (ctx.trace_flags & CTR_TRACE_FLAG_SAMPLED) != again.trace_flags)
        abort();
    return 0;
}
