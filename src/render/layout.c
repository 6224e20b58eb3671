/*
 * Layout shared by the renderers: spans grouped into traces, parents found,
 * children ordered, and each trace walked into rows (span, depth, last
 * child, cycle top) in preorder.
 *
 * Nodes are sorted by (trace id, span id), so a trace is a contiguous range
 * and a parent is found by binary search in it. The walk keeps its own stack
 * (no recursion) and marks visited nodes, so deep traces cannot exhaust the
 * stack and parent cycles cannot loop: whatever the roots' walk leaves
 * unvisited hangs below a cycle, which is shown once from its earliest span.
 */
#include <stdlib.h>
#include <string.h>

#include "render/internal.h"

enum node_flag {
    NF_HAS_PARENT = 1,
    NF_VISITED = 2,
    NF_ON_PATH = 4,
};

/* A span's position among its siblings: by parent, start time, then node. */
struct ctr__rkid {
    size_t parent;
    uint64_t start;
    size_t node;
};

struct ctr__rframe {
    size_t node;
    size_t next; /* next child to visit */
};

static int cmp_node(const void *pa, const void *pb)
{
    const struct ctr_span *a = ((const struct ctr__rnode *)pa)->span;
    const struct ctr_span *b = ((const struct ctr__rnode *)pb)->span;
    int c = memcmp(a->ctx.trace_id, b->ctx.trace_id, CTR_TRACE_ID_LEN);
    return c ? c : memcmp(a->ctx.span_id, b->ctx.span_id, CTR_SPAN_ID_LEN);
}

static int cmp_kid(const void *pa, const void *pb)
{
    const struct ctr__rkid *a = pa, *b = pb;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node;
}

static int cmp_trace(const void *pa, const void *pb)
{
    const struct ctr__rtrace *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* The service.name of a resource when it is a string. */
static struct ctr_str service_of(const struct ctr_resource *r)
{
    const struct ctr_attr *a = r ? ctr_attr_list_get(&r->attrs, "service.name", 12) : NULL;
    if (a && a->value.type == CTR_VALUE_STRING && a->value.u.s.ptr)
        return a->value.u.s;
    return (struct ctr_str){NULL, 0};
}

static bool same_trace(const struct ctr__rnode *a, const struct ctr__rnode *b)
{
    return memcmp(a->span->ctx.trace_id, b->span->ctx.trace_id, CTR_TRACE_ID_LEN) == 0;
}

int ctr__layout_init(struct ctr__layout *l, const struct ctr_batch *batches, size_t n)
{
    memset(l, 0, sizeof *l);
    size_t total = 0;
    for (size_t b = 0; b < n; b++)
        for (size_t i = 0; i < batches[b].len; i++)
            total += batches[b].spans[i] != NULL;
    if (total == 0)
        return 0;
    l->nodes = calloc(total, sizeof *l->nodes);
    l->rows = calloc(total, sizeof *l->rows);
    l->kids = calloc(total, sizeof *l->kids);
    l->keys = calloc(total, sizeof *l->keys);
    l->stack = calloc(total, sizeof *l->stack);
    if (!l->nodes || !l->rows || !l->kids || !l->keys || !l->stack)
        return CTR_ENOMEM;
    for (size_t b = 0; b < n; b++) {
        struct ctr_str svc = service_of(batches[b].resource);
        for (size_t i = 0; i < batches[b].len; i++) {
            const struct ctr_span *s = batches[b].spans[i];
            if (s)
                l->nodes[l->n++] = (struct ctr__rnode){s, svc, CTR__NO_PARENT,
                                                       0, 0,   s->has_parent ? NF_HAS_PARENT : 0};
        }
    }
    qsort(l->nodes, l->n, sizeof *l->nodes, cmp_node);

    for (size_t i = 0; i < l->n; i++)
        l->n_traces += i == 0 || !same_trace(&l->nodes[i], &l->nodes[i - 1]);
    l->traces = calloc(l->n_traces, sizeof *l->traces);
    if (!l->traces)
        return CTR_ENOMEM;
    size_t t = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (i == 0 || !same_trace(&l->nodes[i], &l->nodes[i - 1]))
            l->traces[t++] = (struct ctr__rtrace){i, 0, UINT64_MAX};
        struct ctr__rtrace *tr = &l->traces[t - 1];
        tr->count++;
        if (l->nodes[i].span->start_ns < tr->start)
            tr->start = l->nodes[i].span->start_ns;
    }
    qsort(l->traces, l->n_traces, sizeof *l->traces, cmp_trace);
    return 0;
}

/* Find the parent of every node of trace `t` and build the children lists
 * in l->kids, each in start order. */
