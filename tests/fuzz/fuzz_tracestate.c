/*
 * libFuzzer target: W3C tracestate validation. A valid value has 0..32
 * members; validation must not depend on bytes past `size`.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int n = ctr_tracestate_validate((const char *)data, size);
    if (n != CTR_EPARSE && (n < 0 || n > 32))
        abort();
    return 0;
}
