"""Every configuration block of the seed README, pasted as it is there with
only the ports changed, delivers the main experiment's trace to its receiver.

The blocks are the upstream chaostoolkit-opentracing README's: the jaeger
provider, the four OpenTelemetry exporters (jaeger-thrift, jaeger-grpc,
oltp-grpc, oltp-http) and the settings-file YAML. Each receiver decodes with
an implementation that is not ours: Jaeger's generated thrift classes, the
Jaeger api_v2 descriptors, the official opentelemetry-proto classes.
"""

import json
import re

import yaml

from conftest import (
    HYPOTHESIS,
    MAIN_SPAN_COUNT,
    MAIN_TITLE,
    METHOD_ACTIVITIES,
    PROBES,
    ROLLBACKS,
    chaostracing_records,
    flatten,
    main_experiment,
)
from grpc_support import GrpcServer, jaeger_classes
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from test_jaeger_agent import UdpAgent, thrift, thrift_spans  # noqa: F401 (fixture)

CONTROLS = """
    "controls": [
        {
            "name": "opentracing",
            "provider": {
                "type": "python",
                "module": "chaostracing.control"
            }
        }
    ]
"""

JAEGER_PROVIDER = """{
    "configuration": {
        "tracing_provider": "jaeger",
        "tracing_host": "127.0.0.1",
        "tracing_port": 6831,
        "tracing_propagation": "b3"
    },%s}""" % CONTROLS

JAEGER_THRIFT = """{
    "configuration": {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": "jaeger-thrift",
        "tracing_host": "127.0.0.1",
        "tracing_port": 6831
    },%s}""" % CONTROLS

JAEGER_GRPC = """{
    "configuration": {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": "jaeger-grpc",
        "tracing_opentelemetry_collector_endpoint": "localhost:14250",
        "tracing_opentelemetry_collector_endpoint_insecure": true
    },%s}""" % CONTROLS

OLTP_GRPC = """{
    "configuration": {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": "oltp-grpc",
        "tracing_opentelemetry_collector_endpoint": "http://localhost:4317",
        "tracing_opentelemetry_collector_endpoint_insecure": true
    },%s}""" % CONTROLS

OLTP_HTTP = """{
    "configuration": {
        "tracing_provider": "opentelemetry",
        "tracing_opentelemetry_exporter": "oltp-http",
        "tracing_opentelemetry_collector_endpoint": "http://localhost:4318",
        "tracing_opentelemetry_collector_endpoint_insecure": true,
        "tracing_opentelemetry_collector_headers": {
            "My-Header": "My-value"
        }
    },%s}""" % CONTROLS

SETTINGS_YAML = """
controls:
  opentracing:
    provider:
      type: python
      module: chaostracing.control
      arguments:
        provider: jaeger
        host: 127.0.0.1
        port: 6831
        propagation: b3
"""

B3 = ("x-b3-traceid", "x-b3-spanid", "x-b3-sampled")


def with_port(text: str, old: int, new: int) -> str:
    """The block with its one port number changed, nothing else."""
    changed, n = re.subn(rf"\b{old}\b", str(new), text)
    assert n == 1, f"expected one {old} in the block, found {n}"
    return changed


def experiment_with(block: str, target_url: str):
    """The main experiment carrying a README block's configuration and
    controls (the experiment's own target_url kept)."""
    exp = main_experiment(target_url)
    pasted = json.loads(block)
    exp["configuration"].update(pasted["configuration"])
    exp["controls"] = pasted["controls"]
    return exp


def jaeger_proto_spans(calls):
    """PostSpans requests -> uniform span dicts."""
    jc = jaeger_classes()
    spans = []
    for call in calls:
        req = jc["PostSpansRequest"].FromString(call.request)
        for s in req.batch.spans:
            parents = [r.span_id.hex() for r in s.references if r.ref_type == 0]
            spans.append(
                {
                    "trace_id": s.trace_id.hex(),
                    "span_id": s.span_id.hex(),
                    "parent": parents[0] if parents else "",
                    "name": s.operation_name,
                    "service": req.batch.process.service_name,
                }
            )
    return spans


def otlp_spans(requests):
    return [dict(s, service=s["resource"]["service.name"]) for s in flatten(requests)]


