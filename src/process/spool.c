/*
 * The spool: undelivered spans on disk, sent later. See chaostracing/spool.h
 * for the file layout and the guarantees.
 */
#include <chaostracing/decode.h>
#include <chaostracing/spool.h>
#include <chaostracing/tracer.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SUFFIX ".jsonl"
#define CLAIM ".claimed."
#define MAX_FILE ((off_t)256 << 20) /* larger files are not ours: corrupt */
#define MAX_NAME 128
#define STALE_TMP_S 600                 /* a temporary file this old lost its writer */
#define STALE_CORRUPT_S (7 * 24 * 3600) /* set-aside files are kept a week */
#define MAX_DIR 4000
/* Room for the directory, a name, a claim suffix and ".tmp". */
#define PATH_SIZE (MAX_DIR + 2 * MAX_NAME + 64)

struct ctr_spool {
    char *dir;
    uint64_t max_bytes;
};

/* One file of the directory. */
struct entry {
    char name[MAX_NAME];
    uint64_t size;
    uint64_t spans;
    bool claimed;
    pid_t owner; /* of a claim */
};

int ctr_spool_default_dir(const char *(*get)(void *ud, const char *name), void *ud, char *out,
                          size_t size)
{
    const char *xdg = get ? get(ud, "XDG_CACHE_HOME") : getenv("XDG_CACHE_HOME");
    const char *home = get ? get(ud, "HOME") : getenv("HOME");
    int n;
    if (xdg && *xdg == '/')
        n = snprintf(out, size, "%s/chaostracing/spool", xdg);
    else if (home && *home)
        n = snprintf(out, size, "%s/.cache/chaostracing/spool", home);
    else
        return CTR_EINVAL;
    return n > 0 && (size_t)n < size ? 0 : CTR_EINVAL;
}

/* mkdir -p with mode 0700; 0 or an errno. */
static int make_dirs(const char *path)
{
    char tmp[MAX_DIR];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return ENAMETOOLONG;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return errno;
        tmp[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

int ctr_spool_open(const char *dir, uint64_t max_bytes, struct ctr_spool **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    int e = !dir || !*dir ? ENOENT : strlen(dir) >= MAX_DIR ? ENAMETOOLONG : make_dirs(dir);
    if (e) {
        if (err && errlen)
            snprintf(err, errlen, "cannot use %s as the spool directory: %s", dir ? dir : "",
                     strerror(e));
        return CTR_EIO;
    }
    struct ctr_spool *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return CTR_ENOMEM;
    }
    s->max_bytes = max_bytes ? max_bytes : CTR_SPOOL_DEFAULT_MAX_BYTES;
    *out = s;
    return 0;
}

void ctr_spool_close(struct ctr_spool *s)
{
    if (!s)
        return;
    free(s->dir);
    free(s);
}

const char *ctr_spool_dir(const struct ctr_spool *s)
{
    return s ? s->dir : "";
}

/* Parse a spool file name: "<ns>-<pid>-<rand>-<spans>.jsonl[.claimed.<pid>]".
 * False for anything else (temporary files, strangers). */
static bool parse_name(const char *name, struct entry *e)
{
    size_t n = strlen(name);
    if (n >= MAX_NAME)
        return false;
    const char *suffix = strstr(name, SUFFIX);
    if (!suffix)
        return false;
    const char *after = suffix + strlen(SUFFIX);
    e->claimed = false;
    e->owner = 0;
    if (*after) {
        if (strncmp(after, CLAIM, strlen(CLAIM)) != 0)
            return false;
        char *end = NULL;
        long pid = strtol(after + strlen(CLAIM), &end, 10);
        if (!end || *end || pid <= 0)
            return false;
        e->claimed = true;
        e->owner = (pid_t)pid;
    }
    /* The span count: the last '-' field before the suffix. */
    const char *dash = NULL;
    for (const char *p = name; p < suffix; p++)
        if (*p == '-')
            dash = p;
    if (!dash || dash + 1 == suffix || name[0] < '0' || name[0] > '9')
        return false;
    uint64_t spans = 0;
    for (const char *p = dash + 1; p < suffix; p++) {
        if (*p < '0' || *p > '9')
            return false;
        spans = spans * 10 + (uint64_t)(*p - '0');
    }
    memcpy(e->name, name, n + 1);
    e->spans = spans;
    return true;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* The spool's files, oldest first (malloc'ed; *n entries). NULL with *n = 0
 * for an empty directory; NULL with *err set when it cannot be read. */
static struct entry *list(const struct ctr_spool *s, size_t *n, int *err)
{
    *n = 0;
    *err = 0;
    DIR *d = opendir(s->dir);
    if (!d) {
        *err = CTR_EIO;
        return NULL;
    }
    struct entry *v = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct entry e;
        if (!parse_name(de->d_name, &e))
            continue;
        struct stat st;
        char path[PATH_SIZE];
        snprintf(path, sizeof path, "%s/%s", s->dir, e.name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        e.size = (uint64_t)st.st_size;
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct entry *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                free(v);
                closedir(d);
                *n = 0;
                *err = CTR_ENOMEM;
                return NULL;
            }
            v = nv;
            cap = nc;
        }
        v[(*n)++] = e;
    }
    closedir(d);
    if (*n > 1)
        qsort(v, *n, sizeof *v, cmp_entry);
    return v;
}

