"""The control exporting OTLP/HTTP protobuf to a loopback receiver."""

import gzip

import pytest

from conftest import (
    MAIN_SPAN_COUNT,
    MAIN_TITLE,
    STATUS_ERROR,
    Spans,
    chaostracing_records,
    flatten,
    load_experiment,
    main_experiment,
    refused_port,
    strip_volatile,
    summary_line,
    with_tracing,
)

MINIMAL_NAMES = sorted(["chaostracing minimal experiment", "method", "minimal-action", "rollbacks"])


def otlp_config(endpoint, exporter="otlp-http", headers=None):
    cfg = {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": exporter,
        "tracing_opentelemetry_collector_endpoint": endpoint,
    }
    if headers is not None:
        cfg["tracing_opentelemetry_collector_headers"] = headers
    return cfg


def assert_posts_well_formed(receiver, path="/v1/traces"):
    assert receiver.posts, "the receiver got no POST"
    for p in receiver.posts:
        assert p["path"] == path, f"POST went to {p['path']!r}, expected {path!r}"
        assert p["headers"].get("content-type") == "application/x-protobuf", p["headers"]
        assert "error" not in p, f"POST #{p['index']} does not decode: {p['error']}"


@pytest.mark.parametrize("exporter", ["oltp-http", "otlp-http"])
def test_main_experiment_over_otlp_http(run_chaos, target, otlp_receiver, exporter):
    endpoint = otlp_receiver.endpoint  # no path: the control appends /v1/traces
    exp = with_tracing(
        main_experiment(target.url),
        otlp_config(endpoint, exporter, headers={"My-Header": "My-value"}),
    )
    run = run_chaos(exp)
    assert run.returncode == 0, run.describe()
    assert run.journal["status"] == "completed"
    assert_posts_well_formed(otlp_receiver)
    for p in otlp_receiver.posts:
        assert p["headers"].get("my-header") == "My-value", p["headers"]
        assert "content-encoding" not in p["headers"], "gzip was not asked for"
    spans = Spans(otlp_receiver.spans())
    assert len(spans) == MAIN_SPAN_COUNT, sorted(s["name"] for s in spans.all)
    assert len(spans.trace_ids()) == 1
    spans.assert_nested_times()
    root = spans.one(MAIN_TITLE)
    assert root["parent"] == ""
    method = spans.one("method")
    assert method["parent"] == root["span_id"]
    assert spans.one("action-background-sleep")["parent"] == method["span_id"]
    assert spans.one("action-python-fails")["status_code"] == STATUS_ERROR
    assert {s["scope"] for s in spans.all} == {"chaostracing"}
    assert spans.all[0]["resource"]["service.name"] == "chaostoolkit"
    assert spans.all[0]["resource"]["process.pid"] == run.pid
    # the http activities propagated this trace
    (tid,) = spans.trace_ids()
    for req in target.requests:
        assert req["headers"]["traceparent"].split("-")[1] == tid
    n, dest, dropped, failed = summary_line(run.log)
    assert n == MAIN_SPAN_COUNT and (dropped, failed) == (0, 0), (n, dropped, failed)
    assert f"127.0.0.1:{otlp_receiver.port}" in dest, dest
    assert not [r for r in chaostracing_records(run.log) if r.level == "WARNING"]


def test_gzip_compression_from_environment(run_chaos, otlp_receiver):
    exp = with_tracing(load_experiment("minimal"), otlp_config(otlp_receiver.endpoint))
    run = run_chaos(exp, env={"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"})
    assert run.returncode == 0, run.describe()
    assert_posts_well_formed(otlp_receiver)
    for p in otlp_receiver.posts:
        assert p["headers"].get("content-encoding") == "gzip", p["headers"]
        assert p["raw"][:2] == b"\x1f\x8b", "body is not gzip data"
        assert gzip.decompress(p["raw"]) == p["body"]
    spans = Spans(otlp_receiver.spans())
    assert sorted(s["name"] for s in spans.all) == MINIMAL_NAMES


