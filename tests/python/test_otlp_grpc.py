"""The OTLP/gRPC exporter against a real grpcio TraceService on loopback.

`chaostracing check -e otlp-grpc` sends its test trace (a SERVER root and
children with every attribute type, an event, a link and an ERROR status);
the server decodes the requests with the official opentelemetry-proto classes
and answers from a script. A recording TCP proxy shows the HTTP/2 frames when
the bytes on the wire matter (gzip, trailers-only answers).
"""

import gzip

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from conftest import flatten, refused_port
from grpc_support import (
    H2_END_STREAM,
    H2_HEADERS,
    OTLP_METHOD,
    OTLP_SERVICE,
    GrpcServer,
    RecordingProxy,
    Reply,
    data_payload,
    h2_frames,
    make_pki,
    run_check,
)

KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
STATUS_UNSET, STATUS_ERROR = 0, 2

# Every test needs build/chaostracing: a failed build fails them all.
pytestmark = pytest.mark.usefixtures("cli")


@pytest.fixture
def server():
    srv = GrpcServer(OTLP_SERVICE, OTLP_METHOD)
    yield srv
    srv.stop()


@pytest.fixture
def proxied(server):
    proxy = RecordingProxy(server.port)
    yield server, proxy
    proxy.stop()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def decode(call) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(call.request)


def chaostracing_lines(res):
    return [ln for ln in res.stderr_lines if ln.startswith("chaostracing")]


def assert_check_trace(spans, trace_id, n):
    """The spans `chaostracing check -n n` makes, decoded field by field."""
    assert len(spans) == n, [s["name"] for s in spans]
    assert {s["trace_id"] for s in spans} == {trace_id}
    assert len({s["span_id"] for s in spans}) == n
    by_name = {s["name"]: s for s in spans}
    root = by_name["chaostracing check"]
    assert root["parent"] == "" and root["kind"] == KIND_SERVER
    assert root["attributes"]["chaostoolkit.type"] == "check"
    assert root["status_code"] == STATUS_UNSET
    for i in range(1, n):
        s = by_name[f"check span {i}"]
        assert s["parent"] == root["span_id"]
        assert s["kind"] == (KIND_CLIENT if i % 2 else KIND_INTERNAL)
        a = s["attributes"]
        assert a["check.string"] == "h\u00e9llo"
        assert a["check.int"] == -42 and isinstance(a["check.int"], int)
        assert a["check.bool"] is True
        assert a["check.double"] == 2.5
        assert a["check.bytes"] == b"\x00\x01\x02"
        assert a["check.array"] == ["alpha", "beta"]
        assert a["check.index"] == i
        assert [e["name"] for e in s["events"]] == ["check event"]
        assert s["events"][0]["attributes"] == {"check.event.attr": "v"}
        assert s["start"] <= s["events"][0]["time"] <= s["end"]
        assert s["links"] == [{"trace_id": trace_id, "span_id": root["span_id"]}]
        if i == n - 1:
            assert (s["status_code"], s["status_message"]) == (STATUS_ERROR, "check error")
        else:
            assert s["status_code"] == STATUS_UNSET
        assert root["start"] <= s["start"] <= s["end"] <= root["end"]
    for s in spans:
        assert s["scope"] == "chaostracing"
        assert s["resource"]["service.name"]
        assert s["resource"]["telemetry.sdk.language"]
        assert s["flags"] & 0x1


