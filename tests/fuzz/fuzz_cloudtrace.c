/*
 * libFuzzer target: the Google Cloud Trace header (X-Cloud-Trace-Context).
 * Whatever parses has non-zero ids and formats back to a value that parses
 * to the same context.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctr_span_context ctx, again;
    if (ctr_cloudtrace_parse((const char *)data, size, &ctx) != 0)
        return 0;
    if (!ctr_span_context_is_valid(&ctx) || (ctx.trace_flags & ~CTR_TRACE_FLAG_SAMPLED))
        abort();
    char out[64];
    ctr_cloudtrace_format(&ctx, out);
    if (strlen(out) >= sizeof out || ctr_cloudtrace_parse(out, strlen(out), &again) != 0 ||
        memcmp(&ctx, &again, sizeof ctx) != 0)
        abort();
    return 0;
}
