"""The Jaeger collector gRPC exporter against a real grpcio CollectorService.

`chaostracing check -e jaeger-grpc` sends its test trace to
/jaeger.api_v2.CollectorService/PostSpans; the server decodes each
PostSpansRequest with Jaeger's own message definitions (the descriptors
shipped in the opentelemetry-exporter-jaeger-proto-grpc package, turned into
classes by the protobuf runtime), never with our code.
"""

import grpc
import pytest

from grpc_support import (
    JAEGER_METHOD,
    JAEGER_SERVICE,
    GrpcServer,
    Reply,
    jaeger_classes,
    make_pki,
    run_check,
)

# Every test needs build/chaostracing: a failed build fails them all.
pytestmark = pytest.mark.usefixtures("cli")


@pytest.fixture(scope="module")
def jaeger():
    return jaeger_classes()


@pytest.fixture
def server():
    srv = GrpcServer(JAEGER_SERVICE, JAEGER_METHOD)
    yield srv
    srv.stop()


def tags(kvs, jaeger):
    """KeyValue list -> {key: (type name, value)}; duplicates fail."""
    vt = jaeger["ValueType"]
    out = {}
    for kv in kvs:
        assert kv.key not in out, f"duplicate tag {kv.key!r}"
        name = vt.values_by_number[kv.v_type].name
        value = {
            "STRING": kv.v_str,
            "BOOL": kv.v_bool,
            "INT64": kv.v_int64,
            "FLOAT64": kv.v_float64,
            "BINARY": bytes(kv.v_binary),
        }[name]
        out[kv.key] = (name, value)
    return out


def decode(call, jaeger):
    req = jaeger["PostSpansRequest"].FromString(call.request)
    assert req.HasField("batch")
    return req.batch


def assert_check_batch(batch, jaeger, trace_id_hex, n, service):
    """The trace `chaostracing check -n n` makes, as Jaeger sees it."""
    assert batch.process.service_name == service
    spans = list(batch.spans)
    assert len(spans) == n, [s.operation_name for s in spans]
    trace_id = bytes.fromhex(trace_id_hex)
    assert {bytes(s.trace_id) for s in spans} == {trace_id}
    assert all(len(s.span_id) == 8 for s in spans)
    assert len({bytes(s.span_id) for s in spans}) == n
    by_name = {s.operation_name: s for s in spans}
    root = by_name["chaostracing check"]
    ref_type = jaeger["SpanRefType"]
    child_of = ref_type.values_by_name["CHILD_OF"].number
    follows_from = ref_type.values_by_name["FOLLOWS_FROM"].number
    assert list(root.references) == []
    rt = tags(root.tags, jaeger)
    assert rt["span.kind"] == ("STRING", "server")
    assert rt["chaostoolkit.type"] == ("STRING", "check")
    assert rt["otel.scope.name"] == ("STRING", "chaostracing")
    assert rt["otel.library.name"] == ("STRING", "chaostracing")
    assert rt["otel.scope.version"][0] == "STRING" and rt["otel.scope.version"][1]
    assert "error" not in rt and "otel.status_code" not in rt
    for s in spans:
        assert s.flags & 1, "sampled flag"
        assert s.start_time.seconds > 1_600_000_000
        assert s.duration.seconds >= 0 and 0 <= s.duration.nanos < 1_000_000_000
    root_start = root.start_time.ToNanoseconds()
    root_end = root_start + root.duration.ToNanoseconds()
    for i in range(1, n):
        s = by_name[f"check span {i}"]
        # Parent first (CHILD_OF), then the link to the root (FOLLOWS_FROM).
        refs = [(bytes(r.trace_id), bytes(r.span_id), r.ref_type) for r in s.references]
        assert refs == [
            (trace_id, bytes(root.span_id), child_of),
            (trace_id, bytes(root.span_id), follows_from),
        ], refs
        t = tags(s.tags, jaeger)
        assert t["check.string"] == ("STRING", "h\u00e9llo")
        assert t["check.int"] == ("INT64", -42)
        assert t["check.bool"] == ("BOOL", True)
        assert t["check.double"] == ("FLOAT64", 2.5)
        assert t["check.bytes"] == ("BINARY", b"\x00\x01\x02")
        assert t["check.array"] == ("STRING", '["alpha","beta"]')
        assert t["check.index"] == ("INT64", i)
        if i % 2:
            assert t["span.kind"] == ("STRING", "client")
        else:
            assert "span.kind" not in t, "INTERNAL spans carry no span.kind"
        if i == n - 1:
            assert t["error"] == ("BOOL", True)
            assert t["otel.status_code"] == ("STRING", "ERROR")
            assert t["otel.status_description"] == ("STRING", "check error")
        else:
            assert "error" not in t and "otel.status_code" not in t
        assert len(s.logs) == 1
        log = s.logs[0]
        assert tags(log.fields, jaeger) == {
            "event": ("STRING", "check event"),
            "check.event.attr": ("STRING", "v"),
        }
        start = s.start_time.ToNanoseconds()
        end = start + s.duration.ToNanoseconds()
        assert start <= log.timestamp.ToNanoseconds() <= end
        assert root_start <= start <= end <= root_end


