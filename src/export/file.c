/*
 * The file exporter: one OTLP JSON ExportTraceServiceRequest per line,
 * appended to a file. Each line goes out in as few write() calls as the
 * kernel allows (one, for a regular file), on a descriptor opened with
 * O_APPEND, so several processes can share one file without mixing lines.
 */
#include <chaostracing/exporter.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Buffers larger than this are released after each export. */
#define KEEP_BUFFER_BYTES (1u << 20)

struct file_exporter {
    struct ctr_exporter base;
    int fd;
    bool shut;
    bool warned; /* a failure was logged at WARNING; cleared by a success */
    struct ctr_buf line;
};

/* Write all `len` bytes, retrying on EINTR and short writes. Returns 0 or
 * the errno of the failing write. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Count a batch of `n` spans as not delivered and log it (WARNING the first
 * time, DEBUG until a success). */
static void file_failed(struct file_exporter *x, size_t n, const char *reason)
{
    atomic_fetch_add(&x->base.stats.spans_failed, (uint_fast64_t)n);
    atomic_fetch_add(&x->base.stats.batches_failed, 1);
    ctr_log(x->warned ? CTR_LOG_DEBUG : CTR_LOG_WARNING,
            "chaostracing: export to %s failed: %s; %zu span%s dropped", x->base.destination,
            reason, n, n == 1 ? "" : "s");
    x->warned = true;
}

/* export_batch op: encode and append one line. Returns 0, CTR_EIO,
 * CTR_ENOMEM, CTR_EINVAL (encoder) or CTR_ESHUTDOWN. */
static int file_export(struct ctr_exporter *e, const struct ctr_batch *batch, uint64_t deadline_ns)
{
    (void)deadline_ns; /* a local append is not worth abandoning */
    struct file_exporter *x = (struct file_exporter *)e;
    if (!batch || batch->len == 0)
        return 0;
    if (x->shut) {
        atomic_fetch_add(&x->base.stats.spans_failed, (uint_fast64_t)batch->len);
        atomic_fetch_add(&x->base.stats.batches_failed, 1);
        return CTR_ESHUTDOWN;
    }
    ctr_buf_reset(&x->line);
    int rc = ctr_otlp_json_encode(batch, &x->line);
    ctr_buf_putc(&x->line, '\n');
    if (rc == 0 && x->line.err)
        rc = x->line.err;
    if (rc == 0) {
        int werr = write_all(x->fd, x->line.data, x->line.len);
        if (werr) {
            char eb[128];
            file_failed(x, batch->len, strerror_r(werr, eb, sizeof eb));
            rc = CTR_EIO;
        } else {
            atomic_fetch_add(&x->base.stats.spans_exported, (uint_fast64_t)batch->len);
            x->warned = false;
        }
    } else {
        file_failed(x, batch->len, ctr_strerror(rc));
    }
    if (x->line.cap > KEEP_BUFFER_BYTES)
        ctr_buf_free(&x->line);
    return rc;
}

/* shutdown op: fsync the file. Returns 0 or CTR_EIO. Idempotent. Files that
 * cannot be synced (pipes, terminals) are not an error. */
static int file_shutdown(struct ctr_exporter *e, uint64_t deadline_ns)
{
    (void)deadline_ns;
    struct file_exporter *x = (struct file_exporter *)e;
    if (x->shut)
        return 0;
    x->shut = true;
    if (fsync(x->fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
        char eb[128];
        ctr_log(CTR_LOG_WARNING, "chaostracing: fsync of %s failed: %s", x->base.destination,
                strerror_r(errno, eb, sizeof eb));
        return CTR_EIO;
    }
    return 0;
}

/* destroy op: close the file and free. */
static void file_destroy(struct ctr_exporter *e)
{
    struct file_exporter *x = (struct file_exporter *)e;
    if (x->fd >= 0)
        close(x->fd);
    ctr_buf_free(&x->line);
    free(x);
}

static const struct ctr_exporter_ops file_ops = {
    .name = "file",
    .export_batch = file_export,
    .shutdown = file_shutdown,
    .after_fork_child = NULL, /* the descriptor is shared and O_APPEND */
    .destroy = file_destroy,
};

/* Creates the exporter; see exporter.h. Returns 0, CTR_EINVAL (no path),
 * CTR_EIO (open failed, message in `err`) or CTR_ENOMEM. */
int ctr_file_exporter_new(const char *path, struct ctr_exporter **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!path || !*path) {
        if (err && errlen)
            snprintf(err, errlen, "file exporter: no path given");
        return CTR_EINVAL;
    }
    struct file_exporter *x = calloc(1, sizeof *x);
    if (!x)
        return CTR_ENOMEM;
    x->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (x->fd < 0) {
        char eb[128];
        if (err && errlen)
            snprintf(err, errlen, "cannot open %s: %s", path, strerror_r(errno, eb, sizeof eb));
        free(x);
        return CTR_EIO;
    }
    ctr_exporter_init(&x->base, &file_ops);

    char *abs = realpath(path, NULL);
    snprintf(x->base.destination, sizeof x->base.destination, "%s", abs ? abs : path);
    free(abs);
    *out = &x->base;
    return 0;
}