def test_cleartext_every_field_and_metadata(server):
    res = run_check(
        "otlp-grpc",
        f"http://{server.address}",
        "-H",
        "X-Tenant=abc",
        "-H",
        "x-blob-bin=\u00ff raw",
        spans=5,
        env={"OTEL_SERVICE_NAME": "grpc-check", "OTEL_RESOURCE_ATTRIBUTES": "deployment=ci"},
    )
    assert res.returncode == 0, res.describe()
    assert res.fields["exported"] == "5" and res.fields["failed"] == "0", res.describe()
    assert res.fields["destination"] == f"http://{server.address}"
    assert len(server.calls) == 1
    call = server.calls[0]
    md = call.metadata
    assert md.get("x-tenant") == "abc", md
    assert md.get("x-blob-bin") == "\u00ff raw".encode(), md  # -bin: bytes, base64 on the wire
    assert md.get("user-agent", "").startswith("chaostracing/"), md
    spans = flatten([decode(call)])
    assert_check_trace(spans, res.fields["trace_id"], 5)
    assert spans[0]["resource"]["service.name"] == "grpc-check"
    assert spans[0]["resource"]["deployment"] == "ci"
    assert not chaostracing_lines(res), res.stderr


def test_scheme_less_endpoint_insecure_flag(server):
    res = run_check("otlp-grpc", server.address, "--insecure", spans=2)
    assert res.returncode == 0, res.describe()
    assert res.fields["destination"] == f"http://{server.address}"
    assert len(server.calls) == 1
    assert_check_trace(flatten([decode(server.calls[0])]), res.fields["trace_id"], 2)

    # Without --insecure a scheme-less endpoint means TLS, which this
    # cleartext server cannot speak: a TLS failure, not retried, one line.
    res = run_check("otlp-grpc", server.address, spans=2, timeout_ms=3000)
    assert res.returncode == 1, res.describe()
    assert res.fields["destination"] == f"https://{server.address}"
    lines = chaostracing_lines(res)
    assert len(lines) == 1, res.stderr
    assert "TLS" in lines[0] or "SSL" in lines[0], lines[0]
    assert len(server.calls) == 1


def test_gzip_request_and_compressed_response(proxied):
    server, proxy = proxied
    partial = ExportTraceServiceResponse()
    partial.partial_success.rejected_spans = 1
    # Long enough for grpcio to compress the answer (it leaves tiny ones alone).
    partial.partial_success.error_message = "span 3 is too old;" + " details" * 300
    server.script = [Reply(response=partial.SerializeToString(), compress=True)]
    res = run_check("otlp-grpc", f"http://127.0.0.1:{proxy.port}", "--gzip", spans=4)
    # The server accepted 3 of 4 spans and said why.
    assert res.returncode == 1, res.describe()
    assert (res.fields["exported"], res.fields["failed"]) == ("3", "1"), res.describe()
    lines = chaostracing_lines(res)
    assert len(lines) == 1 and "rejected 1 of 4 spans: span 3 is too old" in lines[0], lines
    assert len(server.calls) == 1
    assert_check_trace(flatten([decode(server.calls[0])]), res.fields["trace_id"], 4)

    # On the wire: a compressed-flag 1 message holding gzip data that
    # inflates to exactly the request the server decoded.
    up = h2_frames(proxy.to_server, from_client=True)
    streams = sorted({f.stream for f in up if f.type == H2_HEADERS})
    assert streams == [1], streams
    body = data_payload(up, 1)
    assert body[0] == 1, "compressed flag not set"
    length = int.from_bytes(body[1:5], "big")
    assert length == len(body) - 5
    assert body[5:7] == b"\x1f\x8b", "the message is not gzip data"
    assert gzip.decompress(body[5:]) == server.calls[0].request
    # The answer came back compressed too (we offered gzip) and was read.
    down = data_payload(h2_frames(proxy.to_client, from_client=False), 1)
    assert down[0] == 1 and down[5:7] == b"\x1f\x8b", down[:8]
    assert gzip.decompress(down[5:]) == partial.SerializeToString()


def test_no_gzip_by_default(proxied):
    server, proxy = proxied
    res = run_check("otlp-grpc", f"http://127.0.0.1:{proxy.port}", spans=2)
    assert res.returncode == 0, res.describe()
    body = data_payload(h2_frames(proxy.to_server, from_client=True), 1)
    assert body[0] == 0
    assert body[5:] == server.calls[0].request


