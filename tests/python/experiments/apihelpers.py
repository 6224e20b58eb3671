"""Python activities of other extensions, written as their authors would:
the original chaostoolkit-opentracing README's OpenTracing snippet, the
OpenTelemetry API, chaostracing's own API, and what an activity sees of the
process environment. Imports of the optional packages are inside the
functions, so the module loads without them."""

import os
import threading
import urllib.request


def opentracing_snippet(url: str) -> dict:
    """The README snippet ("Send traces from other extensions"), unchanged
    but for `headers` and the return value."""
    import opentracing
    import requests

    headers = {}
    # -- the snippet --
    tracer = opentracing.global_tracer()
    scope = tracer.scope_manager.active
    parent = scope.span

    with tracer.start_span("call-service1", child_of=parent) as span:
        span.set_tag('http.method','GET')
        span.set_tag('http.url', url)
        span.set_tag('span.kind', 'client')
        span.tracer.inject(span, 'http_headers', headers)

        r = requests.get(url, headers=headers)
        span.set_tag('http.status_code', r.status_code)
    # -- end of the snippet --
    return {"headers": headers, "parent": parent.span_id}


def opentracing_active(url: str) -> dict:
    """start_active_span, baggage, log_kv, references and text_map."""
    import opentracing

    tracer = opentracing.global_tracer()
    with tracer.start_active_span("ot-outer", tags={"component": "ext"}) as scope:
        scope.span.set_baggage_item("user", "alice smith")
        scope.span.log_kv({"event": "started", "step": 1})
        with tracer.start_active_span("ot-inner") as inner:
            carrier = {}
            tracer.inject(inner.span.context, opentracing.Format.TEXT_MAP, carrier)
            follows = tracer.start_span(
                "ot-follows",
                references=[opentracing.follows_from(inner.span.context)],
            )
            follows.finish()
    ctx = tracer.extract(opentracing.Format.HTTP_HEADERS, carrier)
    try:
        tracer.inject(ctx, opentracing.Format.BINARY, bytearray())
        refused = False
    except opentracing.UnsupportedFormatException:
        refused = True
    return {
        "carrier": carrier,
        "extracted": [ctx.trace_id, ctx.span_id, ctx.baggage],
        "binary_refused": refused,
    }


def otel_api(url: str) -> dict:
    """The OpenTelemetry API: nesting, propagation, a thread given the context."""
    from opentelemetry import context, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    tracer = trace.get_tracer("my.extension", "1.0")
    headers = {}
    with tracer.start_as_current_span("otel-step", attributes={"k": "v"}) as step:
        with tracer.start_as_current_span("otel-inner", kind=SpanKind.CLIENT):
            propagate.inject(headers)
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
        ctx = context.get_current()

        def work():
            token = context.attach(ctx)
            try:
                with tracer.start_as_current_span("otel-thread"):
                    pass
            finally:
                context.detach(token)

        t = threading.Thread(target=work)
        t.start()
        t.join(10)
        try:
            with tracer.start_as_current_span("otel-error"):
                raise KeyError("missing")
        except KeyError:
            pass
        step.set_status(Status(StatusCode.OK))
    return {"headers": headers, "valid": step.get_span_context().is_valid}


def otel_inject_only() -> dict:
    """No span of its own: opentelemetry.propagate.inject carries the activity's."""
    from opentelemetry import propagate, trace

    from opentelemetry import context

    headers = {}
    propagate.inject(headers)
    ctx = trace.get_current_span().get_span_context()
    # The activity's context is an ordinary, immutable OpenTelemetry Context.
    current = context.get_current()
    try:
        current["k"] = "v"
        immutable = False
    except ValueError:
        immutable = True
    return {
        "headers": headers,
        "span_id": format(ctx.span_id, "016x"),
        "context_type": type(current).__module__ + "." + type(current).__name__,
        "immutable": immutable,
        "value_kept": context.get_value("ext.key", context.set_value("ext.key", 7)),
    }


def requests_get(url: str) -> int:
    """A plain requests call, instrumented or not by the control."""
    import requests

    return requests.get(url, timeout=10).status_code


def own_api() -> dict:
    """chaostracing's API: the activity's span, a thread naming its parent."""
    import chaostracing

    current = chaostracing.current_span()
    current.set_attribute("ext.marker", "set-by-extension")
    out = {}

    def work():
        with chaostracing.tracer().start_span("own-thread", parent=current) as s:
            out["thread"] = s.span_id
            out["current_in_block"] = chaostracing.current_span().span_id

    t = threading.Thread(target=work)
    t.start()
    t.join(10)
    headers = chaostracing.inject({})
    return {"activity": current.span_id, "headers": headers, **out}


def own_api_call(url: str) -> dict:
    """The README's example of chaostracing's API: a CLIENT span of its own
    around a requests call, its context injected into the headers."""
    import requests

    import chaostracing

    headers = {}
    with chaostracing.tracer().start_span(
        "call-service", {"peer.service": "service1"}, kind="client"
    ) as span:
        chaostracing.inject(headers)  # the current span: this one
        r = requests.get(url, headers=headers, timeout=10)
        span.set_attribute("http.response.status_code", r.status_code)
    return {"headers": headers, "span": span.span_id, "status": r.status_code}


def environment() -> dict:
    """What the process environment holds of a trace context now."""
    return {k: os.environ.get(k) for k in ("TRACEPARENT", "TRACESTATE", "BAGGAGE")}


def environment_while_running(seconds: float) -> dict:
    """After `seconds` (a background process activity is running by then):
    TRACEPARENT in os.environ (what chaoslib hands a program) and in the C
    environment (getenv) of this process."""
    import ctypes
    import time

    time.sleep(seconds)
    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    c_value = libc.getenv(b"TRACEPARENT")
    return {
        "os_environ": os.environ.get("TRACEPARENT"),
        "getenv": c_value.decode() if c_value else None,
    }


def httpx_get(url: str) -> int:
    import httpx

    return httpx.get(url, timeout=10).status_code


def urllib3_get(url: str) -> int:
    import urllib3

    return urllib3.PoolManager().request("GET", url, timeout=10).status


def botocore_call(url: str) -> list:
    """A DynamoDB ListTables call against the loopback target (dummy keys)."""
    import botocore.session

    client = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-real-secret",
    )
    return client.list_tables().get("TableNames", [])


def otel_extract_round_trip() -> dict:
    """opentelemetry.propagate: inject, then extract into a new span's parent."""
    from opentelemetry import propagate, trace

    headers = {}
    propagate.inject(headers)
    ctx = propagate.extract(headers)
    with trace.get_tracer("rt").start_as_current_span("from-extracted", context=ctx) as s:
        return {"headers": headers, "fields": sorted(propagate.get_global_textmap().fields),
                "trace_id": format(s.get_span_context().trace_id, "032x")}
