/*
 * An LD_PRELOAD shim for the Python tests: getaddrinfo() sleeps
 * $SLOW_GETADDRINFO_MS milliseconds, appends the host it was asked for to the
 * file $SLOW_GETADDRINFO_LOG (one line each), then calls the real one. With
 * neither variable set it only forwards.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
                              struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    getaddrinfo_fn real = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    if (!real)
        return EAI_SYSTEM;
    const char *log = getenv("SLOW_GETADDRINFO_LOG");
    if (log && *log) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char line[512];
            int n = snprintf(line, sizeof line, "%s\n", node ? node : "(null)");
            if (n > 0 && write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0)
                n = 0;
            close(fd);
        }
    }
    const char *ms = getenv("SLOW_GETADDRINFO_MS");
    long wait = ms ? strtol(ms, NULL, 10) : 0;
    if (wait > 0) {
        struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
    }
    return real(node, service, hints, res);
}
