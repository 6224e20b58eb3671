/*
 * Text codecs every layer needs: hex and base64. One copy each; see
 * chaostracing/common.h for the contracts.
 */
#include <chaostracing/common.h>

int ctr_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void ctr_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int ctr_hex_decode(const char *in, size_t n_bytes, uint8_t *out)
{
    for (size_t i = 0; i < n_bytes; i++) {
        char a = in[2 * i], b = in[2 * i + 1];
        /* Strict: lower case only. */
        if ((a >= 'A' && a <= 'F') || (b >= 'A' && b <= 'F'))
            return CTR_EPARSE;
        int hi = ctr_hex_digit(a), lo = ctr_hex_digit(b);
        if (hi < 0 || lo < 0)
            return CTR_EPARSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

size_t ctr_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t ctr_base64_encode(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (n - i >= 1) {
        uint32_t v = (uint32_t)in[i] << 16 | (n - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = n - i == 2 ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return (size_t)(o - out);
}

/* The 6-bit value of a base64 character of either alphabet, or -1. */
static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int ctr_base64_decode(const char *in, size_t n, struct ctr_buf *out)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return CTR_EPARSE;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(in[i]);
        if (v < 0)
            return CTR_EPARSE;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            ctr_buf_putc(out, (uint8_t)(acc >> bits));
        }
    }
    return out->err ? CTR_ENOMEM : 0;
}