def test_unavailable_then_ok_is_retried_once(server):
    server.script = [Reply(grpc.StatusCode.UNAVAILABLE, "warming up")]
    res = run_check("otlp-grpc", f"http://{server.address}", spans=4)
    assert res.returncode == 0, res.describe()
    assert res.fields["exported"] == "4" and res.fields["failed"] == "0"
    assert [c.answered for c in server.calls] == ["UNAVAILABLE", "OK"]
    first, second = server.calls
    assert first.request == second.request, "the retry must resend the same request"
    spans = flatten([decode(second)])
    assert_check_trace(spans, res.fields["trace_id"], 4)  # every span exactly once
    gap = second.t - first.t
    assert 0.04 <= gap <= 1.0, gap  # first backoff: 50-100 ms plus the call


def test_invalid_argument_is_not_retried(server):
    msg = "bad span data: 100% wrong \u2713"
    server.script = [Reply(grpc.StatusCode.INVALID_ARGUMENT, msg)]
    res = run_check("otlp-grpc", f"http://{server.address}", spans=3)
    assert res.returncode == 1, res.describe()
    assert (res.fields["exported"], res.fields["failed"]) == ("0", "3"), res.describe()
    assert len(server.calls) == 1, [c.answered for c in server.calls]
    lines = chaostracing_lines(res)
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert "INVALID_ARGUMENT" in line and msg in line, line  # percent-decoded
    assert f"http://{server.address}" in line and "(1 attempt)" in line, line


def test_trailers_only_error(proxied):
    server, proxy = proxied
    server.script = [Reply(grpc.StatusCode.PERMISSION_DENIED, "tenant not allowed")]
    res = run_check("otlp-grpc", f"http://127.0.0.1:{proxy.port}", spans=2)
    assert res.returncode == 1, res.describe()
    assert len(server.calls) == 1
    lines = chaostracing_lines(res)
    assert len(lines) == 1 and "PERMISSION_DENIED" in lines[0], res.stderr
    assert "tenant not allowed" in lines[0]
    # The server answered with one HEADERS frame ending the stream, no DATA.
    down = [f for f in h2_frames(proxy.to_client, from_client=False) if f.stream == 1]
    assert [f.type for f in down] == [H2_HEADERS], down
    assert down[0].flags & H2_END_STREAM


def test_error_in_trailers_after_headers(proxied):
    server, proxy = proxied
    server.script = [Reply(grpc.StatusCode.UNAUTHENTICATED, "who are you", headers_first=True)]
    res = run_check("otlp-grpc", f"http://127.0.0.1:{proxy.port}", spans=2)
    assert res.returncode == 1, res.describe()
    assert len(server.calls) == 1
    lines = chaostracing_lines(res)
    assert len(lines) == 1 and "UNAUTHENTICATED" in lines[0] and "who are you" in lines[0]
    down = [f for f in h2_frames(proxy.to_client, from_client=False) if f.stream == 1]
    headers = [f for f in down if f.type == H2_HEADERS]
    assert len(headers) == 2, down  # headers, then trailers
    assert not headers[0].flags & H2_END_STREAM and headers[1].flags & H2_END_STREAM


