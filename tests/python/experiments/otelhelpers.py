"""An extension module decorating its activity with the OpenTelemetry API
at import time (chaoslib imports it when the activity runs, after the
control has installed its provider; a ProxyTracer takes it either way)."""

from opentelemetry import trace

tracer = trace.get_tracer("decorating.extension")


@tracer.start_as_current_span("decorated-work", attributes={"step": "one"})
def decorated(count: int, label: str = "x") -> dict:
    span = trace.get_current_span()
    span.set_attribute("count", count)
    return {"label": label, "span_id": format(span.get_span_context().span_id, "016x")}
