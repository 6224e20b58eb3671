/*
 * Redaction of secrets, URL credentials and sensitive values; see
 * chaostracing/redact.h for the rules.
 */
#include <chaostracing/redact.h>

#include <stdlib.h>
#include <string.h>

#define MASK "REDACTED"
#define USERINFO_MASK "REDACTED:REDACTED"
#define MAX_NAME 128 /* longer names are not looked at */

struct ctr_redactor {
    char **secrets;
    size_t *secret_len;
    size_t n_secrets, cap_secrets;
    char **words;
    size_t n_words, cap_words;
};

static const char *const builtin_words[] = {CTR_REDACT_WORDS};

int ctr_redactor_new(struct ctr_redactor **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : CTR_ENOMEM;
}

void ctr_redactor_free(struct ctr_redactor *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_secrets; i++)
        free(r->secrets[i]);
    for (size_t i = 0; i < r->n_words; i++)
        free(r->words[i]);
    free(r->secrets);
    free(r->secret_len);
    free(r->words);
    free(r);
}

/* Append a copy of s[0..len) to a growable string array. */
static int push(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char **nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return CTR_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c)
        return CTR_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    (*v)[(*n)++] = c;
    return 0;
}

int ctr_redactor_add_secret(struct ctr_redactor *r, const char *value, size_t len)
{
    if (!value || len < CTR_REDACT_MIN_SECRET)
        return 0;
    for (size_t i = 0; i < r->n_secrets; i++)
        if (r->secret_len[i] == len && memcmp(r->secrets[i], value, len) == 0)
            return 0;
    size_t cap = r->cap_secrets;
    if (push(&r->secrets, &r->n_secrets, &r->cap_secrets, value, len))
        return CTR_ENOMEM;
    if (r->cap_secrets != cap) {
        size_t *nl = realloc(r->secret_len, r->cap_secrets * sizeof *nl);
        if (!nl) {
            free(r->secrets[--r->n_secrets]);
            return CTR_ENOMEM;
        }
        r->secret_len = nl;
    }
    r->secret_len[r->n_secrets - 1] = len;
    return 0;
}

/* ASCII lower case (names are compared ignoring case, bytes above 0x7F as
 * they are). */
static void lower(char *dst, const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
}

int ctr_redactor_add_word(struct ctr_redactor *r, const char *word, size_t len)
{
    if (!word || len == 0 || len > MAX_NAME)
        return 0;
    char low[MAX_NAME];
    lower(low, word, len); /* kept in lower case, as the names are compared */
    return push(&r->words, &r->n_words, &r->cap_words, low, len);
}

/* True when `word` (lower case) occurs in name[0..len) (lower case). */
static bool contains(const char *name, size_t len, const char *word)
{
    return memmem(name, len, word, strlen(word)) != NULL;
}

/* True when one of the built-in words occurs in name[0..len) (lower case):
 * one pass, the words tried only where their first letter is. */
static bool contains_builtin(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < sizeof builtin_words / sizeof builtin_words[0]; k++) {
            const char *w = builtin_words[k];
            if (w[0] != name[i])
                continue;
            size_t n = strlen(w);
            if (n <= len - i && memcmp(name + i, w, n) == 0)
                return true;
        }
    }
    return false;
}

/* True when the name (lower case) is `word` or ends with a separator and
 * `word`. */
static bool ends_word(const char *name, size_t len, const char *word)
{
    size_t w = strlen(word);
    if (len < w || memcmp(name + len - w, word, w) != 0)
        return false;
    return len == w || (name[len - w - 1] && strchr("_-.", name[len - w - 1]));
}

bool ctr_redact_is_sensitive(const struct ctr_redactor *r, const char *name, size_t len)
{
    if (len == 0 || len > MAX_NAME)
        return false;
    char low[MAX_NAME];
    lower(low, name, len);
    if (contains_builtin(low, len))
        return true;
    if (ends_word(low, len, "key") || ends_word(low, len, "auth"))
        return true;
    for (size_t i = 0; r && i < r->n_words; i++)
        if (contains(low, len, r->words[i]))
            return true;
    return false;
}

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static bool value_end(unsigned char c)
{
    return c <= ' ' || c == '&' || c == ',' || c == ';' || c == ')' || c == ']' || c == '}' ||
           c == '"' || c == '\'' || c == '<' || c == '>' || c == '#';
}

/* The length of the authority after "://" at s[i] (up to '/', '?', '#', a
 * blank or a quote). */
static size_t authority_len(const char *s, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && !strchr("/?#\"'<> \t\r\n", s[j]))
        j++;
    return j - i;
}