def test_every_field_decoded_by_jaeger_definitions(server, jaeger):
    res = run_check(
        "jaeger-grpc",
        f"http://{server.address}",
        spans=5,
        env={
            "OTEL_SERVICE_NAME": "jaeger-check",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci",
        },
    )
    assert res.returncode == 0, res.describe()
    assert (res.fields["exported"], res.fields["failed"]) == ("5", "0"), res.describe()
    assert res.fields["destination"] == f"http://{server.address}"
    assert len(server.calls) == 1
    call = server.calls[0]
    assert call.metadata.get("user-agent", "").startswith("chaostracing/")
    batch = decode(call, jaeger)
    assert_check_batch(batch, jaeger, res.fields["trace_id"], 5, "jaeger-check")
    pt = tags(batch.process.tags, jaeger)
    assert pt["deployment.environment"] == ("STRING", "ci")
    assert pt["telemetry.sdk.language"][0] == "STRING"
    assert "service.name" not in pt
    assert not [ln for ln in res.stderr_lines if ln.startswith("chaostracing")], res.stderr


def test_scheme_less_endpoint_with_insecure(server, jaeger):
    res = run_check("jaeger-grpc", server.address, "--insecure", spans=2)
    assert res.returncode == 0, res.describe()
    assert res.fields["destination"] == f"http://{server.address}"
    assert_check_batch(
        decode(server.calls[0], jaeger), jaeger, res.fields["trace_id"], 2, "chaostoolkit"
    )


def test_unavailable_is_retried_and_invalid_argument_is_not(server, jaeger):
    server.script = [Reply(grpc.StatusCode.UNAVAILABLE, "collector starting")]
    res = run_check("jaeger-grpc", f"http://{server.address}", spans=3)
    assert res.returncode == 0, res.describe()
    assert [c.answered for c in server.calls] == ["UNAVAILABLE", "OK"]
    assert server.calls[0].request == server.calls[1].request
    assert_check_batch(
        decode(server.calls[1], jaeger), jaeger, res.fields["trace_id"], 3, "chaostoolkit"
    )

    server.script = [Reply(grpc.StatusCode.INVALID_ARGUMENT, "span too large")]
    res = run_check("jaeger-grpc", f"http://{server.address}", spans=3)
    assert res.returncode == 1, res.describe()
    assert len(server.calls) == 3
    lines = [ln for ln in res.stderr_lines if ln.startswith("chaostracing")]
    assert len(lines) == 1, res.stderr
    assert "INVALID_ARGUMENT" in lines[0] and "span too large" in lines[0], lines[0]


def test_tls_with_a_private_ca(tmp_path, jaeger):
    pki = make_pki(tmp_path)
    server = GrpcServer(JAEGER_SERVICE, JAEGER_METHOD, tls=pki)
    try:
        res = run_check("jaeger-grpc", f"localhost:{server.port}", "--cacert", pki.ca_file)
        assert res.returncode == 0, res.describe()
        assert res.fields["destination"] == f"https://localhost:{server.port}"
        assert_check_batch(
            decode(server.calls[0], jaeger), jaeger, res.fields["trace_id"], 4, "chaostoolkit"
        )
    finally:
        server.stop()
