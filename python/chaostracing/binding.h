/*
 * chaostracing.control — what the files of the binding share.
 *
 *   module.c      module definition, state, init, GC, sub-interpreter and
 *                 free-threading declarations
 *   settings.c    configure_control / cleanup_control: Python values into the
 *                 library's settings, the tracer's start and end
 *   hooks.c       the experiment, phase and hypothesis hooks
 *   activity.c    the activity hooks and HTTP header injection
 *   open_spans.c  the table of open hypothesis and activity spans
 *   span_type.c   the Span type and start_span()
 *   hook_type.c   the Hook type (hooks with a ready __signature__)
 *   convert.c     Python values into UTF-8, attributes and JSON text
 *   logbridge.c   the library's log sink and the "chaostoolkit" logger
 *
 * Everything runs with the GIL held unless a comment says otherwise. The
 * binding reaches the library through include/ only and never keeps a
 * pointer into a container (the open-span table, a list, a dict) across a
 * call that can run Python code: entries are taken out of the table first.
 */
#ifndef CHAOSTRACING_BINDING_H
#define CHAOSTRACING_BINDING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compat.h"

#include <chaostracing/chaostracing.h>
#include <chaostracing/settings.h>

/* Longest activity output recorded, in characters. */
#define CTL_OUTPUT_MAX_CHARS 4096

/* ---- the open-span table (open_spans.c) ---- */

enum entry_kind { ENTRY_HYPOTHESIS, ENTRY_ACTIVITY };

/* At most this many headers injected into one request. */
#define MAX_INJECTED 16

/* One open hypothesis or activity span. Each entry is its own allocation;
 * the table holds pointers, so an entry taken out stays valid. */
struct open_entry {
    enum entry_kind kind;
    PyObject *context; /* strong: its identity cannot be reused while open */
    unsigned long thread;
    struct ctr_span *span;
    PyObject *headers;    /* the http provider's headers dict we injected into */
    bool created_headers; /* we added "headers" to the provider */
    char *inj_name[MAX_INJECTED];
    PyObject *inj_saved[MAX_INJECTED]; /* what was there before (NULL: absent) */
    int n_inj;
    /* A hypothesis probe ends with its hypothesis (its tolerance_met is only
     * known then); end_ns is set once the probe itself is over. */
    struct ctr_span *hypothesis;
    uint64_t end_ns;
};

struct open_table {
    struct open_entry **items;
    size_t n, cap;
};

/* A new zeroed entry (not in any table), or NULL when out of memory. */
struct open_entry *open_entry_new(enum entry_kind kind, PyObject *context, unsigned long thread,
                                  struct ctr_span *span);
/* Add `e` to the table; -1 when out of memory (then `e` is not added). */
int open_table_add(struct open_table *t, struct open_entry *e);
/* Take the open (not finished) entry for (kind, context, thread) out of the
 * table; NULL when there is none. The caller owns it from then on. */
struct open_entry *open_table_take(struct open_table *t, enum entry_kind kind, PyObject *context,
                                   unsigned long thread);
/* True when such an entry is in the table. */
bool open_table_has(const struct open_table *t, enum entry_kind kind, PyObject *context,
                    unsigned long thread);
/* True when an entry of span `span` is in the table. */
bool open_table_has_span(const struct open_table *t, const struct ctr_span *span);
/* The innermost hypothesis span open in `thread`, or NULL. */
struct ctr_span *open_table_hypothesis(const struct open_table *t, unsigned long thread);
/* The innermost unfinished span of `thread` (activity or hypothesis), or NULL. */
struct ctr_span *open_table_innermost(const struct open_table *t, unsigned long thread);
/* Take out every entry of hypothesis span `h` (its probes) into a new array
 * (*n entries, free() it); NULL with *n = 0 when there are none. */
struct open_entry **open_table_take_probes(struct open_table *t, const struct ctr_span *h,
                                           size_t *n);
/* Take out every entry (for ending them all); free() the array. */
struct open_entry **open_table_take_all(struct open_table *t, size_t *n);
/* Put back the provider's headers as they were before injection. May run
 * Python code: `e` must not be in a table. */
