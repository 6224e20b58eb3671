/*
 * `chaostracing replay [DIR]`: send what earlier runs could not deliver and
 * left in the spool (chaostracing/spool.h), through the exporter the options
 * and the OTEL_* variables name, oldest file first, until the spool is empty,
 * an export fails (the collector is still away) or the time is up.
 */
#include "replay.h"
#include "sendopts.h"
#include "view.h"

#include <chaostracing/spool.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void cli_replay_usage(FILE *f)
{
    fputs("usage: chaostracing replay [OPTIONS] [DIR]\n"
          "\n"
          "Send the spans earlier runs spooled because they could not be delivered.\n"
          "DIR defaults to $CHAOSTRACING_SPOOL_DIR, else ~/.cache/chaostracing/spool.\n"
          "Where to send them comes from the OTEL_* environment variables; options\n"
          "override them.\n"
          "\n" SENDOPTS_USAGE "\n"
          "Prints 'sent=N files=N failed=N corrupt=N left=N busy=N dir=DIR destination=...' and\n"
          "exits 0 when the spool is empty, 1 when files are left, 64 on a usage error.\n",
          f);
}

static void log_stderr(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level >= CTR_LOG_INFO)
        fprintf(stderr, "%s\n", msg);
}

/* The spool directory: the argument, else the variable, else the default. */
static const char *spool_dir(const char *arg, char *buf, size_t size)
{
    if (arg)
        return arg;
    const char *env = getenv("CHAOSTRACING_SPOOL_DIR");
    if (env && *env)
        return env;
    return ctr_spool_default_dir(NULL, NULL, buf, size) == 0 ? buf : NULL;
}

int cli_replay_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        SENDOPTS_LONG,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sendopts o;
    struct ctr_setup *setup = NULL;
    struct ctr_spool *spool = NULL;
    struct ctr_exporter *e = NULL;
    int status = CLI_EXIT_USAGE, c;
    if (!sendopts_init(&o, "replay"))
        return CLI_EXIT_IO;
    optind = 1;
    while ((c = getopt_long(argc, argv, SENDOPTS_SHORT "h", longopts, NULL)) != -1) {
        int taken = sendopts_take(&o, c, optarg);
        if (taken < 0)
            goto out;
        if (taken)
            continue;
        if (c == 'h') {
            cli_replay_usage(stdout);
            status = CLI_EXIT_OK;
        } else {
            cli_replay_usage(stderr);
        }
        goto out;
    }
    if (argc - optind > 1) {
        cli_replay_usage(stderr);
        goto out;
    }
    char def[4096], err[512] = "";
    const char *dir = spool_dir(optind < argc ? argv[optind] : NULL, def, sizeof def);
    if (!dir) {
        fprintf(stderr, "chaostracing replay: no spool directory (give DIR, or set "
                        "CHAOSTRACING_SPOOL_DIR or HOME)\n");
        goto out;
    }
    ctr_log_set_sink(log_stderr, NULL);
    if ((status = sendopts_setup(&o, &setup)) != 0)
        goto out;
    int rc = ctr_spool_open(dir, 0, &spool, err, sizeof err);
    if (rc || !(e = ctr_setup_take_exporter(setup))) {
        fprintf(stderr, "chaostracing replay: %s\n",
                rc ? (err[0] ? err : ctr_strerror(rc)) : "the none exporter sends nothing");
        status = rc == CTR_ENOMEM ? CLI_EXIT_IO : CLI_EXIT_USAGE;
        goto out;
    }
    struct ctr_replay_stats st = {0};
    uint64_t deadline = ctr_deadline_after_ms((uint64_t)o.timeout_ms);
    while (ctr_monotonic_ns() < deadline && !st.last_error &&
           (rc = ctr_spool_replay_one(spool, e, deadline, NULL, NULL, &st)) > 0) {
    }
    ctr_exporter_shutdown(e, ctr_deadline_after_ms(1000));
    printf("sent=%" PRIu64 " files=%" PRIu64 " failed=%" PRIu64 " corrupt=%" PRIu64 " left=%" PRIu64
           " busy=%" PRIu64 " dir=%s destination=%s\n",
           st.spans_sent, st.files_sent, st.files_failed, st.files_corrupt, st.files_left,
           st.files_busy, dir, ctr_setup_destination(setup));
    status = rc < 0 ? CLI_EXIT_IO : st.files_left || st.last_error ? 1 : CLI_EXIT_OK;
out:
    ctr_exporter_destroy(e);
    ctr_spool_close(spool);
    ctr_setup_free(setup);
    sendopts_free(&o);
    return status;
}
