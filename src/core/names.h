/*
 * The names users write for exporters and propagators, in one table each,
 * shared by the OTEL_* variables (config.c) and the control's and the
 * command-line tool's settings (export/settings.c); and the closest-match
 * helper every "did you mean" message uses.
 */
#ifndef CTR_CORE_NAMES_H
#define CTR_CORE_NAMES_H

#include <chaostracing/config.h>

/* Where a name may be written. */
enum {
    CTR__IN_ENV = 1,     /* OTEL_TRACES_EXPORTER / OTEL_PROPAGATORS */
    CTR__IN_SETTING = 2, /* tracing_opentelemetry_exporter, tracing_propagation, -e */
};

struct ctr__exporter_name {
    const char *name;
    ctr_exporter_kind kind;
    unsigned where;        /* CTR__IN_* */
    const char *canonical; /* for an alias: the name it stands for; NULL otherwise */
};

struct ctr__propagator_name {
    const char *name;
    unsigned env_bits;     /* what it means in OTEL_PROPAGATORS */
    unsigned setting_bits; /* what it means in tracing_propagation */
    unsigned where;
};

/* otel_vendor / OTEL_VENDOR: the cloud whose trace conventions a run follows. */
typedef enum {
    CTR__VENDOR_NONE = 0,
    CTR__VENDOR_AWS,   /* X-Ray trace ids and header */
    CTR__VENDOR_GCP,   /* X-Cloud-Trace-Context */
    CTR__VENDOR_AZURE, /* W3C, which Azure Monitor reads */
} ctr__vendor;

struct ctr__vendor_name {
    const char *name;
    ctr__vendor vendor;
};

/* The vendor named [p, p+len) (any case), or NULL. */
const struct ctr__vendor_name *ctr__vendor_lookup(const char *p, size_t len);
/* "aws, gcp, azure" into `out`. */
void ctr__vendor_names(char *out, size_t size);
/* The closest vendor name to [p, p+len), or NULL. */
const char *ctr__vendor_closest(const char *p, size_t len);

/* The entry named [p, p+len) (any case) that may be written `where`, or NULL. */
const struct ctr__exporter_name *ctr__exporter_lookup(const char *p, size_t len, unsigned where);
const struct ctr__propagator_name *ctr__propagator_lookup(const char *p, size_t len,
                                                          unsigned where);

/* Write the names valid `where` into `out` as "a, b, c" (aliases in
 * parentheses after their name for exporters). */
void ctr__exporter_names(unsigned where, char *out, size_t size);
void ctr__propagator_names(unsigned where, char *out, size_t size);

/* The closest of the names valid `where` to [p, p+len), or NULL when none is
 * close enough to be a likely typo. */
const char *ctr__exporter_closest(const char *p, size_t len, unsigned where);
const char *ctr__propagator_closest(const char *p, size_t len, unsigned where);

/*
 * The candidate closest to `word` by edit distance (insertions, deletions,
 * substitutions and swaps of neighbours, ignoring case), or NULL when even
 * the best is more than a third of the word's length (at least 2) away or is
 * the word itself. A candidate that differs only in case is returned.
 */
const char *ctr__closest(const char *word, size_t len, const char *const *candidates, size_t n);

#endif