def test_retry_after_503_sends_identical_request(run_chaos, otlp_receiver):
    otlp_receiver.script = [503, 200]
    exp = with_tracing(load_experiment("minimal"), otlp_config(otlp_receiver.endpoint))
    # A long schedule delay keeps the run's spans in one batch, flushed at cleanup.
    run = run_chaos(exp, env={"OTEL_BSP_SCHEDULE_DELAY": "30000"})
    assert run.returncode == 0, run.describe()
    assert_posts_well_formed(otlp_receiver)
    assert len(otlp_receiver.posts) == 2, (
        f"expected one 503 then one successful retry, got "
        f"{[p['answered'] for p in otlp_receiver.posts]}"
    )
    first, second = otlp_receiver.posts
    assert (first["answered"], second["answered"]) == (503, 200)
    assert first["request"] == second["request"], "the retry must resend the same spans"
    assert first["raw"] == second["raw"]
    spans = Spans(flatten([second["request"]]))
    assert sorted(s["name"] for s in spans.all) == MINIMAL_NAMES
    n, _, dropped, failed = summary_line(run.log)
    assert (n, dropped, failed) == (4, 0, 0), (n, dropped, failed)


def test_no_retry_on_400(run_chaos, otlp_receiver):
    otlp_receiver.script = [400]
    exp = with_tracing(load_experiment("minimal"), otlp_config(otlp_receiver.endpoint))
    run = run_chaos(exp, env={"OTEL_BSP_SCHEDULE_DELAY": "30000"})
    assert run.returncode == 0, run.describe()
    assert run.journal["status"] == "completed"
    assert [p["answered"] for p in otlp_receiver.posts] == [400], "400 must not be retried"
    n, _, _, failed = summary_line(run.log)
    assert n == 0 and failed == 1, (n, failed)


def test_endpoint_from_traces_endpoint_variable(run_chaos, otlp_receiver):
    # Exporter absent from the configuration: OTLP/HTTP protobuf by default;
    # the per-signal endpoint is used as given (no /v1/traces appended).
    exp = with_tracing(load_experiment("minimal"), {"tracing_provider": "opentelemetry"})
    run = run_chaos(
        exp,
        env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": otlp_receiver.endpoint + "/custom/traces"},
    )
    assert run.returncode == 0, run.describe()
    assert_posts_well_formed(otlp_receiver, path="/custom/traces")
    assert sorted(s["name"] for s in otlp_receiver.spans()) == MINIMAL_NAMES


def test_base_endpoint_and_headers_from_environment(run_chaos, otlp_receiver):
    # The base endpoint gets v1/traces appended; configured headers are
    # merged over OTEL_EXPORTER_OTLP_HEADERS (percent-decoded).
    exp = with_tracing(
        load_experiment("minimal"),
        {
            "tracing_provider": "opentelemetry",
            "tracing_opentelemetry_collector_headers": {"x-both": "from-config"},
        },
    )
    run = run_chaos(
        exp,
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint + "/base",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-env=a%20b,x-both=from-env",
        },
    )
    assert run.returncode == 0, run.describe()
    assert_posts_well_formed(otlp_receiver, path="/base/v1/traces")
    for p in otlp_receiver.posts:
        assert p["headers"].get("x-env") == "a b", p["headers"]
        assert p["headers"].get("x-both") == "from-config", p["headers"]
    assert sorted(s["name"] for s in otlp_receiver.spans()) == MINIMAL_NAMES


def test_refused_connection_does_not_hurt_the_experiment(run_chaos, target):
    port = refused_port()
    base = run_chaos(main_experiment(target.url))
    exp = with_tracing(main_experiment(target.url), otlp_config(f"http://127.0.0.1:{port}"))
    run = run_chaos(exp)
    assert run.returncode == base.returncode == 0, run.describe()
    assert run.journal["status"] == base.journal["status"] == "completed"
    assert strip_volatile(run.journal) == strip_volatile(base.journal)
    extra = run.wall - base.wall
    assert extra <= 1.5, (
        f"the run with an unreachable collector took {run.wall:.2f} s, "
        f"{extra:.2f} s more than without the control ({base.wall:.2f} s)"
    )
    warnings = chaostracing_records(run.log, "WARNING")
    assert len(warnings) == 1, (
        "expected exactly one chaostracing WARNING about the export failure, got:\n"
        + "\n".join(r.message for r in warnings)
    )
    assert str(port) in warnings[0].message or "export" in warnings[0].message.lower(), warnings[
        0
    ].message
    errors = [r for r in chaostracing_records(run.log) if r.level in ("ERROR", "CRITICAL")]
    assert not errors, [r.message for r in errors]
    n, dest, _, failed = summary_line(run.log)
    assert n == 0 and failed >= 1, (n, failed)
    assert str(port) in dest, dest
    # The spans never reached anyone, but the experiment's own HTTP calls did.
    assert len(target.requests) == 6
