"""The Jaeger agent exporter end to end: `chaostracing check -e jaeger-thrift`
sends emitBatch datagrams to a UDP socket on loopback, and every datagram is
decoded with an implementation that is not ours: the `thrift` package's
TCompactProtocol and the Jaeger classes generated from jaeger-idl that ship in
the `opentelemetry-exporter-jaeger-thrift` package
(opentelemetry/exporter/jaeger/thrift/gen/{jaeger,agent}).

Test-only packages (installed with --no-deps: the exporter package's own
dependencies, the OpenTelemetry SDK among them, are not needed because only
its generated thrift modules are loaded, without importing the package):

    pip install --no-deps thrift==0.22.0 opentelemetry-exporter-jaeger-thrift==1.21.0

Missing packages make these tests fail, never skip. The CLI is built with
`make -C <root> cli tools`; the tests fail if that fails.
"""

import importlib
import importlib.metadata
import json
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List

import pytest

from cli_support import run_check, run_cli
from conftest import refused_port

MAX_PACKET = 65000
GEN_PACKAGE = "opentelemetry-exporter-jaeger-thrift"
GEN_DIR = "opentelemetry/exporter/jaeger/thrift/gen"
INSTALL_HINT = (
    "pip install --no-deps thrift==0.22.0 opentelemetry-exporter-jaeger-thrift==1.21.0"
)

# jaeger.thrift enums
STRING, DOUBLE, BOOL, LONG, BINARY = range(5)
CHILD_OF, FOLLOWS_FROM = 0, 1


# --------------------------------------------------------------------------
# The reference decoder
# --------------------------------------------------------------------------
class Thrift:
    """The thrift runtime and Jaeger's generated Agent / jaeger modules."""

    def __init__(self):
        try:
            from thrift.protocol import TCompactProtocol
            from thrift.Thrift import TMessageType
            from thrift.transport import TTransport
        except ImportError as e:
            pytest.fail(f"the thrift package is missing ({e}); {INSTALL_HINT}", pytrace=False)
        try:
            dist = importlib.metadata.distribution(GEN_PACKAGE)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{GEN_PACKAGE} is not installed; {INSTALL_HINT}", pytrace=False)
        gen = Path(dist.locate_file(GEN_DIR)).resolve()
        if not (gen / "agent" / "Agent.py").is_file():
            pytest.fail(f"{gen}/agent/Agent.py not found in {GEN_PACKAGE}", pytrace=False)
        # The generated modules import each other as top-level `jaeger` and
        # `agent` (their package's __init__ puts gen/ on sys.path the same
        # way); the exporter package itself is never imported.
        if str(gen) not in sys.path:
            sys.path.append(str(gen))
        self.Agent = importlib.import_module("agent.Agent")
        self.ttypes = importlib.import_module("jaeger.ttypes")
        for mod in (self.Agent, self.ttypes):
            assert Path(mod.__file__).resolve().is_relative_to(gen), (
                f"{mod.__name__} was imported from {mod.__file__}, not from {gen}"
            )
        self.TCompactProtocol = TCompactProtocol
        self.TMessageType = TMessageType
        self.TTransport = TTransport

    def decode(self, datagram: bytes):
        """One datagram -> (seqid, Batch). Asserts a oneway emitBatch message
        that uses every byte."""
        trans = self.TTransport.TMemoryBuffer(datagram)
        proto = self.TCompactProtocol.TCompactProtocol(trans)
        name, mtype, seqid = proto.readMessageBegin()
        assert name == "emitBatch", name
        assert mtype == self.TMessageType.ONEWAY, mtype
        args = self.Agent.emitBatch_args()
        args.read(proto)
        proto.readMessageEnd()
        left = len(datagram) - trans._buffer.tell()
        assert left == 0, f"{left} bytes after the emitBatch arguments"
        assert args.batch is not None and args.batch.process is not None
        return seqid, args.batch


@pytest.fixture(scope="module")
def thrift() -> Thrift:
    return Thrift()


