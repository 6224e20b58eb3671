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
 *   holder.c      what the small types share (module holders, dealloc)
 *   current.c     the current span (of a context, of a thread's activity)
 *   span_start.c  starting spans for the three APIs; parents, kinds, links
 *   context_type.c the SpanContext type; inject() and extract()
 *   tracer_type.c the Tracer type and tracer(), current_span() of the API
 *   opentracing.c the OpenTracing tracer, scope manager and scopes
 *   ot_span.c     OpenTracing's methods of the Span type
 *   otel.c        the OpenTelemetry API bridge: loading it, its context
 *   otel_types.c  the OpenTelemetry TracerProvider, Tracer and current-span
 *                 context manager
 *   otel_async.c  the coroutine of a decorated coroutine function
 *   otel_propagator.c OpenTelemetry's global propagator: the control's formats
 *   instrument.c  the OpenTelemetry instrumentations the arguments name
 *   process_env.c TRACEPARENT & co. in the environment of process activities
 *   fronts.c      the two control modules over one state: chaostracing.control
 *                 and chaostracing.oltp (upstream's names; oltp.c is its module)
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
    PyObject *otel_token;   /* the OpenTelemetry context attached for it, or NULL */
    PyObject *env_saved;    /* process activities: the values set for it, or NULL */
    struct ctl_state_s *st; /* activities: the state (environment, OpenTelemetry) */
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
/* The open span whose id is `span_id`, or NULL. */
struct ctr_span *open_table_by_id(const struct open_table *t, const uint8_t *span_id);
/* The innermost unfinished span of `thread` (activity or hypothesis), or NULL. */
struct ctr_span *open_table_innermost(const struct open_table *t, unsigned long thread);
/* Take out every entry of hypothesis span `h` (its probes) into a new array
 * (*n entries, free() it); NULL with *n = 0 when there are none. */
struct open_entry **open_table_take_probes(struct open_table *t, const struct ctr_span *h,
                                           size_t *n);
/* Take out every entry (for ending them all); free() the array. */
struct open_entry **open_table_take_all(struct open_table *t, size_t *n);
/* Put back the provider's headers as they were before injection, and the
 * environment variables of a process activity. May run Python code: `e`
 * must not be in a table. */
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

/* ---- the OpenTelemetry API bridge (otel.c), used when it is installed ---- */

struct ctl_otel {
    bool tried;                    /* the import was attempted */
    PyObject *get_current_span;    /* opentelemetry.trace.get_current_span */
    PyObject *set_span_in_context; /* opentelemetry.trace.set_span_in_context */
    PyObject *attach, *detach;     /* opentelemetry.context */
    PyObject *span_context;        /* opentelemetry.trace.SpanContext */
    PyObject *trace_flags;         /* opentelemetry.trace.TraceFlags */
    PyObject *trace_state;         /* opentelemetry.trace.TraceState */
    PyObject *provider;            /* our TracerProvider object */
    bool ours;                     /* ...is the global one */
    PyObject *instrumented;        /* list of instrumentors we turned on */
    /* The contextvars runtime context's own ContextVar, the current-span key
     * and the Context class: reading and setting the current span without
     * calling into the API (its attach() and get_current_span() do just
     * this). NULL with another runtime context: then the API is called. */
    PyObject *cv, *span_key, *context_cls;
    /* Context keeps dict's __new__ and __init__: made empty and filled in C
     * (OpenTelemetry's Context(d) would copy a dict made for the purpose). */
    bool context_plain;
    PyObject *textmap;          /* our propagator, while it is the global one */
    PyObject *previous_textmap; /* the global propagator before ours */
};

/* ---- module state (module.c) ---- */

/* The control modules in front of one state (fronts.c): the first one
 * configured owns the run and decides span names and attributes. */
enum ctl_front { CTL_FRONT_NONE = 0, CTL_FRONT_NATIVE, CTL_FRONT_OLTP };

typedef struct ctl_state_s {
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
    PyObject *context_type; /* SpanContext */
    PyObject *tracer_type;  /* Tracer (ours) */
    PyObject *tracer_obj;   /* the Tracer tracer() returns */
    PyObject *current;      /* the ContextVar of the current span */
    PyObject *ot_tracer_type, *ot_scope_manager_type, *ot_scope_type;
    PyObject *ot_tracer;   /* the OpenTracing tracer, once made */
    PyObject *ot_previous; /* opentracing's global tracer before ours, while ours is set */
    int ot_previous_registered;
    PyObject *otel_provider_type, *otel_tracer_type, *otel_cm_type, *otel_propagator_type;
    PyObject *otel_coro_type;
    struct ctl_otel otel;
    PyObject *env_stack;         /* process activities' environment values, latest last */
    PyObject *env_original;      /* the variables before the first of them */
    PyObject *env_keys;          /* their names, bytes (process_env.c) */
    PyObject *os_module;         /* os, once imported (process_env.c) */
    PyObject *os_environ;        /* os.environ when last used, and its dict of bytes */
    PyObject *os_environ_data;   /* (os.environ._data), or NULL (process_env.c) */
    int front;                   /* enum ctl_front: who owns the run */
    int configuring;             /* enum ctl_front: whose configure_control is running */
    struct ctr_span *continuous; /* oltp front: the span over a continuous hypothesis */
    uint32_t iteration;          /* continuous hypothesis iterations started */
} ctl_state;

ctl_state *ctl_get_state(PyObject *module);

/* ---- spans for other extensions (span_type.c, span_start.c, current.c) ---- */

/*
 * A Span object. Spans started through one of the APIs own their library
 * span until end(). Views stand for a span the control owns (an activity, a
 * hypothesis, a phase): they hold its ids only and find it again by id each
 * time they change it, so they never point at a span that ended.
 */
typedef struct {
    PyObject_HEAD struct ctr_span *span; /* owned; NULL when ended, non-recording or a view */
    struct ctr_span_context ctx;         /* ids and flags (no tracestate) */
    bool view;
    bool ended;                   /* end() was called */
    bool record_exception;        /* `with` records an exception leaving the block */
    bool set_status_on_exception; /* ...and sets an ERROR status */
    char *tracestate;             /* ctx.trace_state's bytes (PyMem), or NULL */
    PyObject *baggage;            /* OpenTracing baggage items (dict of str), or NULL */
    PyObject *token;              /* while used as a context manager: the current-span token */
    PyObject *module;
} ctl_span;

/* A new Span object: `owned` (may be NULL: not recording) or, for a view,
 * the ids of a span the control owns. Steals `owned`. */
PyObject *ctl_span_new(PyObject *module, struct ctr_span *owned, const struct ctr_span_context *ctx,
                       bool view, PyObject *baggage);
bool ctl_span_check(ctl_state *st, PyObject *o);
/* End an owned span (once) at `end_ns` (0: now); a no-op for views. */
void ctl_span_end_at(ctl_span *self, uint64_t end_ns);
/* Add the "exception" event of `exc` (with `attrs`, a dict or NULL) when
 * `record`; with `set_error`, an ERROR status "Type: message". Never raises
 * (an interrupt is held: ctl_hold_error). */
void ctl_span_record(ctl_span *self, PyObject *exc, PyObject *attrs, uint64_t time_ns, bool escaped,
                     bool set_error, bool record);
/* The library span a Span object changes now, or NULL (ended, not
 * recording, or a view of a span no longer open). */
struct ctr_span *ctl_span_target(ctl_state *st, ctl_span *s);
/* The open span the control owns with this id (activities, hypotheses,
 * phases), or NULL. */
struct ctr_span *ctl_owned_by_id(ctl_state *st, const uint8_t *span_id);

/* What a new span is made of; see ctl_start_span_from(). */
struct ctl_start {
    const char *name;
    size_t nlen;
    int parent; /* 1: `parent` given; 0: the current span; -1: a root */
    struct ctr_span_context parent_ctx;
    char parent_ts[CTR_TRACESTATE_MAX + 1]; /* its tracestate's bytes */
    ctr_span_kind kind;
    PyObject *attributes; /* dict or None/NULL */
    PyObject *links;      /* iterable or None/NULL */
    uint64_t start_ns;    /* 0: now */
    PyObject *baggage;    /* OpenTracing baggage to carry on, or NULL (borrowed) */
};
/* Start a span (not recording when tracing is off, with the parent's ids).
 * New Span object, or NULL with an exception. */
PyObject *ctl_start_span_from(PyObject *module, struct ctl_start *a);
/* The span kind a Python value names: None, a str ("client"...) or an enum
 * member with that name (OpenTelemetry's SpanKind). -1 with ValueError. */
int ctl_kind_from_py(PyObject *v, ctr_span_kind *out);
/* Copy the tracestate `c` points to into `buf` (CTR_TRACESTATE_MAX + 1
 * bytes) and point `c` there; with `buf` NULL, or one too long, drop it. So
 * a context never points into a span or object that Python code may free. */
void ctl_ctx_keep_tracestate(struct ctr_span_context *c, char *buf);
/* The span context a Python value stands for: a Span, a SpanContext, an
 * OpenTelemetry span or SpanContext; its tracestate is copied into `ts_buf`
 * (see ctl_ctx_keep_tracestate). 1 with *out, 0 when it holds none (None,
 * an invalid context), -1 with TypeError for anything else. */
int ctl_context_from_py(ctl_state *st, PyObject *v, struct ctr_span_context *out,
                        PyObject **baggage, char *ts_buf);
/* A time as nanoseconds since the epoch: int nanoseconds, or float seconds
 * when `seconds` (OpenTracing). None: 0. -1 with an exception. */
int ctl_time_from_py(PyObject *v, bool seconds, uint64_t *out);

/* The current span object (new reference), or NULL with no exception when
 * there is none: OpenTelemetry's current span (when its API is loaded), else
 * the span entered last in this context, else the activity (or hypothesis)
 * running in this thread, else the current phase. */
PyObject *ctl_current_span(ctl_state *st, PyObject *module);
/* The context a new span takes as parent; false when there is none. The
 * OpenTracing baggage to carry on is set when there is some (borrowed). */
bool ctl_current_context(ctl_state *st, struct ctr_span_context *out, PyObject **baggage,
                         char *ts_buf);
/* Make `span` current in this context (and OpenTelemetry's): a token for
 * ctl_current_pop(), or NULL with an exception. */
PyObject *ctl_current_push(ctl_state *st, PyObject *span);
/* Undo a push; never raises (a token of another context is dropped). */
void ctl_current_pop(ctl_state *st, PyObject *token);

/* ---- SpanContext, inject, extract (context_type.c) ---- */

extern PyType_Spec ctl_context_spec;
PyObject *ctl_context_new(ctl_state *st, const struct ctr_span_context *ctx, PyObject *baggage);
bool ctl_context_check(ctl_state *st, PyObject *o);
/* The ids and baggage of a SpanContext object (baggage borrowed, may be NULL). */
void ctl_context_get(PyObject *o, struct ctr_span_context *out, PyObject **baggage);
/* Add the propagation headers of `ctx` (with the run's baggage and
 * `baggage`, a dict or NULL) to a carrier: a mapping, or anything when
 * `setter` (an OpenTelemetry Setter) is given. With `ctx` NULL (a context
 * without a span), the W3C baggage header alone. 0, or -1 with an exception. */
int ctl_inject_into(ctl_state *st, const struct ctr_span_context *ctx, PyObject *baggage,
                    PyObject *carrier, PyObject *setter);
/* The SpanContext a carrier (a mapping of headers) holds, or None. */
PyObject *ctl_extract_from(ctl_state *st, PyObject *carrier);
/* The same, and in *baggage (a new dict) the carrier's baggage, which is
 * read also when it holds no span context. NULL with an exception. */
PyObject *ctl_extract_parts(ctl_state *st, PyObject *carrier, PyObject **baggage);

/* ---- the API types (tracer_type.c, opentracing.c, otel.c) ---- */

extern PyType_Spec ctl_tracer_spec;
extern PyType_Spec ctl_ot_tracer_spec, ctl_ot_scope_manager_spec, ctl_ot_scope_spec;
extern PyType_Spec ctl_otel_provider_spec, ctl_otel_tracer_spec, ctl_otel_cm_spec,
    ctl_otel_propagator_spec, ctl_otel_coro_spec;
/* start_as_current_span()'s context manager `cm` (otel_types.c): start its
 * span and make it current (the span, and *token; NULL with an exception),
 * and leave it (the exception `exc`, or NULL, recorded as the API does). */
PyObject *ctl_otel_cm_start(PyObject *cm, PyObject **token);
void ctl_otel_cm_finish(PyObject *cm, PyObject *span, PyObject *token, PyObject *exc);
/* The coroutine a decorated coroutine function `func` returns for one call
 * (otel_async.c): it runs func(*args, **kwargs) in cm's span. */
PyObject *ctl_otel_coroutine_new(ctl_state *st, PyObject *cm, PyObject *func, PyObject *args,
                                 PyObject *kwargs);
PyObject *ctl_api_tracer(PyObject *module, PyObject *unused);
PyObject *ctl_api_current_span(PyObject *module, PyObject *unused);
PyObject *ctl_api_inject(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *ctl_api_extract(PyObject *module, PyObject *carrier);
extern const char ctl_api_tracer_doc[], ctl_api_current_span_doc[], ctl_api_inject_doc[],
    ctl_api_extract_doc[];
/* The OpenTracing tracer object (made once), new reference. */
PyObject *ctl_ot_tracer(PyObject *module);
/* opentracing's global tracer is ours while tracing is on (when the package
 * is installed), and the earlier one again after. */
void ctl_ot_register(ctl_state *st, PyObject *module);
void ctl_ot_unregister(ctl_state *st);

/* Load the OpenTelemetry API when installed, install our provider unless
 * one is set, turn the instrumentations of `which` (CTR_INSTRUMENT_*) on. */
void ctl_otel_setup(ctl_state *st, PyObject *module, unsigned which);
/* Turn our instrumentations off again (cleanup). */
void ctl_otel_teardown(ctl_state *st);
/* True when the OpenTelemetry API is loaded (then context is shared). */
bool ctl_otel_on(const ctl_state *st);
/* OpenTelemetry's current span's context (0: none, 1: *out set). */
int ctl_otel_current(ctl_state *st, struct ctr_span_context *out, PyObject **span, char *ts_buf);
/* Make `span` OpenTelemetry's current span: a token for ctl_otel_pop(), or
 * NULL with an exception. */
PyObject *ctl_otel_push(ctl_state *st, PyObject *span);
/* Undo a push (in the same context); never raises. */
void ctl_otel_pop(ctl_state *st, PyObject *token);
/* opentelemetry.trace.SpanContext for `ctx` (new reference), or NULL with
 * an exception (ImportError when the API is not installed). */
PyObject *ctl_otel_span_context(ctl_state *st, const struct ctr_span_context *ctx);
/* Make a view of the activity `e` OpenTelemetry's current span in this
 * thread (e->otel_token), and undo it. */
void ctl_otel_attach(ctl_state *st, PyObject *module, struct open_entry *e);
void ctl_otel_detach(ctl_state *st, struct open_entry *e);
/* OpenTelemetry's global propagator is ours while our provider is the
 * global one (otel_propagator.c), and the earlier one again after. */
void ctl_otel_set_propagator(ctl_state *st, PyObject *module);
void ctl_otel_unset_propagator(ctl_state *st);
/* Our TracerProvider object (otel_types.c), new reference or NULL. */
PyObject *ctl_otel_provider_new(PyObject *module);
/* The instrumentations (instrument.c). */
void ctl_instrument(ctl_state *st, unsigned which);
void ctl_uninstrument(ctl_state *st);

/* ---- process activities (process_env.c) ---- */

/* Put the activity's context in TRACEPARENT, TRACESTATE and BAGGAGE of
 * os.environ (what chaoslib gives the process), and put them back. */
void ctl_env_push(ctl_state *st, struct open_entry *e);
void ctl_env_pop(ctl_state *st, struct open_entry *e);

/* ---- small types (holder.c) ---- */

/* An object holding its module only. */
typedef struct {
    PyObject_HEAD PyObject *module;
} ctl_holder;
#define CTL_HOLDER_SLOTS                                                                           \
    {Py_tp_dealloc, ctl_dealloc}, {Py_tp_traverse, ctl_holder_traverse},                           \
    {                                                                                              \
        Py_tp_clear, ctl_holder_clear                                                              \
    }
/* A new holder of `type` (a holder type made from a spec with
 * CTL_HOLDER_SLOTS), GC-tracked; NULL with an exception. */
PyObject *ctl_holder_new(PyObject *type, PyObject *module);
int ctl_holder_traverse(PyObject *self, visitproc visit, void *arg);
int ctl_holder_clear(PyObject *self);
/* tp_dealloc for GC types: untrack, the type's tp_clear, free. */
void ctl_dealloc(PyObject *self);

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
/* The API's functions return through this: `result` (a new reference, or
 * NULL with an exception), unless an interrupt was held meanwhile: then it
 * is raised (and `result` released). */
PyObject *ctl_api_return(PyObject *result);

/* Borrowed item of a dict by key, a string literal, or NULL (no exception).
 * The key's str object is made once (found again by the literal's address),
 * not on every lookup: the hooks read a dozen keys per activity. */
#define ctl_dget(d, key) ctl_dget_literal((d), "" key "")
PyObject *ctl_dget_literal(PyObject *d, const char *key);
/* Release the key objects ctl_dget() made (the module is being freed). */
void ctl_dget_clear(void);
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
/* Every item of a mapping (None: nothing) through ctl_attr_from_py(); -1
 * with TypeError for anything else. None values set nothing. */
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

/* ---- the fronts (fronts.c) ---- */

/* True when chaostracing.oltp owns the run: upstream's span names. */
static inline bool ctl_oltp(const ctl_state *st)
{
    return st->front == CTL_FRONT_OLTP;
}
/* configure_control of chaostracing.control and cleanup_control of both. */
PyObject *ctl_native_configure_control(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                       PyObject *kwnames);
PyObject *ctl_cleanup_control(PyObject *module, PyObject *unused);
/* Add `_oltp`, a dict of chaostracing.oltp's hooks (Hook objects bound to
 * the control module), to the control module. Returns 0 or -1 with an
 * exception set. */
int ctl_add_oltp_hooks(PyObject *module);

/* ---- hooks (hooks.c, activity.c) ---- */

/* A keyword argument of a vectorcall by name; borrowed or NULL. */
PyObject *ctl_kwarg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *name);
/* The context (first positional or "context") and state (second or "state"). */
PyObject *ctl_context_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *ctl_state_arg(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
/* Start a span as a child of `parent` (may be NULL) with chaostoolkit.type. */
struct ctr_span *ctl_start(ctl_state *st, const char *name, size_t nlen, struct ctr_span *parent,
                           ctr_span_kind kind, const char *type);

/* The PyMethodDef of a hook, and the hooks both control modules share
 * (their configure_control and cleanup_control are their own). */
#define CTL_HOOK_DEF(name)                                                                         \
    {                                                                                              \
#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL | METH_KEYWORDS, name##_doc        \
    }
#define CTL_SHARED_HOOK_DEFS                                                                       \
    CTL_HOOK_DEF(before_experiment_control), CTL_HOOK_DEF(after_experiment_control),               \
        CTL_HOOK_DEF(before_hypothesis_control), CTL_HOOK_DEF(after_hypothesis_control),           \
        CTL_HOOK_DEF(before_method_control), CTL_HOOK_DEF(after_method_control),                   \
        CTL_HOOK_DEF(before_rollback_control), CTL_HOOK_DEF(after_rollback_control),               \
        CTL_HOOK_DEF(before_activity_control), CTL_HOOK_DEF(after_activity_control)

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
