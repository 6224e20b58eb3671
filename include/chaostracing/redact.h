/*
 * chaostracing: what must never leave the process. A redactor rewrites text
 * before it is kept on a span (names, attribute values, status messages,
 * events) or written to a log line:
 *   - the values of the run's secrets, wherever they appear, become REDACTED;
 *   - "scheme://user:password@host" becomes "scheme://REDACTED:REDACTED@host";
 *   - the value after a sensitive name — "token=…", "password: …",
 *     "\"api_key\": \"…\"", "Authorization: Bearer …", a URL query parameter —
 *     becomes REDACTED.
 * A name is sensitive when, ignoring case, it contains one of CTR_REDACT_WORDS
 * or is, or ends with, "key" or "auth" after a '_', '-' or '.' separator; more
 * words can be added.
 */
#ifndef CHAOSTRACING_REDACT_H
#define CHAOSTRACING_REDACT_H

#include "common.h"

/* The built-in sensitive words (substrings of a name, any case). */
#define CTR_REDACT_WORDS                                                                           \
    "token", "passw", "pwd", "secret", "authoriz", "credential", "cookie", "signature", "private", \
        "apikey", "session"

/* Secret values shorter than this are not looked for (they would match
 * ordinary text). */
#define CTR_REDACT_MIN_SECRET 4

struct ctr_redactor;

/* A redactor with the built-in rules only; 0 or CTR_ENOMEM. */
int ctr_redactor_new(struct ctr_redactor **out);
void ctr_redactor_free(struct ctr_redactor *r);
/* Add a secret value (copied; shorter than CTR_REDACT_MIN_SECRET: ignored),
 * or a sensitive word. Returns 0 or CTR_ENOMEM. Not thread-safe: add before
 * the redactor is shared. */
int ctr_redactor_add_secret(struct ctr_redactor *r, const char *value, size_t len);
int ctr_redactor_add_word(struct ctr_redactor *r, const char *word, size_t len);

/* True when `name` (e.g. a header or parameter name) is sensitive. `r` may be
 * NULL (built-in words only). */
bool ctr_redact_is_sensitive(const struct ctr_redactor *r, const char *name, size_t len);

/*
 * Append `s` to `out` with every rule applied. Returns true when something
 * was replaced (`out` then holds the new text), false when `s` is clean (and
 * nothing was appended). `r` may be NULL: the built-in rules only.
 */
bool ctr_redact(const struct ctr_redactor *r, const char *s, size_t len, struct ctr_buf *out);

#endif