def assert_main_trace(spans, run):
    """The main experiment's tree: one trace, exact parents, every span."""
    assert run.returncode == 0, run.describe()
    assert run.journal["status"] == "completed", run.describe()
    warnings = chaostracing_records(run.log, "WARNING")
    assert not warnings, [w.message for w in warnings]
    assert len(spans) == MAIN_SPAN_COUNT, sorted(s["name"] for s in spans)
    assert {s["trace_id"] for s in spans} == {spans[0]["trace_id"]}
    assert {s["service"] for s in spans} == {"chaostoolkit"}
    by_id = {s["span_id"]: s for s in spans}
    (root,) = [s for s in spans if s["name"] == MAIN_TITLE]
    assert root["parent"] == ""

    def parent_name(s):
        return by_id[s["parent"]]["name"]

    for s in spans:
        if s is not root:
            assert s["parent"] in by_id, f"{s['name']!r} has an unknown parent"
    hypotheses = [s for s in spans if s["name"] == HYPOTHESIS]
    assert len(hypotheses) == 2 and all(parent_name(h) == MAIN_TITLE for h in hypotheses)
    for probe in PROBES:
        found = [s for s in spans if s["name"] == probe]
        assert len(found) == 2 and all(parent_name(s) == HYPOTHESIS for s in found)
    for name in METHOD_ACTIVITIES:
        (s,) = [x for x in spans if x["name"] == name]
        assert parent_name(s) == "method", (name, parent_name(s))
    for name in ROLLBACKS:
        (s,) = [x for x in spans if x["name"] == name]
        assert parent_name(s) == "rollbacks"
    return by_id


def assert_propagated(target, spans, headers):
    """Each request to the target carried the headers naming its http
    activity's span (b3 multi or W3C traceparent)."""
    http_spans = [s for s in spans if s["name"] in ("probe-http-health", "action-http-post")]
    assert len(http_spans) == 3
    trace_id = spans[0]["trace_id"]
    seen = set()
    assert len(target.requests) == 3, [r["path"] for r in target.requests]
    for req in target.requests:
        h = req["headers"]
        if headers == B3:
            assert h.get("x-b3-traceid") == trace_id, h
            assert h.get("x-b3-sampled") == "1", h
            seen.add(h["x-b3-spanid"])
            assert "traceparent" not in h
        else:
            m = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01", h.get("traceparent", ""))
            assert m and m.group(1) == trace_id, h
            seen.add(m.group(2))
    assert seen == {s["span_id"] for s in http_spans}


def test_jaeger_provider_block(run_chaos, target, thrift):
    with UdpAgent() as agent:
        block = with_port(JAEGER_PROVIDER, 6831, agent.port)
        run = run_chaos(experiment_with(block, target.url))
    spans = thrift_spans(thrift, agent.datagrams)
    assert_main_trace(spans, run)
    assert_propagated(target, spans, B3)


def test_settings_file_block(run_chaos, target, thrift):
    with UdpAgent() as agent:
        settings = yaml.safe_load(with_port(SETTINGS_YAML, 6831, agent.port))
        run = run_chaos(main_experiment(target.url), settings=settings)
    spans = thrift_spans(thrift, agent.datagrams)
    assert_main_trace(spans, run)
    assert_propagated(target, spans, B3)


def test_opentelemetry_jaeger_thrift_block(run_chaos, target, thrift):
    with UdpAgent() as agent:
        block = with_port(JAEGER_THRIFT, 6831, agent.port)
        run = run_chaos(experiment_with(block, target.url))
    spans = thrift_spans(thrift, agent.datagrams)
    assert_main_trace(spans, run)
    assert_propagated(target, spans, "traceparent")


def test_opentelemetry_jaeger_grpc_block(run_chaos, target):
    server = GrpcServer("jaeger.api_v2.CollectorService", "PostSpans")
    try:
        block = with_port(JAEGER_GRPC, 14250, server.port)
        run = run_chaos(experiment_with(block, target.url))
    finally:
        server.stop()
    spans = jaeger_proto_spans(server.calls)
    assert_main_trace(spans, run)
    assert_propagated(target, spans, "traceparent")


def test_oltp_grpc_block(run_chaos, target):
    server = GrpcServer(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        "Export",
        default_response=ExportTraceServiceResponse().SerializeToString(),
    )
    try:
        block = with_port(OLTP_GRPC, 4317, server.port)
        run = run_chaos(experiment_with(block, target.url))
    finally:
        server.stop()
    requests = [ExportTraceServiceRequest.FromString(c.request) for c in server.calls]
    spans = otlp_spans(requests)
    assert_main_trace(spans, run)
    assert_propagated(target, spans, "traceparent")


def test_oltp_http_block(run_chaos, target, otlp_receiver):
    port = int(otlp_receiver.endpoint.rsplit(":", 1)[1])
    block = with_port(OLTP_HTTP, 4318, port)
    run = run_chaos(experiment_with(block, target.url))
    assert {p["path"] for p in otlp_receiver.posts} == {"/v1/traces"}
    assert all(p["headers"].get("my-header") == "My-value" for p in otlp_receiver.posts)
    spans = otlp_spans(otlp_receiver.decoded())
    assert_main_trace(spans, run)
    assert_propagated(target, spans, "traceparent")
