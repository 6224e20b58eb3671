"""Python activities that use chaostracing's span API the way another
extension would."""

import threading

from chaostracing.control import start_span


def traced_call(url_headers: bool = True) -> dict:
    """Start a client span with attributes, inject its headers, add an event."""
    headers = {"accept": "application/json"}
    with start_span("call-service1", {"peer.service": "service1", "retries": 2},
                    kind="client") as span:
        span.set_attribute("http.request.method", "GET")
        span.set_attributes({"ratio": 0.5, "tags": ["a", "b"], "flag": True})
        span.add_event("sent", {"bytes": 12})
        span.inject(headers)
        recording = span.is_recording()
    assert not span.is_recording()  # an ended span records nothing more
    return {"headers": headers, "trace_id": span.trace_id, "span_id": span.span_id,
            "recording": recording}


def traced_failure() -> str:
    """An exception inside the span's block is recorded and re-raised."""
    try:
        with start_span("failing-step"):
            raise ValueError("step exploded")
    except ValueError:
        return "caught"


def traced_in_thread() -> str:
    """A span started in a thread this activity spawned: no activity is open
    in that thread, so it falls back to the current phase."""
    out = {}

    def work():
        with start_span("worker-step") as s:
            out["id"] = s.span_id

    t = threading.Thread(target=work)
    t.start()
    t.join()
    return out["id"]


_kept = []


def keep_open_span() -> str:
    """A span the extension never ends before the run is over."""
    span = start_span("left-open")
    _kept.append(span)
    return span.span_id


def many_events(count: int = 24) -> str:
    """A span with `count` events, each with two attributes."""
    with start_span("with-events") as span:
        for i in range(int(count)):
            span.add_event(f"event-{i}", {"event.index": i, "event.text": f"text {i}"})
        return span.span_id


def flood(count: int = 300) -> int:
    """End `count` spans as fast as the span API allows."""
    for i in range(int(count)):
        with start_span(f"flood-{i}") as span:
            span.set_attribute("flood.index", i)
    return int(count)