/*
 * At a separator s[i] (':' or '='): when the name before it is sensitive,
 * return the extent of the value after it ([*vb, *ve)); false otherwise.
 */
static bool sensitive_value(const struct ctr_redactor *r, const char *s, size_t len, size_t i,
                            size_t *vb, size_t *ve)
{
    size_t e = i;
    while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    if (e > 0 && (s[e - 1] == '"' || s[e - 1] == '\''))
        e--;
    size_t b = e;
    while (b > 0 && e - b < MAX_NAME && name_char((unsigned char)s[b - 1]))
        b--;
    if (b == e || !ctr_redact_is_sensitive(r, s + b, e - b))
        return false;
    size_t v = i + 1;
    while (v < len && (s[v] == ' ' || s[v] == '\t'))
        v++;
    if (v < len && (s[v] == '"' || s[v] == '\'')) {
        char q = s[v++];
        size_t w = v;
        while (w < len && s[w] != q)
            w += s[w] == '\\' && w + 1 < len ? 2 : 1;
        *vb = v;
        *ve = w < len ? w : len;
        return *ve > *vb;
    }
    size_t w = v;
    while (w < len && !value_end((unsigned char)s[w]))
        w++;
    /* "Bearer abc", "Basic abc": the scheme and its credential. */
    if (s[i] == ':' && w < len && s[w] == ' ' && w > v && w - v <= 8) {
        size_t x = w + 1;
        while (x < len && !value_end((unsigned char)s[x]))
            x++;
        if (x > w + 1)
            w = x;
    }
    *vb = v;
    *ve = w;
    return w > v;
}

/* Apply the userinfo and name/value rules to s[0..len) into `out`; true when
 * something was replaced. */
static bool redact_structure(const struct ctr_redactor *r, const char *s, size_t len,
                             struct ctr_buf *out)
{
    bool changed = false;
    size_t copied = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ':' && i + 2 < len && s[i + 1] == '/' && s[i + 2] == '/') {
            size_t a = i + 3, al = authority_len(s, len, a);
            const char *at = NULL;
            for (size_t k = a; k < a + al; k++)
                if (s[k] == '@')
                    at = s + k;
            if (at) {
                ctr_buf_append(out, s + copied, a - copied);
                ctr_buf_puts(out, USERINFO_MASK);
                copied = (size_t)(at - s);
                changed = true;
            }
            i = a + al - 1;
            continue;
        }
        size_t vb, ve;
        if ((s[i] == ':' || s[i] == '=') && sensitive_value(r, s, len, i, &vb, &ve)) {
            if (ve - vb == strlen(MASK) && memcmp(s + vb, MASK, ve - vb) == 0)
                continue; /* already done */
            ctr_buf_append(out, s + copied, vb - copied);
            ctr_buf_puts(out, MASK);
            copied = ve;
            changed = true;
            i = ve - 1;
        }
    }
    if (changed)
        ctr_buf_append(out, s + copied, len - copied);
    return changed;
}

/* Replace the secret values in s[0..len) into `out`; true when any was found. */
static bool redact_secrets(const struct ctr_redactor *r, const char *s, size_t len,
                           struct ctr_buf *out)
{
    if (!r || !r->n_secrets)
        return false;
    bool changed = false;
    size_t copied = 0;
    for (size_t i = 0; i < len;) {
        size_t hit = 0;
        for (size_t k = 0; k < r->n_secrets; k++) {
            size_t n = r->secret_len[k];
            if (n > hit && n <= len - i && memcmp(s + i, r->secrets[k], n) == 0)
                hit = n; /* the longest secret wins */
        }
        if (!hit) {
            i++;
            continue;
        }
        ctr_buf_append(out, s + copied, i - copied);
        ctr_buf_puts(out, MASK);
        i += hit;
        copied = i;
        changed = true;
    }
    if (changed)
        ctr_buf_append(out, s + copied, len - copied);
    return changed;
}

bool ctr_redact(const struct ctr_redactor *r, const char *s, size_t len, struct ctr_buf *out)
{
    if (!s || !len)
        return false;
    struct ctr_buf first = {0};
    bool had_secret = redact_secrets(r, s, len, &first);
    if (had_secret && first.err) {
        ctr_buf_free(&first);
        ctr_buf_puts(out, MASK); /* nothing of it rather than the secret */
        return true;
    }
    const char *t = had_secret ? (const char *)first.data : s;
    size_t tl = had_secret ? first.len : len;
    bool changed = redact_structure(r, t, tl, out);
    if (!changed && had_secret)
        ctr_buf_append(out, t, tl);
    ctr_buf_free(&first);
    return changed || had_secret;
}