def test_resource_exhausted_with_retry_info_waits_and_retries(server):
    server.script = [Reply(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", retry_delay=0.6)]
    res = run_check("otlp-grpc", f"http://{server.address}", spans=3)
    assert res.returncode == 0, res.describe()
    assert [c.answered for c in server.calls] == ["RESOURCE_EXHAUSTED", "OK"]
    gap = server.calls[1].t - server.calls[0].t
    assert gap >= 0.6, f"RetryInfo asked for 600 ms, the retry came after {gap:.3f} s"
    assert gap < 1.5, gap
    assert_check_trace(flatten([decode(server.calls[1])]), res.fields["trace_id"], 3)


def test_resource_exhausted_without_retry_info_fails(server):
    server.script = [Reply(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota gone")]
    res = run_check("otlp-grpc", f"http://{server.address}", spans=3)
    assert res.returncode == 1, res.describe()
    assert len(server.calls) == 1
    lines = chaostracing_lines(res)
    assert len(lines) == 1 and "RESOURCE_EXHAUSTED" in lines[0] and "quota gone" in lines[0]


def test_retry_info_beyond_deadline_gives_up(server):
    server.script = [Reply(grpc.StatusCode.RESOURCE_EXHAUSTED, "later", retry_delay=30)]
    res = run_check("otlp-grpc", f"http://{server.address}", spans=2, timeout_ms=2000)
    assert res.returncode == 1, res.describe()
    assert len(server.calls) == 1
    assert res.wall < 1.5, f"waited {res.wall:.2f} s for a retry that could not happen"


def test_deadline_is_honoured_against_a_slow_server(server):
    server.script = [Reply(sleep=10)]
    res = run_check("otlp-grpc", f"http://{server.address}", spans=2, timeout_ms=1000)
    assert res.returncode == 1, res.describe()
    assert res.wall < 1.0 + 0.8, f"returned after {res.wall:.2f} s with a 1 s deadline"
    assert res.wall >= 0.9, res.wall
    assert len(server.calls) == 1
    # grpc-timeout carried the deadline to the server.
    remaining = server.calls[0].time_remaining
    assert remaining is not None and 0.5 < remaining <= 1.0, remaining
    lines = chaostracing_lines(res)
    assert len(lines) == 1, res.stderr
    assert "DEADLINE_EXCEEDED" in lines[0] or "timed out" in lines[0], lines[0]


def test_refused_connection_fails_fast():
    port = refused_port()
    res = run_check("otlp-grpc", f"http://127.0.0.1:{port}", spans=2, timeout_ms=5000)
    assert res.returncode == 1, res.describe()
    assert res.wall < 1.5, res.wall  # shutdown: a refused connection is not retried
    lines = chaostracing_lines(res)
    assert len(lines) == 1 and "connection refused" in lines[0].lower(), res.stderr


def test_tls_with_a_private_ca(pki):
    server = GrpcServer(OTLP_SERVICE, OTLP_METHOD, tls=pki)
    try:
        res = run_check(
            "otlp-grpc", f"https://127.0.0.1:{server.port}", "--cacert", pki.ca_file, spans=3
        )
        assert res.returncode == 0, res.describe()
        assert_check_trace(flatten([decode(server.calls[0])]), res.fields["trace_id"], 3)
        # Scheme-less means TLS; the certificate names localhost too.
        res = run_check("otlp-grpc", f"localhost:{server.port}", "--cacert", pki.ca_file, spans=2)
        assert res.returncode == 0, res.describe()
        assert res.fields["destination"] == f"https://localhost:{server.port}"
        assert len(server.calls) == 2
        # Without the CA the server is not trusted: no call reaches it.
        res = run_check("otlp-grpc", f"https://127.0.0.1:{server.port}", spans=2)
        assert res.returncode == 1, res.describe()
        lines = chaostracing_lines(res)
        assert len(lines) == 1 and ("TLS" in lines[0] or "certificate" in lines[0]), res.stderr
        assert len(server.calls) == 2
    finally:
        server.stop()


def test_mutual_tls(pki):
    server = GrpcServer(OTLP_SERVICE, OTLP_METHOD, tls=pki, require_client_auth=True)
    try:
        ep = f"https://127.0.0.1:{server.port}"
        res = run_check(
            "otlp-grpc",
            ep,
            "--cacert",
            pki.ca_file,
            "--cert",
            pki.client_cert_file,
            "--key",
            pki.client_key_file,
            spans=2,
        )
        assert res.returncode == 0, res.describe()
        assert len(server.calls) == 1
        res = run_check("otlp-grpc", ep, "--cacert", pki.ca_file, spans=2, timeout_ms=3000)
        assert res.returncode == 1, res.describe()
        assert len(server.calls) == 1
    finally:
        server.stop()