void open_entry_restore(struct open_entry *e);
/* Put back the provider's headers, end the span (a span whose activity
 * never reported its end is marked not completed) and free the entry. May
 * run Python code: `e` must not be in a table. */
void open_entry_close(struct open_entry *e);
/* An activity that has not ended yet was cut short by an interrupt:
 * chaostoolkit.activity.status = interrupted, ERROR (hypotheses and ended
 * activities are left alone). */
void open_entry_mark_interrupted(struct open_entry *e);
/* Free an entry without ending its span (module teardown). */
void open_entry_free(struct open_entry *e);
int open_table_traverse(const struct open_table *t, visitproc visit, void *arg);

/* ---- module state (module.c) ---- */

typedef struct {
    struct ctr_tracer *tracer;
    uint64_t generation; /* bumped when a tracer starts and when it stops */
    char destination[512];
    int configured;
    struct ctr_span *experiment;
    unsigned long experiment_thread;
    struct ctr_span *method;
    struct ctr_span *rollbacks;
    bool method_seen;
    char *tracestate; /* from TRACESTATE, for injection */
    char *baggage;    /* from BAGGAGE, for injection */
    struct open_table open;
    struct ctr_propagation prop; /* formats injected into HTTP activities */
    uint32_t flush_ms;           /* cleanup's delivery deadline */
    enum ctr_output_mode output_mode;
    uint32_t output_limit;   /* characters, for CTR_OUTPUT_TRUNCATED */
    char spool_dir[512];     /* "" when spooling is off */
    char *trace_url;         /* the trace link template, or NULL */
    bool interrupted;        /* the run event handler saw an interruption */
    const char *exit_signal; /* "SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2" or NULL */
    PyObject *logger;        /* logging.getLogger("chaostoolkit"), lazily */
    PyObject *substitute;    /* chaoslib.substitute, lazily */
    PyObject *span_type;
    PyObject *hook_type;
    PyObject *run_events_type;
} ctl_state;

ctl_state *ctl_get_state(PyObject *module);

/* ---- logging (logbridge.c) ---- */

/* The library's log sink: queue the message (any thread, never blocks long). */
void ctl_log_sink(void *ud, int level, const char *msg);
/* Log one message to the "chaostoolkit" logger, prefixed "chaostracing: "
 * when it does not start with it. Never raises; an exception already set is
 * kept. */
void ctl_log(ctl_state *st, int level, const char *msg);
void ctl_logf(ctl_state *st, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Forward the queued library messages to the logger. */
void ctl_drain_logs(ctl_state *st);
/* Fork handlers for the queue's lock (registered once by module.c). */
void ctl_logq_atfork_prepare(void);
void ctl_logq_atfork_parent(void);
void ctl_logq_atfork_child(void);

/* ---- value conversion (convert.c) ---- */

/*
 * Errors inside hooks. ctl_hold_error() clears the exception set, except a
 * KeyboardInterrupt, SystemExit or chaoslib's InterruptExecution (SIGTERM),
 * which is held (per thread) so the hook can finish its bookkeeping;
 * ctl_hook_return() then raises it (NULL) or returns None. Every hook
 * returns through it.
 */
void ctl_hold_error(void);
PyObject *ctl_hook_return(void);

/* Borrowed item of a dict by C-string key, or NULL (no exception). */
PyObject *ctl_dget(PyObject *d, const char *key);
/* UTF-8 bytes of a str (lone surrogates replaced) as a new bytes object whose
 * buffer *p / *n point into; NULL (no exception) for a non-str. */
PyObject *ctl_utf8(PyObject *s, const char **p, Py_ssize_t *n);
/* Set a str value (other types are ignored) as attribute `key`. */
void ctl_set_str(struct ctr_span *sp, const char *key, PyObject *v);
/* Set a list of str as a string array attribute. */
void ctl_set_str_list(struct ctr_span *sp, const char *key, PyObject *list);
/*
 * The JSON text of `v` as json.dumps(v, default=str, ensure_ascii=False)
 * writes it, cut to `max_chars` characters, appended to `out` (UTF-8). Values
 * json cannot encode (a non-string key of another type, nesting deeper than
 * the encoder goes) give repr(v) instead. Returns 0, or -1 with nothing
 * appended when even repr() failed. Leaves no exception set (an interrupt is
 * held, see ctl_hold_error()).
 */
int ctl_json(PyObject *v, size_t max_chars, struct ctr_buf *out);
/* Set the JSON text of `v` (cut to CTL_OUTPUT_MAX_CHARS) as attribute `key`. */
void ctl_set_json(struct ctr_span *sp, const char *key, PyObject *v);
/* Same, cut to `max_chars` (0: not cut here; the span limits still apply). */
void ctl_set_json_max(struct ctr_span *sp, const char *key, PyObject *v, size_t max_chars);
/* Same into an attribute builder. */
void ctl_builder_set_json(struct ctr_attr_builder *b, const char *key, PyObject *v);
void ctl_builder_set_str(struct ctr_attr_builder *b, const char *key, PyObject *v);
/*
 * Convert one Python value into an attribute and pass it to `set`: bool,
 * int, float, str, bytes, a list or tuple of one of those, anything else as
 * its str(). Returns 0, or -1 with TypeError for a non-str key (or an
 * exception from str()).
 */
typedef int (*ctl_attr_sink)(void *target, const struct ctr_attr *a);
int ctl_attr_from_py(PyObject *key, PyObject *value, ctl_attr_sink set, void *target);
/* Every item of a dict (None: nothing) through ctl_attr_from_py(); -1 with
 * TypeError for a non-dict. */
int ctl_attrs_from_py(PyObject *mapping, ctl_attr_sink set, void *target);
/* Sinks for spans and builders. */
int ctl_span_sink(void *span, const struct ctr_attr *a);
int ctl_builder_sink(void *builder, const struct ctr_attr *a);

/* ---- settings (settings.c) ---- */

PyObject *configure_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames);
PyObject *cleanup_control(PyObject *module, PyObject *unused);
extern const char configure_control_doc[];
extern const char cleanup_control_doc[];
/* End every open span, flush by the deadline with the GIL released, log the
 * summary line (when `summary`) and free the tracer. */
