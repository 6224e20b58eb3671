/*
 * The open hypothesis and activity spans, keyed by (context dict, thread).
 *
 * Parents are found by identity, never through a thread-local "current
 * span": background activities (a thread pool) and the continuous hypothesis
 * (its own thread) get the right parents. The table holds pointers to entries
 * allocated one by one. A hook takes its entry out of the table before it
 * runs any Python code, and owns it until it closes it or puts it back, so
 * another thread growing or compacting the table never touches it.
 */
#include "binding.h"

#include <stdlib.h>
#include <string.h>

struct open_entry *open_entry_new(enum entry_kind kind, PyObject *context, unsigned long thread,
                                  struct ctr_span *span)
{
    struct open_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = kind;
    e->context = Py_NewRef(context);
    e->thread = thread;
    e->span = span;
    return e;
}

int open_table_add(struct open_table *t, struct open_entry *e)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct open_entry **items = realloc(t->items, cap * sizeof *items);
        if (!items)
            return -1;
        t->items = items;
        t->cap = cap;
    }
    t->items[t->n++] = e;
    return 0;
}

/* Remove item `i`, keeping the order (innermost last). */
static struct open_entry *remove_at(struct open_table *t, size_t i)
{
    struct open_entry *e = t->items[i];
    memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof *t->items);
    t->n--;
    return e;
}

static bool matches(const struct open_entry *e, enum entry_kind kind, PyObject *context,
                    unsigned long thread)
{
    return e->kind == kind && e->context == context && e->thread == thread && !e->end_ns;
}

struct open_entry *open_table_take(struct open_table *t, enum entry_kind kind, PyObject *context,
                                   unsigned long thread)
{
    for (size_t i = t->n; i-- > 0;)
        if (matches(t->items[i], kind, context, thread))
            return remove_at(t, i);
    return NULL;
}

bool open_table_has(const struct open_table *t, enum entry_kind kind, PyObject *context,
                    unsigned long thread)
{
    for (size_t i = 0; i < t->n; i++)
        if (matches(t->items[i], kind, context, thread))
            return true;
    return false;
}

struct ctr_span *open_table_hypothesis(const struct open_table *t, unsigned long thread)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->items[i]->kind == ENTRY_HYPOTHESIS && t->items[i]->thread == thread)
            return t->items[i]->span;
    return NULL;
}

bool open_table_has_span(const struct open_table *t, const struct ctr_span *span)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i]->span == span)
            return true;
    return false;
}

struct ctr_span *open_table_by_id(const struct open_table *t, const uint8_t *span_id)
{
    for (size_t i = t->n; i-- > 0;) {
        struct ctr_span_context c;
        ctr_span_get_context(t->items[i]->span, &c);
        if (memcmp(c.span_id, span_id, CTR_SPAN_ID_LEN) == 0)
            return t->items[i]->span;
    }
    return NULL;
}

struct ctr_span *open_table_innermost(const struct open_table *t, unsigned long thread)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->items[i]->thread == thread && !t->items[i]->end_ns)
            return t->items[i]->span;
    return NULL;
}

struct open_entry **open_table_take_probes(struct open_table *t, const struct ctr_span *h,
                                           size_t *n)
{
    *n = 0;
    size_t count = 0;
    for (size_t i = 0; i < t->n; i++)
        count += t->items[i]->kind == ENTRY_ACTIVITY && t->items[i]->hypothesis == h;
    if (!count)
        return NULL;
    struct open_entry **out = malloc(count * sizeof *out);
    if (!out)
        return NULL; /* they stay in the table and end with the run */
    for (size_t i = 0; i < t->n;) {
        if (t->items[i]->kind == ENTRY_ACTIVITY && t->items[i]->hypothesis == h)
            out[(*n)++] = remove_at(t, i);
        else
            i++;
    }
    return out;
}

struct open_entry **open_table_take_all(struct open_table *t, size_t *n)
{
    struct open_entry **all = t->items;
    *n = t->n;
    t->items = NULL;
    t->n = t->cap = 0;
    return all;
}

/* Forget the injected header names and saved values. */
static void clear_injected(struct open_entry *e)
{
    for (int i = 0; i < e->n_inj; i++) {
        free(e->inj_name[i]);
        e->inj_name[i] = NULL;
        Py_CLEAR(e->inj_saved[i]);
    }
    e->n_inj = 0;
}

void open_entry_free(struct open_entry *e)
{
    if (!e)
        return;
    clear_injected(e);
    Py_CLEAR(e->headers);
    Py_CLEAR(e->context);
    Py_CLEAR(e->otel_token); /* detached by its own thread only (activity.c) */
    Py_CLEAR(e->env_saved);
    free(e);
}

void open_entry_restore(struct open_entry *e)
{
    if (e->env_saved)
        ctl_env_pop(e->st, e);
    if (!e->headers)
        return;
    for (int i = e->n_inj; i-- > 0;) {
        if (e->inj_saved[i])
            PyDict_SetItemString(e->headers, e->inj_name[i], e->inj_saved[i]);
        else if (PyDict_GetItemString(e->headers, e->inj_name[i]))
            PyDict_DelItemString(e->headers, e->inj_name[i]);
    }
    clear_injected(e);
    PyObject *provider = ctl_dget(e->context, "provider");
    if (e->created_headers && provider && PyDict_Check(provider) && PyDict_Size(e->headers) == 0 &&
        PyDict_GetItemString(provider, "headers") == e->headers)
        PyDict_DelItemString(provider, "headers");
    PyErr_Clear();
    Py_CLEAR(e->headers);
}

void open_entry_mark_interrupted(struct open_entry *e)
{
    if (e->kind != ENTRY_ACTIVITY || e->end_ns)
        return;
    ctr_span_set_str(e->span, "chaostoolkit.activity.status", "interrupted", 11);
    ctr_span_set_status(e->span, CTR_STATUS_ERROR, "interrupted", 11);
}

void open_entry_close(struct open_entry *e)
{
    /* OpenTelemetry's context can only be put back in its own thread. */
    if (e->otel_token && e->st && e->thread == PyThread_get_thread_ident())
        ctl_otel_detach(e->st, e);
    open_entry_restore(e);
    if (!e->end_ns && ctr_span_get_status(e->span) == CTR_STATUS_UNSET)
        ctr_span_set_status(e->span, CTR_STATUS_ERROR, "not completed", 13);
    ctr_span_end(e->span, e->end_ns);
    e->span = NULL;
    open_entry_free(e);
}

int open_table_traverse(const struct open_table *t, visitproc visit, void *arg)
{
    for (size_t i = 0; i < t->n; i++) {
        Py_VISIT(t->items[i]->context);
        Py_VISIT(t->items[i]->headers);
        Py_VISIT(t->items[i]->otel_token);
        Py_VISIT(t->items[i]->env_saved);
    }
    return 0;
}