/* "<dir>/<name>" into `out`. */
static void path_of(const struct ctr_spool *s, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", s->dir, name);
}

/* The unclaimed name of a claimed file into `out`. */
static void unclaimed_name(const struct entry *e, char *out, size_t size)
{
    const char *suffix = strstr(e->name, SUFFIX);
    snprintf(out, size, "%.*s%s", (int)(suffix - e->name), e->name, SUFFIX);
}

/* Give back the claims of processes that are gone. */
static void reclaim_abandoned(const struct ctr_spool *s, struct entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!v[i].claimed || v[i].owner == getpid() ||
            !(kill(v[i].owner, 0) != 0 && errno == ESRCH))
            continue;
        char from[PATH_SIZE], to[PATH_SIZE], name[MAX_NAME];
        unclaimed_name(&v[i], name, sizeof name);
        path_of(s, v[i].name, from, sizeof from);
        path_of(s, name, to, sizeof to);
        if (rename(from, to) == 0) {
            memcpy(v[i].name, name, sizeof name);
            v[i].claimed = false;
        }
    }
}

/* Write all of `p` to `fd`; 0 or an errno. */
static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Remove what dead writers and old quarantines leave: "*.tmp" files older
 * than STALE_TMP_S (a writer renames within milliseconds) and corrupt/ files
 * older than STALE_CORRUPT_S. */
static void remove_leftovers(const struct ctr_spool *s)
{
    static const struct {
        const char *sub, *suffix;
        time_t age;
    } kinds[] = {{"", ".tmp", STALE_TMP_S}, {"/corrupt", "", STALE_CORRUPT_S}};
    time_t now = time(NULL);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char dir[PATH_SIZE], path[PATH_SIZE];
        snprintf(dir, sizeof dir, "%s%s", s->dir, kinds[k].sub);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name), sl = strlen(kinds[k].suffix);
            struct stat st;
            if (de->d_name[0] == '.' || n <= sl || n >= MAX_NAME ||
                strcmp(de->d_name + n - sl, kinds[k].suffix) != 0)
                continue;
            snprintf(path, sizeof path, "%s%s/%s", s->dir, kinds[k].sub, de->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > kinds[k].age)
                unlink(path);
        }
        if (d)
            closedir(d);
    }
}

