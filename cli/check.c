/*
 * `chaostracing check`: send a small test trace through an exporter and say
 * whether it was delivered. The configuration comes from the OTEL_*
 * environment variables, overridden by the options, so the same command
 * checks what an experiment would use.
 */
#include "check.h"
#include "sendopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_check_usage(FILE *f)
{
    fputs("usage: chaostracing check [OPTIONS]\n"
          "\n"
          "Send a test trace and report whether the backend accepted it. Settings come\n"
          "from the OTEL_* environment variables; options override them.\n"
          "\n" SENDOPTS_USAGE "  -n, --spans N         spans in the test trace (default 3)\n"
          "\n"
          "Prints 'trace_id=<hex> exported=N failed=N dropped=N destination=...' and\n"
          "exits 0 when every span was delivered, 1 otherwise, 64 on a usage error.\n",
          f);
}

/* The test trace: a root span and children carrying every attribute type,
 * an event, a link and an error status, so a receiver sees the whole model. */
static void emit_trace(struct ctr_tracer *t, long n, uint8_t trace_id[CTR_TRACE_ID_LEN])
{
    struct ctr_span *root =
        ctr_tracer_start_span(t, "chaostracing check", 18, NULL, CTR_KIND_SERVER, 0);
    if (!root)
        return;
    struct ctr_span_context root_ctx;
    ctr_span_get_context(root, &root_ctx);
    memcpy(trace_id, root_ctx.trace_id, CTR_TRACE_ID_LEN);
    ctr_span_set_str(root, "chaostoolkit.type", "check", 5);
    for (long i = 1; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "check span %ld", i);
        struct ctr_span *s = ctr_tracer_start_span(t, name, strlen(name), &root_ctx,
                                                   i % 2 ? CTR_KIND_CLIENT : CTR_KIND_INTERNAL, 0);
        if (!s)
            break;
        struct ctr_value tags[2] = {{.type = CTR_VALUE_STRING, .u.s = {"alpha", 5}},
                                    {.type = CTR_VALUE_STRING, .u.s = {"beta", 4}}};
        struct ctr_attr attrs[] = {
            {{"check.string", 12}, {.type = CTR_VALUE_STRING, .u.s = {"h\xc3\xa9llo", 6}}},
            {{"check.int", 9}, {.type = CTR_VALUE_INT, .u.i = -42}},
            {{"check.bool", 10}, {.type = CTR_VALUE_BOOL, .u.b = true}},
            {{"check.double", 12}, {.type = CTR_VALUE_DOUBLE, .u.d = 2.5}},
            {{"check.bytes", 11}, {.type = CTR_VALUE_BYTES, .u.s = {"\x00\x01\x02", 3}}},
            {{"check.array", 11}, {.type = CTR_VALUE_ARRAY, .u.array = {tags, 2}}},
        };
        for (size_t a = 0; a < sizeof attrs / sizeof attrs[0]; a++)
            ctr_span_set_attr(s, &attrs[a]);
        ctr_span_set_int(s, "check.index", i);
        struct ctr_attr ev = {{"check.event.attr", 16},
                              {.type = CTR_VALUE_STRING, .u.s = {"v", 1}}};
        ctr_span_add_event(s, "check event", 11, 0, &ev, 1);
        ctr_span_add_link(s, &root_ctx, NULL, 0);
        if (i == n - 1)
            ctr_span_set_status(s, CTR_STATUS_ERROR, "check error", 11);
        ctr_span_end(s, 0);
    }
    ctr_span_end(root, 0);
}

/* Log sink for the command: everything at INFO and above on stderr. */
static void log_stderr(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level >= CTR_LOG_INFO)
        fprintf(stderr, "%s\n", msg);
}

int cli_check_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        SENDOPTS_LONG,
        {"spans", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sendopts o;
    struct ctr_setup *setup = NULL;
    long spans = 3;
    int status = CLI_EXIT_USAGE, c;
    if (!sendopts_init(&o, "check"))
        return CLI_EXIT_IO;
    optind = 1;
    while ((c = getopt_long(argc, argv, SENDOPTS_SHORT "n:h", longopts, NULL)) != -1) {
        int taken = sendopts_take(&o, c, optarg);
        if (taken < 0)
            goto out;
        if (taken)
            continue;
        if (c == 'n') {
            spans = strtol(optarg, NULL, 10);
            if (spans < 1 || spans > 100000) {
                fprintf(stderr, "chaostracing check: --spans wants 1..100000\n");
                goto out;
            }
        } else if (c == 'h') {
            cli_check_usage(stdout);
            status = CLI_EXIT_OK;
            goto out;
        } else {
            cli_check_usage(stderr);
            goto out;
        }
    }
    ctr_log_set_sink(log_stderr, NULL);
    if ((status = sendopts_setup(&o, &setup)) != 0)
        goto out;
    char destination[512];
    snprintf(destination, sizeof destination, "%s", ctr_setup_destination(setup));
    struct ctr_start_options so = {.batch_size = (uint32_t)spans,
                                   .timeout_ms = (uint32_t)o.timeout_ms};
    struct ctr_tracer *t = NULL;
    int rc = ctr_setup_start(setup, &so, &t);
    if (rc) {
        fprintf(stderr, "chaostracing check: %s\n", ctr_strerror(rc));
        status = 1;
        goto out;
    }
    uint8_t trace_id[CTR_TRACE_ID_LEN] = {0};
    emit_trace(t, spans, trace_id);
    ctr_tracer_shutdown(t, ctr_deadline_after_ms((uint64_t)o.timeout_ms));
    struct ctr_processor_stats ps;
    ctr_tracer_stats(t, &ps);
    ctr_tracer_free(t);
    char hex[2 * CTR_TRACE_ID_LEN + 1];
    ctr_hex_encode(trace_id, CTR_TRACE_ID_LEN, hex);
    printf("trace_id=%s exported=%llu failed=%llu dropped=%llu destination=%s\n", hex,
           (unsigned long long)ps.spans_exported,
           (unsigned long long)(ps.spans_failed + ps.spans_rejected),
           (unsigned long long)(ps.spans_dropped + ps.spans_lost), destination);
    status = ps.spans_exported == (uint64_t)spans ? CLI_EXIT_OK : 1;
out:
    ctr_setup_free(setup);
    sendopts_free(&o);
    return status;
}