static void link_trace(struct ctr__layout *l, const struct ctr__rtrace *t)
{
    struct ctr__rnode *s = l->nodes;
    size_t a = t->first, b = t->first + t->count, nk = 0;
    for (size_t i = a; i < b; i++) {
        s[i].parent = CTR__NO_PARENT;
        s[i].nkid = s[i].kid0 = 0;
        s[i].flags &= (uint8_t) ~(NF_VISITED | NF_ON_PATH);
        if (!(s[i].flags & NF_HAS_PARENT))
            continue;
        const uint8_t *want = s[i].span->parent_span_id;
        size_t lo = a, hi = b;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = memcmp(s[mid].span->ctx.span_id, want, CTR_SPAN_ID_LEN);
            if (c == 0) {
                s[i].parent = mid;
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (s[i].parent != CTR__NO_PARENT)
            l->keys[nk++] = (struct ctr__rkid){s[i].parent, s[i].span->start_ns, i};
    }
    qsort(l->keys, nk, sizeof *l->keys, cmp_kid);
    for (size_t i = 0; i < nk; i++) {
        struct ctr__rnode *p = &s[l->keys[i].parent];
        if (p->nkid == 0)
            p->kid0 = i;
        p->nkid++;
        l->kids[i] = l->keys[i].node;
    }
}

/* Append the subtree of `top` (already marked visited) in preorder. */
static void walk_from(struct ctr__layout *l, size_t top, bool cycle)
{
    struct ctr__rnode *s = l->nodes;
    size_t sp = 0;
    l->rows[l->n_rows++] = (struct ctr__rrow){top, 0, true, cycle};
    l->stack[sp++] = (struct ctr__rframe){top, 0};
    while (sp > 0) {
        struct ctr__rframe *f = &l->stack[sp - 1];
        const struct ctr__rnode *p = &s[f->node];
        while (f->next < p->nkid && (s[l->kids[p->kid0 + f->next]].flags & NF_VISITED))
            f->next++;
        if (f->next == p->nkid) {
            sp--;
            continue;
        }
        size_t c = l->kids[p->kid0 + f->next++];
        size_t j = f->next;
        while (j < p->nkid && (s[l->kids[p->kid0 + j]].flags & NF_VISITED))
            j++;
        s[c].flags |= NF_VISITED;
        l->rows[l->n_rows++] = (struct ctr__rrow){c, sp, j == p->nkid, false};
        l->stack[sp++] = (struct ctr__rframe){c, 0};
    }
}

/* The member of the parent cycle above unvisited node `i` that starts first:
 * every node left unvisited after the roots' walk hangs below such a cycle. */
static size_t cycle_top(struct ctr__rnode *s, size_t i)
{
    size_t x = i;
    s[x].flags |= NF_ON_PATH;
    while (s[x].parent != CTR__NO_PARENT && !(s[s[x].parent].flags & NF_ON_PATH)) {
        x = s[x].parent;
        s[x].flags |= NF_ON_PATH;
    }
    if (s[x].parent == CTR__NO_PARENT)
        return x; /* cannot happen: such a node would be a root */
    size_t first = s[x].parent, best = first;
    for (size_t y = s[first].parent; y != first; y = s[y].parent)
        if (s[y].span->start_ns < s[best].span->start_ns)
            best = y;
    return best;
}

void ctr__layout_walk(struct ctr__layout *l, size_t ti)
{
    const struct ctr__rtrace *t = &l->traces[ti];
    struct ctr__rnode *s = l->nodes;
    link_trace(l, t);
    l->n_rows = 0;
    /* Roots in start order (the keys are free again once linked). */
    size_t nr = 0;
    for (size_t i = t->first; i < t->first + t->count; i++)
        if (s[i].parent == CTR__NO_PARENT)
            l->keys[nr++] = (struct ctr__rkid){0, s[i].span->start_ns, i};
    qsort(l->keys, nr, sizeof *l->keys, cmp_kid);
    for (size_t r = 0; r < nr; r++) {
        s[l->keys[r].node].flags |= NF_VISITED;
        walk_from(l, l->keys[r].node, false);
    }
    /* What is left hangs below parent cycles; show each cycle once. */
    for (size_t i = t->first; i < t->first + t->count; i++) {
        if (s[i].flags & NF_VISITED)
            continue;
        size_t top = cycle_top(s, i);
        s[top].flags |= NF_VISITED;
        walk_from(l, top, true);
    }
}

void ctr__layout_free(struct ctr__layout *l)
{
    free(l->nodes);
    free(l->traces);
    free(l->rows);
    free(l->kids);
    free(l->keys);
    free(l->stack);
    memset(l, 0, sizeof *l);
}

size_t ctr__layout_find(const struct ctr__layout *l, const uint8_t id[CTR_TRACE_ID_LEN])
{
    for (size_t t = 0; t < l->n_traces; t++)
        if (memcmp(l->nodes[l->traces[t].first].span->ctx.trace_id, id, CTR_TRACE_ID_LEN) == 0)
            return t;
    return SIZE_MAX;
}
