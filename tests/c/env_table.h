/*
 * Test helper (header-only): a fake environment for the functions that read
 * OTEL_* variables through a ctr_getenv_fn (ctr_config_from_env,
 * ctr_setup_build), so no test touches the process environment.
 */
#ifndef CTR_TEST_ENV_TABLE_H
#define CTR_TEST_ENV_TABLE_H

#include <stddef.h>
#include <string.h>

struct var {
    const char *name;
    const char *value;
};

/* Getter over a {NULL, NULL}-terminated table (`ud`, may be NULL). */
static inline const char *table_get(void *ud, const char *name)
{
    for (const struct var *v = ud; v && v->name; v++)
        if (strcmp(v->name, name) == 0)
            return v->value;
    return NULL;
}

#endif
