/*
 * Baggage as key/value items: adding one to a W3C baggage string, and
 * reading every item back with its value decoded. The header itself is
 * validated and merged in w3c.c and propagation.c.
 */
#include <chaostracing/propagate.h>

#include <stdlib.h>
#include <string.h>

#include "propagate/internal.h"

long ctr__pct_decode(const char *v, size_t vn, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < vn; i++) {
        if (n == size)
            return -1;
        if (v[i] == '%') {
            int hi = i + 2 < vn ? ctr_hex_digit(v[i + 1]) : -1,
                lo = i + 2 < vn ? ctr_hex_digit(v[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = v[i];
        }
    }
    return (long)n;
}

long ctr__pct_encode(const char *v, size_t vn, char *out, size_t size)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < vn; i++) {
        unsigned char c = (unsigned char)v[i];
        bool plain = ctr__baggage_octet(c) && c != '%';
        if (n + (plain ? 1 : 3) > size)
            return -1;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = digits[c >> 4];
            out[n++] = digits[c & 15];
        }
    }
    return (long)n;
}

/* Split member m[0..mn) into its trimmed key and value (properties left
 * out); false when it has no '='. */
static bool split_member(const char *m, size_t mn, const char **k, size_t *kn, const char **v,
                         size_t *vn)
{
    const char *semi = memchr(m, ';', mn);
    size_t kvn = semi ? (size_t)(semi - m) : mn;
    const char *eq = memchr(m, '=', kvn);
    if (!eq)
        return false;
    *k = m;
    *kn = (size_t)(eq - m);
    *v = eq + 1;
    *vn = kvn - *kn - 1;
    ctr__trim_ows(k, kn);
    ctr__trim_ows(v, vn);
    return true;
}

/* Call fn for each member of s[0..len) with its raw key and value. */
static void each_member(const char *s, size_t len,
                        bool (*fn)(void *arg, const char *m, size_t mn, const char *k, size_t kn,
                                   const char *v, size_t vn),
                        void *arg)
{
    for (size_t pos = 0; s && pos <= len;) {
        const char *comma = memchr(s + pos, ',', len - pos);
        size_t end = comma ? (size_t)(comma - s) : len;
        const char *m = s + pos, *k, *v;
        size_t mn = end - pos, kn, vn;
        pos = end + 1;
        ctr__trim_ows(&m, &mn);
        if (mn && ctr_baggage_validate(m, mn) == 1 && split_member(m, mn, &k, &kn, &v, &vn) &&
            !fn(arg, m, mn, k, kn, v, vn))
            return;
    }
}

struct put_state {
    struct ctr_buf *out;
    const char *key;
    size_t klen;
};

static bool copy_other(void *arg, const char *m, size_t mn, const char *k, size_t kn, const char *v,
                       size_t vn)
{
    (void)v, (void)vn;
    struct put_state *p = arg;
    if (kn == p->klen && memcmp(k, p->key, kn) == 0)
        return true;
    if (p->out->len)
        ctr_buf_putc(p->out, ',');
    ctr_buf_append(p->out, m, mn);
    return true;
}

int ctr_baggage_put(const char *base, const char *key, size_t klen, const char *value, size_t vlen,
                    struct ctr_buf *out)
{
    if (!key || klen == 0 || klen > CTR_BAGGAGE_MAX)
        return CTR_EINVAL;
    for (size_t i = 0; i < klen; i++)
        if (!ctr__tchar((unsigned char)key[i]))
            return CTR_EINVAL;
    char *enc = malloc(CTR_BAGGAGE_MAX + 1);
    long en =
        enc ? ctr__pct_encode(value ? value : "", value ? vlen : 0, enc, CTR_BAGGAGE_MAX) : -1;
    if (!enc) {
        return CTR_ENOMEM;
    }
    size_t start = out->len;
    struct put_state p = {out, key, klen};
    if (en >= 0) {
        each_member(base, base ? strlen(base) : 0, copy_other, &p);
        if (out->len > start)
            ctr_buf_putc(out, ',');
        ctr_buf_append(out, key, klen);
        ctr_buf_putc(out, '=');
        ctr_buf_append(out, enc, (size_t)en);
    }
    free(enc);
    if (out->err)
        return CTR_ENOMEM;
    if (en < 0 || out->len - start > CTR_BAGGAGE_MAX) {
        out->len = start;
        return CTR_EINVAL;
    }
    return 0;
}

struct each_state {
    void (*fn)(void *arg, const char *key, size_t klen, const char *value, size_t vlen);
    void *arg;
    char *scratch;
    int passed;
};

static bool decode_one(void *arg, const char *m, size_t mn, const char *k, size_t kn, const char *v,
                       size_t vn)
{
    (void)m, (void)mn;
    struct each_state *e = arg;
    long dn = ctr__pct_decode(v, vn, e->scratch, CTR_BAGGAGE_MAX);
    if (dn >= 0 && !memchr(e->scratch, '\0', (size_t)dn)) {
        e->fn(e->arg, k, kn, e->scratch, (size_t)dn);
        e->passed++;
    }
    return true;
}

int ctr_baggage_each(const char *s, size_t len,
                     void (*fn)(void *arg, const char *key, size_t klen, const char *value,
                                size_t vlen),
                     void *arg)
{
    if (!s || !fn || len > CTR_BAGGAGE_MAX)
        return 0;
    struct each_state e = {fn, arg, malloc(CTR_BAGGAGE_MAX), 0};
    if (!e.scratch)
        return 0;
    each_member(s, len, decode_one, &e);
    free(e.scratch);
    return e.passed;
}
