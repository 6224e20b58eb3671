/*
 * Random trace and span ids: one xoshiro256** generator per thread, seeded
 * once from getrandom(). A fork() bumps a generation counter so a child never
 * repeats its parent's ids.
 */
#include <chaostracing/tracer.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static atomic_uint fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

struct rng {
    uint64_t s[4];
    unsigned generation;
    bool seeded;
};

static _Thread_local struct rng tl_rng;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Seed from getrandom; if the kernel refuses, mix time, pid and address. */
static void seed(struct rng *r)
{
    pthread_once(&atfork_once, register_atfork);
    uint64_t buf[4] = {0};
    ssize_t got = getrandom(buf, sizeof buf, GRND_NONBLOCK);
    if (got != (ssize_t)sizeof buf) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid() ^
                     (uint64_t)(uintptr_t)r;
        for (int i = 0; i < 4; i++)
            buf[i] ^= splitmix64(&x);
    }
    memcpy(r->s, buf, sizeof buf);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
    r->generation = atomic_load_explicit(&fork_generation, memory_order_relaxed);
    r->seeded = true;
}

static uint64_t next_u64(void)
{
    struct rng *r = &tl_rng;
    if (!r->seeded || r->generation != atomic_load_explicit(&fork_generation, memory_order_relaxed))
        seed(r);
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void ctr_new_trace_id(uint8_t out[CTR_TRACE_ID_LEN])
{
    uint64_t hi, lo;
    do {
        hi = next_u64();
        lo = next_u64();
    } while (!(hi | lo));
    memcpy(out, &hi, 8);
    memcpy(out + 8, &lo, 8);
}

void ctr_new_span_id(uint8_t out[CTR_SPAN_ID_LEN])
{
    uint64_t v;
    do {
        v = next_u64();
    } while (!v);
    memcpy(out, &v, 8);
}

void ctr_new_xray_trace_id(uint64_t unix_ns, uint8_t out[CTR_TRACE_ID_LEN])
{
    uint32_t secs = (uint32_t)(unix_ns / 1000000000u);
    uint64_t a = next_u64(), b = next_u64();
    out[0] = (uint8_t)(secs >> 24);
    out[1] = (uint8_t)(secs >> 16);
    out[2] = (uint8_t)(secs >> 8);
    out[3] = (uint8_t)secs;
    memcpy(out + 4, &a, 8);
    memcpy(out + 12, &b, 4);
    uint8_t any = 0;
    for (int i = 0; i < CTR_TRACE_ID_LEN; i++)
        any |= out[i];
    if (!any)
        out[15] = 1; /* never all zero */
}