int ctr_spool_write(struct ctr_spool *s, const uint8_t *line, size_t len, uint64_t n_spans,
                    uint64_t *evicted)
{
    size_t need = len + 1;
    if (need > s->max_bytes)
        return CTR_EFULL;
    remove_leftovers(s);
    size_t n;
    int err;
    struct entry *v = list(s, &n, &err);
    if (err)
        return err;
    reclaim_abandoned(s, v, n);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].size;
    for (size_t i = 0; i < n && total + need > s->max_bytes; i++) {
        if (v[i].claimed)
            continue;
        char path[PATH_SIZE];
        path_of(s, v[i].name, path, sizeof path);
        if (unlink(path) == 0) {
            total -= v[i].size;
            if (evicted)
                *evicted += v[i].spans;
        }
    }
    free(v);
    if (total + need > s->max_bytes)
        return CTR_EFULL;

    uint64_t rnd;
    ctr_new_span_id((uint8_t *)&rnd);
    char name[MAX_NAME], tmp[PATH_SIZE], final[PATH_SIZE];
    snprintf(name, sizeof name, "%020" PRIu64 "-%ld-%016" PRIx64 "-%" PRIu64 SUFFIX, ctr_now_ns(),
             (long)getpid(), rnd, n_spans);
    path_of(s, name, final, sizeof final);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", s->dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return CTR_EIO;
    int e = write_all(fd, line, len);
    if (!e)
        e = write_all(fd, "\n", 1);
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, final) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        return CTR_EIO;
    }
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* the rename itself survives a crash */
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* Read a whole file (at most MAX_FILE bytes); malloc'ed, NUL-terminated. */
static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && st.st_size <= MAX_FILE && (buf = malloc((size_t)st.st_size + 1))) {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        buf[got] = '\0';
        *len = got;
    }
    close(fd);
    return buf;
}

/* Decode every line of `text` into `d`; false when a line is not a request. */
static bool decode_all(struct ctr_trace_data *d, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n && ctr_trace_data_append_line(d, p, n, NULL, 0) != 0)
            return false;
        p += n + 1;
    }
    return d->spans_skipped == 0;
}

/* Move a claimed file whose content cannot be sent into corrupt/. */
static void quarantine(const struct ctr_spool *s, const char *claimed_path, const char *name)
{
    char dir[PATH_SIZE], to[PATH_SIZE];
    snprintf(dir, sizeof dir, "%s/corrupt", s->dir);
    mkdir(dir, 0700);
    snprintf(to, sizeof to, "%s/corrupt/%s", s->dir, name);
    if (rename(claimed_path, to) != 0)
        unlink(claimed_path);
    ctr_log(CTR_LOG_WARNING,
            "chaostracing: spool file %s/%s is not OTLP JSON; moved to %s, not sent", s->dir, name,
            dir);
}

int ctr_spool_replay_one(struct ctr_spool *s, struct ctr_exporter *e, uint64_t deadline_ns,
                         ctr_replay_continue_fn keep_going, void *ud, struct ctr_replay_stats *st)
{
    size_t n;
    int err;
    struct entry *v = list(s, &n, &err);
    if (err)
        return err;
    reclaim_abandoned(s, v, n);
    int handled = 0;
    st->files_left = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].claimed) {
            st->files_busy += v[i].owner != getpid();
            continue;
        }
        if (handled) {
            st->files_left++;
            continue;
        }
        char from[PATH_SIZE], claimed[PATH_SIZE];
        path_of(s, v[i].name, from, sizeof from);
        snprintf(claimed, sizeof claimed, "%s/%s" CLAIM "%ld", s->dir, v[i].name, (long)getpid());
        if (rename(from, claimed) != 0)
            continue; /* another process took it first */
        handled = 1;
        size_t len = 0;
        char *text = read_file(claimed, &len);
        struct ctr_trace_data d;
        ctr_trace_data_init(&d);
        if (!text || !decode_all(&d, text, len)) {
            quarantine(s, claimed, v[i].name);
            st->files_corrupt++;
        } else {
            int rc = 0;
            for (size_t b = 0; b < d.n_batches && rc == 0; b++) {
                if (keep_going && !keep_going(ud))
                    rc = CTR_ESHUTDOWN;
                else if (d.batches[b].len)
                    rc = ctr_exporter_export(e, &d.batches[b], deadline_ns);
            }
            if (rc == 0 && unlink(claimed) == 0) {
                st->files_sent++;
                st->spans_sent += d.n_spans;
            } else {
                rename(claimed, from); /* sent again whole later: at least once */
                st->files_failed++;
                st->files_left++;
                st->last_error = rc ? rc : CTR_EIO;
            }
        }
        ctr_trace_data_free(&d);
        free(text);
    }
    free(v);
    return handled;
}
