"""The control with the other backends and propagation settings, through a
real `chaos run`: Jaeger's header options, OTEL_PROPAGATORS, upstream's
baggage-prefix switch to b3, Zipkin and OTLP JSON chosen by the OTEL_*
variables, and TLS verification."""

import json

from conftest import (
    MAIN_SPAN_COUNT,
    OtlpReceiver,
    chaostracing_records,
    file_config,
    file_spans,
    flatten,
    load_experiment,
    main_experiment,
    parse_otlp_json_line,
    with_tracing,
)
from test_jaeger_agent import Thrift, UdpAgent, thrift_spans
from test_tls import pki, server_context  # noqa: F401 (fixture)

HTTP_ACTIVITIES = ("probe-http-health", "action-http-post")


def http_span_ids(spans):
    ids = {s["span_id"] for s in spans if s["name"] in HTTP_ACTIVITIES}
    assert len(ids) == 3, sorted(s["name"] for s in spans)
    return ids


def test_jaeger_provider_sends_uber_trace_id_by_default(run_chaos, target):
    with UdpAgent() as agent:
        config = {"tracing_provider": "jaeger", "tracing_port": agent.port}
        run = run_chaos(with_tracing(main_experiment(target.url), config))
    assert run.returncode == 0, run.describe()
    spans = thrift_spans(Thrift(), agent.datagrams)
    assert len(spans) == MAIN_SPAN_COUNT
    trace_id = spans[0]["trace_id"]
    seen = set()
    for req in target.requests:
        h = req["headers"]
        assert "traceparent" not in h and "x-b3-traceid" not in h, h
        trace, span, parent, flags = h["uber-trace-id"].split(":")
        assert trace.rjust(32, "0") == trace_id, h
        assert int(parent, 16) == 0 and int(flags, 16) == 1, h
        seen.add(span.rjust(16, "0"))
    assert seen == http_span_ids(spans)


def test_jaeger_trace_header_name_and_baggage_prefix(run_chaos, target):
    with UdpAgent() as agent:
        config = {
            "tracing_provider": "jaeger",
            "tracing_port": agent.port,
            "tracing_id_name": "x-ctk-trace",
            "baggage_prefix": "ctkbag-",
        }
        run = run_chaos(
            with_tracing(main_experiment(target.url), config),
            env={
                "TRACEPARENT": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "BAGGAGE": "team=sre",
            },
        )
    assert run.returncode == 0, run.describe()
    for req in target.requests:
        h = req["headers"]
        assert "uber-trace-id" not in h, h
        assert h["x-ctk-trace"].startswith("4bf92f3577b34da6a3ce929d0e0e4736:"), h
        assert h.get("ctkbag-team") == "sre", h


def test_otel_propagators_b3_single(run_chaos, target, tmp_path):
    trace_file = tmp_path / "t.jsonl"
    run = run_chaos(
        with_tracing(main_experiment(target.url), file_config(trace_file)),
        env={"OTEL_PROPAGATORS": "b3"},
    )
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace_file)
    seen = set()
    for req in target.requests:
        h = req["headers"]
        assert "traceparent" not in h, h
        trace, span, sampled = h["b3"].split("-")
        assert trace == spans[0]["trace_id"] and sampled == "1"
        seen.add(span)
    assert seen == http_span_ids(spans)


def test_upstream_baggage_prefix_switches_to_b3_headers(run_chaos, target, tmp_path):
    trace_file = tmp_path / "t.jsonl"
    config = {**file_config(trace_file), "tracing_opentelemetry_baggage_prefix": "b3"}
    run = run_chaos(with_tracing(main_experiment(target.url), config))
    assert run.returncode == 0, run.describe()
    spans = file_spans(trace_file)
    seen = {req["headers"]["x-b3-spanid"] for req in target.requests}
    assert all(r["headers"]["x-b3-traceid"] == spans[0]["trace_id"] for r in target.requests)
    assert all("traceparent" not in r["headers"] for r in target.requests)
    assert seen == http_span_ids(spans)


def test_zipkin_from_otel_traces_exporter(run_chaos, otlp_receiver):
    url = otlp_receiver.endpoint + "/api/v2/spans"
    run = run_chaos(
        with_tracing(load_experiment("minimal"), {"tracing_provider": "opentelemetry"}),
        env={"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_EXPORTER_ZIPKIN_ENDPOINT": url},
    )
    assert run.returncode == 0, run.describe()
    assert [p["path"] for p in otlp_receiver.posts] == ["/api/v2/spans"]
    assert otlp_receiver.posts[0]["headers"]["content-type"] == "application/json"
    spans = json.loads(otlp_receiver.posts[0]["raw"])
    names = sorted(s["name"] for s in spans)
    assert names == sorted(["chaostracing minimal experiment", "method", "minimal-action", "rollbacks"])
    assert {s["localEndpoint"]["serviceName"] for s in spans} == {"chaostoolkit"}
    assert len({s["traceId"] for s in spans}) == 1
    by_name = {s["name"]: s for s in spans}
    assert by_name["minimal-action"]["parentId"] == by_name["method"]["id"]
    assert "parentId" not in by_name["chaostracing minimal experiment"]


def test_otlp_http_json_from_protocol_variable(run_chaos, otlp_receiver):
    config = {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_collector_endpoint": otlp_receiver.endpoint,
    }
    run = run_chaos(
        with_tracing(load_experiment("minimal"), config),
        env={"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
    )
    assert run.returncode == 0, run.describe()
    (post,) = otlp_receiver.posts
    assert post["path"] == "/v1/traces"
    assert post["headers"]["content-type"] == "application/json"
    spans = flatten([parse_otlp_json_line(post["raw"].decode())])
    assert sorted(s["name"] for s in spans) == sorted(
        ["chaostracing minimal experiment", "method", "minimal-action", "rollbacks"]
    )


def tls_run(run_chaos, rx, ca):
    config = {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": "otlp-http",
        "tracing_opentelemetry_collector_endpoint": rx.url,
    }
    return run_chaos(
        with_tracing(load_experiment("minimal"), config),
        env={"OTEL_EXPORTER_OTLP_CERTIFICATE": str(ca)},
    )


def test_tls_verified_export_through_the_control(run_chaos, pki):  # noqa: F811
    with OtlpReceiver(server_context(pki)) as rx:
        run = tls_run(run_chaos, rx, pki.ca)
    assert run.returncode == 0, run.describe()
    assert len(rx.spans()) == 4
    assert not chaostracing_records(run.log, "WARNING")


def test_tls_wrong_ca_one_warning_and_the_run_is_unaffected(run_chaos, pki):  # noqa: F811
    baseline = run_chaos(load_experiment("minimal"))
    with OtlpReceiver(server_context(pki)) as rx:
        run = tls_run(run_chaos, rx, pki.other_ca)
    assert run.returncode == baseline.returncode == 0, run.describe()
    assert run.journal["status"] == baseline.journal["status"]
    assert rx.posts == []
    warnings = chaostracing_records(run.log, "WARNING")
    assert len(warnings) == 1, [w.message for w in warnings]
    msg = warnings[0].message.lower()
    assert "certificate" in msg or "tls" in msg or "ssl" in msg, msg
    assert run.wall < baseline.wall + 3.0
