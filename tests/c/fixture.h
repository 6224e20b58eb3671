/*
 * For the encoder and decoder tests: values of the span model built by hand
 * (S, VSTR, ... ATTRS) and the golden files under tests/c/fixtures (made by
 * tests/python/make_golden.py).
 */
#ifndef CTR_TEST_FIXTURE_H
#define CTR_TEST_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chaostracing/span.h>

#define S(lit)                                                                                     \
    {                                                                                              \
        (lit), sizeof(lit) - 1                                                                     \
    }
#define VSTR(lit)                                                                                  \
    {                                                                                              \
        .type = CTR_VALUE_STRING, .u.s = S(lit)                                                    \
    }
#define VBYTES(lit)                                                                                \
    {                                                                                              \
        .type = CTR_VALUE_BYTES, .u.s = S(lit)                                                     \
    }
#define VINT(x)                                                                                    \
    {                                                                                              \
        .type = CTR_VALUE_INT, .u.i = (x)                                                          \
    }
#define VBOOL(x)                                                                                   \
    {                                                                                              \
        .type = CTR_VALUE_BOOL, .u.b = (x)                                                         \
    }
#define VDBL(x)                                                                                    \
    {                                                                                              \
        .type = CTR_VALUE_DOUBLE, .u.d = (x)                                                       \
    }
#define VARR(a)                                                                                    \
    {                                                                                              \
        .type = CTR_VALUE_ARRAY, .u.array = {(a), sizeof(a) / sizeof((a)[0]) }                     \
    }
#define ATTRS(a)                                                                                   \
    {                                                                                              \
        (a), sizeof(a) / sizeof((a)[0]), sizeof(a) / sizeof((a)[0]), 0                             \
    }
#define ATTRS_D(a, d)                                                                              \
    {                                                                                              \
        (a), sizeof(a) / sizeof((a)[0]), sizeof(a) / sizeof((a)[0]), (d)                           \
    }
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* 2023-11-14T22:13:20Z in nanoseconds: the start of hand-made spans. */
#define FX_T0 UINT64_C(1700000000000000000)

/* Fill `s` as an ended span of trace `t` with span id `id` and parent `parent`
 * (0 = root); ids are the byte repeated. */
static inline void mk_span(struct ctr_span *s, uint8_t t, uint8_t id, uint8_t parent,
                           const char *name, uint64_t start_ms, uint64_t end_ms)
{
    memset(s, 0, sizeof *s);
    memset(s->ctx.trace_id, t, CTR_TRACE_ID_LEN);
    memset(s->ctx.span_id, id, CTR_SPAN_ID_LEN);
    s->ctx.trace_flags = CTR_TRACE_FLAG_SAMPLED;
    if (parent) {
        s->has_parent = true;
        memset(s->parent_span_id, parent, CTR_SPAN_ID_LEN);
    }
    s->recording = true;
    s->ended = true;
    s->kind = CTR_KIND_INTERNAL;
    s->name = (struct ctr_str){name, strlen(name)};
    s->start_ns = FX_T0 + start_ms * 1000000u;
    s->end_ns = FX_T0 + end_ms * 1000000u;
}

/* Read a fixture file (from tests/c or from the repository root). Returns a
 * malloc'ed buffer the caller frees, or NULL. */
static inline uint8_t *read_fixture(const char *name, size_t *len)
{
    char path[256];
    const char *dirs[] = {"fixtures/", "tests/c/fixtures/"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        snprintf(path, sizeof path, "%s%s", dirs[d], name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *buf = NULL;
        size_t cap = 0, n = 0;
        for (;;) {
            if (n == cap) {
                cap = cap ? cap * 2 : 4096;
                uint8_t *nb = realloc(buf, cap);
                if (!nb) {
                    free(buf);
                    fclose(f);
                    return NULL;
                }
                buf = nb;
            }
            size_t got = fread(buf + n, 1, cap - n, f);
            if (got == 0)
                break;
            n += got;
        }
        fclose(f);
        *len = n;
        return buf;
    }
    fprintf(stderr, "fixture %s not found (run from tests/c or the repo root)\n", name);
    return NULL;
}

/* Compare `got` with a fixture; report the first difference. 0 when equal. */
static inline int compare_fixture(const char *name, const uint8_t *got, size_t got_len)
{
    size_t want_len = 0;
    uint8_t *want = read_fixture(name, &want_len);
    if (!want)
        return -1;
    int rc = 0;
    size_t n = got_len < want_len ? got_len : want_len, i = 0;
    while (i < n && got[i] == want[i])
        i++;
    if (i < n || got_len != want_len) {
        fprintf(stderr, "%s: %zu bytes, golden %zu; first difference at offset %zu", name, got_len,
                want_len, i);
        if (i < n)
            fprintf(stderr, " (0x%02x, golden 0x%02x)", got[i], want[i]);
        size_t from = i > 40 ? i - 40 : 0;
        fprintf(stderr, "\n  context: ");
        for (size_t k = from; k < i + 20 && k < got_len; k++)
            fprintf(stderr, "%02x", got[k]);
        fprintf(stderr, "\n  golden : ");
        for (size_t k = from; k < i + 20 && k < want_len; k++)
            fprintf(stderr, "%02x", want[k]);
        fputc('\n', stderr);
        rc = -1;
    }
    free(want);
    return rc;
}

#endif
