"""The span API other extensions use (chaostracing.control.start_span),
driven from real activities of a `chaos run`."""

import inspect

import chaostracing.control as control

from conftest import by_name, file_config, file_spans, with_tracing

NAME = "span api experiment"


def experiment(method):
    return {
        "version": "1.0.0",
        "title": NAME,
        "description": "python activities using start_span",
        "method": method,
    }


def action(name, func):
    return {
        "type": "action",
        "name": name,
        "provider": {"type": "python", "module": "spanhelpers", "func": func},
    }


def test_extension_spans_are_children_of_the_running_activity(run_chaos, tmp_path):
    trace = tmp_path / "t.jsonl"
    exp = experiment(
        [
            action("do-call", "traced_call"),
            action("do-fail", "traced_failure"),
            action("do-thread", "traced_in_thread"),
        ]
    )
    run = run_chaos(with_tracing(exp, file_config(trace)))
    assert run.returncode == 0, run.describe()
    spans = by_name(file_spans(trace))
    call = spans["call-service1"]
    assert call["parent"] == spans["do-call"]["span_id"]
    assert call["kind"] == 3  # client
    a = call["attributes"]
    assert a["peer.service"] == "service1" and a["retries"] == 2
    assert a["http.request.method"] == "GET" and a["ratio"] == 0.5
    assert a["tags"] == ["a", "b"] and a["flag"] is True
    assert [e["name"] for e in call["events"]] == ["sent"]
    assert call["events"][0]["attributes"] == {"bytes": 12}
    do_call = spans["do-call"]
    assert do_call["start"] <= call["start"] <= call["end"] <= do_call["end"]

    # What the activity returned: the injected headers name the span.
    output = next(r for r in run.journal["run"] if r["activity"]["name"] == "do-call")["output"]
    assert output["recording"] is True
    assert output["headers"]["traceparent"] == f"00-{call['trace_id']}-{call['span_id']}-01"
    assert output["span_id"] == call["span_id"] and output["trace_id"] == call["trace_id"]

    failing = spans["failing-step"]
    assert failing["parent"] == spans["do-fail"]["span_id"]
    assert failing["status_code"] == 2
    assert failing["status_message"] == "ValueError: step exploded"
    (ev,) = failing["events"]
    assert ev["name"] == "exception"
    assert ev["attributes"]["exception.type"] == "ValueError"
    assert "raise ValueError" in ev["attributes"]["exception.stacktrace"]

    worker = spans["worker-step"]
    assert worker["parent"] == spans["method"]["span_id"]
    assert len({s["trace_id"] for s in spans.values()}) == 1


def test_tracing_off_gives_silent_spans(run_chaos, tmp_path):
    exp = experiment([action("do-call", "traced_call")])
    run = run_chaos(with_tracing(exp, {"tracing_provider": "noop"}))
    assert run.returncode == 0, run.describe()
    out = run.journal["run"][0]["output"]
    assert out["recording"] is False
    assert "traceparent" not in out["headers"]
    assert out["trace_id"] == "0" * 32


def test_a_span_left_open_past_cleanup_is_dropped_safely(run_chaos, tmp_path):
    trace = tmp_path / "t.jsonl"
    exp = experiment([action("keep", "keep_open_span")])
    run = run_chaos(with_tracing(exp, file_config(trace)))
    assert run.returncode == 0, run.describe()
    names = {s["name"] for s in file_spans(trace)}
    assert "keep" in names and "left-open" not in names


def test_in_process_without_configuration():
    span = control.start_span("outside a run", {"k": "v"})
    assert span.is_recording() is False
    with span as s:
        s.set_attribute("x", 1)
        s.add_event("e")
        s.set_status("error", "x")
    assert span.inject({}) == {}
    assert str(inspect.signature(control.start_span)) == (
        "(name, attributes=None, kind='internal', links=None, parent=None, start_time=None)"
    )


def test_bad_arguments_raise_clear_errors():
    import pytest

    with pytest.raises(ValueError):
        control.start_span("x", kind="sideways")
    span = control.start_span("x")
    with pytest.raises(ValueError):
        span.set_status("maybe")
    with pytest.raises(TypeError):
        span.inject([])
    with pytest.raises(TypeError):
        span.record_exception("not an exception")