# --------------------------------------------------------------------------
# A UDP agent on loopback
# --------------------------------------------------------------------------
class UdpAgent:
    """A UDP socket on 127.0.0.1 (or ::1) read by a thread into a list."""

    def __init__(self, family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        big = 16 << 20
        try:  # as root the buffer may exceed net.core.rmem_max
            self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), big)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, big)
        self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.datagrams: List[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.sock.settimeout(0.02)
        while True:
            try:
                self.datagrams.append(self.sock.recv(1 << 17))
            except socket.timeout:
                if self._stop.is_set():
                    return
            except OSError:
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        self.sock.close()

    def stop(self):
        """Return once everything already queued has been read."""
        self._stop.set()
        self._thread.join(10)


# --------------------------------------------------------------------------
# Helpers on decoded spans
# --------------------------------------------------------------------------
def u64(v: int) -> int:
    """A thrift i64 read back as the unsigned 64-bit id it carries."""
    assert -(2**63) <= v < 2**63
    return v & (2**64 - 1)


def trace_hex(span) -> str:
    return f"{u64(span.traceIdHigh):016x}{u64(span.traceIdLow):016x}"


def tags_of(tags, owner: str) -> Dict[str, Any]:
    """Tag list -> {key: (vType, value)}; a duplicated key fails."""
    out: Dict[str, Any] = {}
    for t in tags or []:
        assert t.key not in out, f"{owner}: tag {t.key!r} twice"
        value = {
            STRING: t.vStr,
            DOUBLE: t.vDouble,
            BOOL: t.vBool,
            LONG: t.vLong,
            BINARY: t.vBinary,
        }[t.vType]
        assert value is not None, f"{owner}: tag {t.key!r} of type {t.vType} has no value"
        out[t.key] = (t.vType, value)
    return out


def decode_all(thrift: Thrift, agent: UdpAgent):
    """[(seqid, batch, size)] of every datagram received."""
    return [(*thrift.decode(d), len(d)) for d in agent.datagrams]


def thrift_spans(thrift: Thrift, datagrams):
    """Jaeger agent datagrams -> uniform span dicts (trace_id, span_id,
    parent: hex or "", name, service)."""
    spans = []
    for d in datagrams:
        _, batch = thrift.decode(d)
        for s in batch.spans:
            spans.append(
                {
                    "trace_id": trace_hex(s),
                    "span_id": f"{u64(s.spanId):016x}",
                    "parent": f"{u64(s.parentSpanId):016x}" if s.parentSpanId else "",
                    "name": s.operationName,
                    "service": batch.process.serviceName,
                }
            )
    return spans


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------
def test_check_trace_decodes_with_the_jaeger_classes(cli, thrift, version):
    with UdpAgent() as agent:
        run = run_check(
            cli, "-e", "jaeger-thrift", "-u", f"127.0.0.1:{agent.port}", "-n", "5", "-t", "10000"
        )
        agent.stop()
        got = decode_all(thrift, agent)
    assert run.returncode == 0, run.describe()
    assert (run.exported, run.failed, run.dropped) == (5, 0, 0), run.describe()
    assert run.destination == f"udp://127.0.0.1:{agent.port}"
    assert len(got) == 1, f"{len(got)} datagrams for 5 small spans"
    seqid, batch, size = got[0]
    assert seqid == 0
    assert size <= MAX_PACKET

    # The process: service.name and the other resource attributes.
    assert batch.process.serviceName == "chaostoolkit"
    ptags = tags_of(batch.process.tags, "process")
    assert "service.name" not in ptags
    assert ptags["telemetry.sdk.name"] == (STRING, "chaostracing")
    assert ptags["telemetry.sdk.language"] == (STRING, "c")
    assert ptags["telemetry.sdk.version"] == (STRING, version)
    assert ptags["process.pid"][0] == LONG and ptags["process.pid"][1] > 0

    spans = {s.operationName: s for s in batch.spans}
    assert sorted(spans) == ["chaostracing check"] + [f"check span {i}" for i in range(1, 5)]
    root = spans["chaostracing check"]
    root_id = u64(root.spanId)
    ids = {u64(s.spanId) for s in batch.spans}
    assert len(ids) == 5 and 0 not in ids
    for s in batch.spans:
        who = f"span {s.operationName!r}"
        assert trace_hex(s) == run.trace_id, who
        assert s.flags == 1, who
        assert s.duration >= 0, who
        # Microseconds since the epoch, inside the command's run.
        assert run.t0_us <= s.startTime <= s.startTime + s.duration <= run.t1_us, who
        tags = tags_of(s.tags, who)
        assert tags["otel.scope.name"] == (STRING, "chaostracing"), who
        assert tags["otel.scope.version"] == (STRING, version), who

    # The root: a SERVER span without parent or references.
    rtags = tags_of(root.tags, "root")
    assert root.parentSpanId == 0
    assert not root.references
    assert not root.logs
    assert rtags["span.kind"] == (STRING, "server")
    assert rtags["chaostoolkit.type"] == (STRING, "check")
    assert "error" not in rtags and "otel.status_code" not in rtags

    for i in range(1, 5):
        s = spans[f"check span {i}"]
        who = f"check span {i}"
        tags = tags_of(s.tags, who)
        assert u64(s.parentSpanId) == root_id, who
        # The parent first (CHILD_OF), then the link (FOLLOWS_FROM).
        refs = [(r.refType, u64(r.traceIdHigh), u64(r.traceIdLow), u64(r.spanId))
                for r in s.references]
        th, tl = int(run.trace_id[:16], 16), int(run.trace_id[16:], 16)
        assert refs == [(CHILD_OF, th, tl, root_id), (FOLLOWS_FROM, th, tl, root_id)], who
        # Children lie inside the root (1 µs of rounding allowed).
        assert root.startTime <= s.startTime, who
        assert s.startTime + s.duration <= root.startTime + root.duration + 1, who
        # Every attribute type.
        assert tags["check.string"] == (STRING, "h\u00e9llo"), who
        assert tags["check.int"] == (LONG, -42), who
        assert tags["check.bool"] == (BOOL, True), who
        assert tags["check.double"] == (DOUBLE, 2.5), who
        assert tags["check.bytes"] == (BINARY, b"\x00\x01\x02"), who
        assert tags["check.array"][0] == STRING, who
        assert json.loads(tags["check.array"][1]) == ["alpha", "beta"], who
        assert tags["check.index"] == (LONG, i), who
        # span.kind: client for odd children, none for internal ones.
        if i % 2:
            assert tags["span.kind"] == (STRING, "client"), who
        else:
            assert "span.kind" not in tags, who
        # The event as a log.
        assert len(s.logs) == 1, who
        log = s.logs[0]
        assert s.startTime <= log.timestamp <= s.startTime + s.duration + 1, who
        assert tags_of(log.fields, f"log of {who}") == {
            "event": (STRING, "check event"),
            "check.event.attr": (STRING, "v"),
        }, who
        # Status: only the last child failed.
        if i == 4:
            assert tags["otel.status_code"] == (STRING, "ERROR"), who
            assert tags["otel.status_description"] == (STRING, "check error"), who
            assert tags["error"] == (BOOL, True), who
        else:
            assert "otel.status_code" not in tags and "error" not in tags, who


def test_ten_thousand_spans_arrive_complete_across_datagrams(cli, thrift):
    n = 10000
    with UdpAgent() as agent:
        run = run_check(
            cli, "-e", "jaeger-thrift", "-u", f"127.0.0.1:{agent.port}", "-n", str(n), "-t", "30000"
        )
        agent.stop()
        got = decode_all(thrift, agent)
    assert run.returncode == 0, run.describe()
    assert (run.exported, run.failed, run.dropped) == (n, 0, 0), run.describe()
    sizes = [size for _, _, size in got]
    assert len(got) > 1, "10,000 spans cannot fit in one datagram"
    assert max(sizes) <= MAX_PACKET, f"largest datagram {max(sizes)} bytes"
    # Datagrams are filled: all but the last at least 90% of the limit.
    assert min(sizes[:-1]) >= MAX_PACKET * 0.9, sorted(sizes)[:5]
    # One seqid each, increasing from 0.
    assert [seqid for seqid, _, _ in got] == list(range(len(got)))
    ids = []
    for _, batch, _ in got:
        assert batch.process.serviceName == "chaostoolkit"
        for s in batch.spans:
            assert trace_hex(s) == run.trace_id
            ids.append(u64(s.spanId))
    assert len(ids) == n
    assert len(set(ids)) == n
    names = {s.operationName for _, b, _ in got for s in b.spans}
    assert names == {"chaostracing check"} | {f"check span {i}" for i in range(1, n)}


def test_ipv6_loopback(cli, thrift):
    with UdpAgent(socket.AF_INET6) as agent:
        run = run_check(
            cli, "-e", "jaeger-thrift", "-u", f"[::1]:{agent.port}", "-n", "3", "-t", "10000"
        )
        agent.stop()
        got = decode_all(thrift, agent)
    assert run.returncode == 0, run.describe()
    assert run.exported == 3, run.describe()
    assert run.destination == f"udp://[::1]:{agent.port}"
    assert len(got) == 1
    assert {trace_hex(s) for s in got[0][1].spans} == {run.trace_id}
    assert len(got[0][1].spans) == 3


def test_closed_port_reports_failure_without_hanging(cli):
    port = refused_port(socket.SOCK_DGRAM)
    run = run_check(
        cli, "-e", "jaeger-thrift", "-u", f"127.0.0.1:{port}", "-n", "3", "-t", "10000"
    )
    assert run.returncode == 1, run.describe()
    assert (run.exported, run.failed) == (0, 3), run.describe()
    assert run.wall < 5, f"took {run.wall:.1f} s"
    want = (
        f"chaostracing: export to udp://127.0.0.1:{port} failed: connection refused "
        "(no agent listening on that port); 3 spans not delivered"
    )
    assert want in run.proc.stderr.splitlines(), run.describe()


def test_huge_resource_attribute_is_cut_down(cli, thrift):
    """A 100 KB resource attribute cannot go into every datagram: the process
    is cut down (marked chaostracing.truncated) and every span still arrives."""
    big = "r" * 100_000
    with UdpAgent() as agent:
        run = run_check(
            cli,
            "-e",
            "jaeger-thrift",
            "-u",
            f"127.0.0.1:{agent.port}",
            "-n",
            "500",
            "-t",
            "10000",
            env={"OTEL_RESOURCE_ATTRIBUTES": f"big.attr={big},small.attr=s"},
        )
        agent.stop()
        got = decode_all(thrift, agent)
    assert run.returncode == 0, run.describe()
    assert run.exported == 500, run.describe()
    assert "the resource takes" in run.proc.stderr, run.describe()
    assert sum(len(b.spans) for _, b, _ in got) == 500
    for _, batch, size in got:
        assert size <= MAX_PACKET
        assert batch.process.serviceName == "chaostoolkit"
        ptags = tags_of(batch.process.tags, "process")
        assert ptags["chaostracing.truncated"] == (BOOL, True)
        assert ptags["small.attr"] == (STRING, "s")
        kind, value = ptags["big.attr"]
        assert kind == STRING and 0 < len(value) <= MAX_PACKET // 2
        assert big.startswith(value)


def test_unresolvable_agent_fails_the_export_by_name(cli):
    # The agent's name is resolved on the export path (never in the thread
    # that configures tracing, which holds Python's GIL): a name that does not
    # resolve fails the export, and the message names it.
    proc = run_cli(
        cli, "check", "-e", "jaeger-thrift", "-u", "no-such-host.invalid:6831", "-n", "1"
    )
    assert proc.returncode == 1, proc.stderr
    assert "cannot resolve no-such-host.invalid" in proc.stderr
    assert "exported=0 failed=1" in proc.stdout


def test_bad_endpoint_is_a_usage_error(cli):
    proc = run_cli(cli, "check", "-e", "jaeger-thrift", "-u", "localhost:99999", "-n", "1")
    assert proc.returncode == 64, proc.stderr
    assert "port 99999 is outside 1-65535" in proc.stderr
