/*
 * Options that say where spans go, for `check` and `replay`; see sendopts.h.
 */
#include "sendopts.h"

#include "view.h"

#include <stdlib.h>
#include <string.h>

bool sendopts_init(struct sendopts *o, const char *command)
{
    memset(o, 0, sizeof *o);
    o->command = command;
    o->timeout_ms = 10000;
    return ctr_settings_new(&o->settings) == 0;
}

static bool put_str(struct sendopts *o, const char *key, const char *value)
{
    return ctr_settings_put_str(o->settings, CTR_FROM_COMMAND, key, value) == 0;
}

static bool put_true(struct sendopts *o, const char *key)
{
    struct ctr_setting_value v = {.type = CTR_SV_BOOL, .b = true};
    return ctr_settings_put(o->settings, CTR_FROM_COMMAND, key, strlen(key), &v) == 0;
}

int sendopts_take(struct sendopts *o, int c, const char *arg)
{
    switch (c) {
    case 'e':
        return put_str(o, "exporter", arg) ? 1 : -1;
    case 'u':
        return put_str(o, "endpoint", arg) ? 1 : -1;
    case 'z':
        return put_true(o, "gzip") ? 1 : -1;
    case 'k':
        return put_true(o, "insecure") ? 1 : -1;
    case 'C':
        return put_str(o, "cacert", arg) ? 1 : -1;
    case 'c':
        return put_str(o, "cert", arg) ? 1 : -1;
    case 'K':
        return put_str(o, "key", arg) ? 1 : -1;
    case 't': {
        char *end = NULL;
        long ms = strtol(arg, &end, 10);
        if (!*arg || *end || ms < 1 || ms > 600000) {
            fprintf(stderr, "chaostracing %s: --timeout wants 1..600000 ms\n", o->command);
            return -1;
        }
        o->timeout_ms = ms;
        return put_str(o, "timeout", arg) ? 1 : -1;
    }
    case 'H': {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || o->n_headers == SENDOPTS_MAX_HEADERS) {
            fprintf(stderr, "chaostracing %s: --header wants NAME=VALUE\n", o->command);
            return -1;
        }
        char *copy = strdup(arg);
        if (!copy)
            return -1;
        o->copies[o->n_headers] = copy;
        copy[eq - arg] = '\0';
        o->headers[o->n_headers].name = copy;
        o->headers[o->n_headers].value = copy + (eq - arg) + 1;
        o->n_headers++;
        return 1;
    }
    default:
        return 0;
    }
}

int sendopts_setup(struct sendopts *o, struct ctr_setup **setup)
{
    *setup = NULL;
    struct ctr_setting_value hv = {.type = CTR_SV_MAP, .map = o->headers, .n_map = o->n_headers};
    if ((o->n_headers && ctr_settings_put(o->settings, CTR_FROM_COMMAND, "headers", 7, &hv) != 0) ||
        ctr_setup_build(o->settings, CTR_SETUP_CHECK, NULL, NULL, setup) != 0) {
        fprintf(stderr, "chaostracing %s: out of memory\n", o->command);
        ctr_setup_free(*setup);
        *setup = NULL;
        return CLI_EXIT_IO;
    }
    for (size_t i = 0; i < ctr_setup_problem_count(*setup); i++) {
        int level;
        const char *msg = ctr_setup_problem(*setup, i, &level, NULL);
        if (level >= CTR_LOG_INFO)
            fprintf(stderr, "chaostracing %s: %s\n", o->command, msg);
    }
    if (!ctr_setup_enabled(*setup)) {
        ctr_setup_free(*setup);
        *setup = NULL;
        return CLI_EXIT_USAGE;
    }
    return 0;
}

void sendopts_free(struct sendopts *o)
{
    for (size_t i = 0; i < o->n_headers; i++)
        free(o->copies[i]);
    ctr_settings_free(o->settings);
    memset(o, 0, sizeof *o);
}
