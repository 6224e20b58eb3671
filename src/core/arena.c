/*
 * The bump allocator behind spans, resources and decoded traces: memory comes
 * in blocks that are released together. See chaostracing/common.h.
 */
#include <chaostracing/common.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define ARENA_FIRST_BLOCK 2048
#define ARENA_ALIGN 8
/* Blocks double in size up to this; bigger requests get a block of their own. */
#define ARENA_MAX_GROWTH ((size_t)64 * 1024 * 1024)

struct ctr_arena_block {
    struct ctr_arena_block *next;
    size_t cap;
    alignas(max_align_t) unsigned char data[];
};

void *ctr_arena_alloc(struct ctr_arena *a, size_t n)
{
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    if (!a->head || a->cap - a->used < n) {
        size_t cap = !a->head                    ? ARENA_FIRST_BLOCK
                     : a->cap < ARENA_MAX_GROWTH ? a->cap * 2
                                                 : ARENA_MAX_GROWTH;
        if (cap < n)
            cap = n;
        if (a->limit && (cap > a->limit || a->total > a->limit - cap))
            cap = n; /* a last exact-size try within the limit */
        if (cap > SIZE_MAX - sizeof(struct ctr_arena_block) ||
            (a->limit && (cap > a->limit || a->total > a->limit - cap)))
            return NULL;
        struct ctr_arena_block *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->cap = cap;
        a->head = b;
        a->used = 0;
        a->cap = cap;
        a->total += cap;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return p;
}

char *ctr_arena_strndup(struct ctr_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = ctr_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void ctr_arena_free(struct ctr_arena *a)
{
    struct ctr_arena_block *b = a->head;
    while (b) {
        struct ctr_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = a->cap = a->total = 0;
}

void ctr_arena_reset(struct ctr_arena *a)
{
    struct ctr_arena_block *b = a->head;
    if (!b)
        return;
    while (b->next) { /* keep the oldest (first) block */
        struct ctr_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = b;
    a->used = 0;
    a->cap = a->total = b->cap;
}

bool ctr__arena_owns(const struct ctr_arena *a, const void *p)
{
    for (const struct ctr_arena_block *b = a->head; b; b = b->next) {
        const unsigned char *c = p;
        if (c >= b->data && c < b->data + b->cap)
            return true;
    }
    return false;
}