void ctl_shutdown_tracing(ctl_state *st, bool summary);

/* ---- hooks (hooks.c, activity.c) ---- */

/* A keyword argument of a vectorcall by name; borrowed or NULL. */
PyObject *ctl_kwarg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *name);
/* The context (first positional or "context") and state (second or "state"). */
PyObject *ctl_context_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *ctl_state_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
/* Start a span as a child of `parent` (may be NULL) with chaostoolkit.type. */
struct ctr_span *ctl_start(ctl_state *st, const char *name, size_t nlen, struct ctr_span *parent,
                           ctr_span_kind kind, const char *type);

#define CTL_HOOK_DECL(name)                                                                        \
    PyObject *name(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);  \
    extern const char name##_doc[]

CTL_HOOK_DECL(before_experiment_control);
CTL_HOOK_DECL(after_experiment_control);
CTL_HOOK_DECL(before_method_control);
CTL_HOOK_DECL(after_method_control);
CTL_HOOK_DECL(before_rollback_control);
CTL_HOOK_DECL(after_rollback_control);
CTL_HOOK_DECL(before_hypothesis_control);
CTL_HOOK_DECL(after_hypothesis_control);
CTL_HOOK_DECL(before_activity_control);
CTL_HOOK_DECL(after_activity_control);

/* ---- types (span_type.c, hook_type.c) ---- */

extern PyType_Spec ctl_span_spec;
extern PyType_Spec ctl_hook_spec;
extern PyType_Spec ctl_run_events_spec;
/* Register the control's run event handler with chaoslib's registry (None:
 * nothing to do). Returns 0, or -1 with an exception set. */
int ctl_register_run_events(ctl_state *st, PyObject *module, PyObject *registry);
/* Note the signal behind the exception being handled (sys.exc_info()), if
 * any: a hook called while a signal's exception unwinds the run (chaoslib
 * sends no run event for an interrupt of the rollbacks). */
void ctl_note_exit_signal(ctl_state *st);
PyObject *ctl_start_span(PyObject *module, PyObject *args, PyObject *kwargs);
extern const char ctl_start_span_doc[];
/* A Hook object calling `func`, whose __signature__ is computed once. */
PyObject *ctl_hook_new(PyTypeObject *type, PyObject *func);

#endif
