"""Real gRPC servers on loopback for the gRPC exporter tests.

- `GrpcServer`: grpcio serving one unary method with raw bytes, answering from
  a script (status, message, RetryInfo, delays, compression, initial metadata
  first or a trailers-only answer) and recording every call: request bytes,
  metadata, the deadline grpcio saw, time.
- `RecordingProxy`: a TCP forwarder that keeps the bytes of each direction, so
  the tests can read the HTTP/2 frames (`h2_frames`) and check what went over
  the wire (compressed-flag byte, gzip magic, trailers-only answers).
- `make_pki`: a throw-away CA with server and client certificates.
- `jaeger_classes`: Jaeger api_v2 message classes built by the protobuf
  runtime from the descriptors shipped in the opentelemetry-exporter-jaeger-
  proto-grpc package (its generated modules predate protobuf 4, so they are not
  imported; their serialized FileDescriptorProtos are read instead).
- `run_check`: `chaostracing check` against one gRPC endpoint (the
  shorthand of these tests over cli_support.run_check).

Nothing here skips: a missing package is a test failure.
"""

import ast
import datetime
import importlib
import importlib.metadata
import socket
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import cli_support

try:
    import grpc
except ImportError as exc:  # pragma: no cover - fail loudly, never skip
    raise ImportError(
        "the gRPC exporter tests need grpcio (pip install grpcio)"
    ) from exc

OTLP_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
OTLP_METHOD = "Export"
JAEGER_SERVICE = "jaeger.api_v2.CollectorService"
JAEGER_METHOD = "PostSpans"


def run_check(
    exporter: str,
    endpoint: str,
    *args: str,
    spans: int = 4,
    timeout_ms: int = 5000,
    env: Optional[Dict[str, str]] = None,
) -> cli_support.CheckRun:
    """`chaostracing check -e exporter -u endpoint -n spans -t timeout_ms *args`."""
    return cli_support.run_check(
        cli_support.build_cli(),
        "-e",
        exporter,
        "-u",
        endpoint,
        "-n",
        str(spans),
        "-t",
        str(timeout_ms),
        *args,
        env=env,
    )


# --------------------------------------------------------------------------
# The scripted gRPC server
# --------------------------------------------------------------------------
@dataclass
class Reply:
    """One scripted answer. code None = OK with `response` bytes."""

    code: Optional["grpc.StatusCode"] = None
    message: str = ""
    retry_delay: Optional[float] = None  # seconds, sent as a RetryInfo
    response: bytes = b""
    headers_first: bool = False  # send initial metadata before the status
    sleep: float = 0.0  # hold the call this long (or until the server stops)
    compress: bool = False  # gzip the response message


@dataclass
class Call:
    index: int
    t: float
    request: bytes
    metadata: Dict[str, Any]
    time_remaining: Optional[float]
    answered: str = ""


def status_details(code: int, message: str, retry_delay: Optional[float]) -> bytes:
    """A serialized google.rpc.Status with a RetryInfo detail (googleapis-common-protos)."""
    from google.protobuf import any_pb2, duration_pb2
    from google.rpc import error_details_pb2, status_pb2

    st = status_pb2.Status(code=code, message=message)
    if retry_delay is not None:
        ri = error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(
                seconds=int(retry_delay), nanos=int(round((retry_delay % 1) * 1e9))
            )
        )
        detail = any_pb2.Any()
        detail.Pack(ri)
        st.details.append(detail)
    return st.SerializeToString()


class GrpcServer:
    """grpcio serving `service`/`method` on 127.0.0.1, answering from `script`
    (then OK with `default_response`), cleartext or TLS."""

    def __init__(
        self,
        service: str,
        method: str,
        default_response: bytes = b"",
        tls: Optional["Pki"] = None,
        require_client_auth: bool = False,
    ):
        self.service, self.method = service, method
        self.default_response = default_response
        self.script: List[Reply] = []
        self.calls: List[Call] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.method_handlers_generic_handler(
            service, {method: grpc.unary_unary_rpc_method_handler(self._handle)}
        )
        self.server.add_generic_rpc_handlers((handler,))
        if tls:
            creds = grpc.ssl_server_credentials(
                [(tls.server_key, tls.server_cert)],
                root_certificates=tls.ca_cert if require_client_auth else None,
                require_client_auth=require_client_auth,
            )
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        else:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        assert self.port, "grpcio could not bind a loopback port"
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _handle(self, request: bytes, context) -> bytes:
        with self._lock:
            call = Call(
                index=len(self.calls),
                t=time.monotonic(),
                request=bytes(request),
                metadata={k: v for k, v in context.invocation_metadata()},
                time_remaining=context.time_remaining(),
            )
            self.calls.append(call)
            reply = self.script.pop(0) if self.script else Reply(response=self.default_response)
        if reply.sleep:
            self._release.wait(reply.sleep)
        if reply.compress:
            context.set_compression(grpc.Compression.Gzip)
        if reply.headers_first:
            context.send_initial_metadata((("x-answer", "headers-first"),))
        if reply.code is None:
            call.answered = "OK"
            return reply.response
        call.answered = reply.code.name
        if reply.retry_delay is not None:
            context.set_trailing_metadata(
                (
                    (
                        "grpc-status-details-bin",
                        status_details(reply.code.value[0], reply.message, reply.retry_delay),
                    ),
                )
            )
        context.abort(reply.code, reply.message)
        raise AssertionError("abort returned")  # pragma: no cover

    def stop(self) -> None:
        self._release.set()
        self.server.stop(0).wait(5)


# --------------------------------------------------------------------------
# Bytes on the wire
# --------------------------------------------------------------------------
class RecordingProxy:
    """Forward 127.0.0.1:<port> to `upstream_port`, keeping both directions."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.to_server = bytearray()
        self.to_client = bytearray()
        self._threads: List[threading.Thread] = []
        self._socks: List[socket.socket] = []
        self._accept = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            self._socks += [c, u]
            for src, dst, buf in ((c, u, self.to_server), (u, c, self.to_client)):
                t = threading.Thread(target=self._pump, args=(src, dst, buf), daemon=True)
                t.start()
                self._threads.append(t)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, buf: bytearray) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            buf.extend(data)
            try:
                dst.sendall(data)
            except OSError:
                return

    def stop(self) -> None:
        self.lsock.close()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(2)


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_DATA, H2_HEADERS = 0, 1
H2_END_STREAM, H2_PADDED = 0x1, 0x8


@dataclass
class Frame:
    type: int
    flags: int
    stream: int
    payload: bytes = field(repr=False)


def h2_frames(data: bytes, from_client: bool) -> List[Frame]:
    """Split one direction of an HTTP/2 connection into frames."""
    data = bytes(data)
    if from_client:
        assert data.startswith(H2_PREFACE), "the client did not open with the HTTP/2 preface"
        data = data[len(H2_PREFACE) :]
    frames, i = [], 0
    while i + 9 <= len(data):
        n = int.from_bytes(data[i : i + 3], "big")
        frames.append(
            Frame(
                data[i + 3],
                data[i + 4],
                int.from_bytes(data[i + 5 : i + 9], "big") & 0x7FFFFFFF,
                data[i + 9 : i + 9 + n],
            )
        )
        i += 9 + n
    return frames


def data_payload(frames: List[Frame], stream: int) -> bytes:
    """The DATA bytes of one stream, padding removed."""
    out = b""
    for f in frames:
        if f.type == H2_DATA and f.stream == stream:
            p = f.payload
            if f.flags & H2_PADDED:
                p = p[1 : len(p) - p[0]]
            out += p
    return out


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------
@dataclass
class Pki:
    dir: Path
    ca_cert: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes

    @property
    def ca_file(self) -> str:
        return str(self.dir / "ca.pem")

    @property
    def client_cert_file(self) -> str:
        return str(self.dir / "client.pem")

    @property
    def client_key_file(self) -> str:
        return str(self.dir / "client.key")


def make_pki(d: Path) -> Pki:
    """A CA plus a server certificate (localhost, 127.0.0.1) and a client one."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def pem_key(k) -> bytes:
        return k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def name(cn: str):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = key()
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("chaostracing test CA"))
        .issuer_name(name("chaostracing test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(cn: str, usage, san=None):
        k = key()
        b = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca.subject)
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), pem_key(k)

    server_cert, server_key = leaf(
        "localhost",
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client_cert, client_key = leaf("chaostracing client", ExtendedKeyUsageOID.CLIENT_AUTH)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    (d / "ca.pem").write_bytes(ca_pem)
    (d / "client.pem").write_bytes(client_cert)
    (d / "client.key").write_bytes(client_key)
    return Pki(d, ca_pem, server_cert, server_key, client_cert, client_key)


# --------------------------------------------------------------------------
# Jaeger api_v2 classes from the descriptors of a published package
# --------------------------------------------------------------------------
JAEGER_DIST = "opentelemetry-exporter-jaeger-proto-grpc"
_jaeger: Dict[str, Any] = {}


def _serialized_pb(path: Path) -> bytes:
    """The serialized FileDescriptorProto in an old protoc-generated module,
    read with `ast` (the module is never executed)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "serialized_pb":
            v = node.value
            if isinstance(v, ast.Call) and v.args:  # _b('...')
                v = v.args[0]
            return ast.literal_eval(v).encode("latin1")
    raise LookupError(f"no serialized_pb in {path}")


def jaeger_classes() -> Dict[str, Any]:
    """{"PostSpansRequest": cls, "Span": cls, ...} for jaeger.api_v2."""
    if _jaeger:
        return _jaeger
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    try:
        files = importlib.metadata.files(JAEGER_DIST)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(
            f"the Jaeger gRPC tests decode with the Jaeger descriptors shipped in {JAEGER_DIST}:"
            f" pip install --no-deps {JAEGER_DIST}==1.21.0",
            pytrace=False,
        )
    protos = {}
    for f in files or []:
        s = str(f).replace("\\", "/")
        if "/gen/" in s and s.endswith("_pb2.py"):
            fdp = descriptor_pb2.FileDescriptorProto.FromString(_serialized_pb(Path(f.locate())))
            protos[fdp.name] = fdp
    assert "model.proto" in protos and "collector.proto" in protos, sorted(protos)

    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name: str) -> None:
        if name in added:
            return
        if name in protos:
            fdp = protos[name]
        else:  # google/protobuf/*.proto from the protobuf runtime itself
            mod = importlib.import_module(name[: -len(".proto")].replace("/", ".") + "_pb2")
            fdp = descriptor_pb2.FileDescriptorProto()
            mod.DESCRIPTOR.CopyToProto(fdp)
        for dep in fdp.dependency:
            add(dep)
        pool.Add(fdp)
        added.add(name)

    add("collector.proto")
    for short in ("PostSpansRequest", "Batch", "Span", "KeyValue", "SpanRef", "Log"):
        desc = pool.FindMessageTypeByName("jaeger.api_v2." + short)
        _jaeger[short] = message_factory.GetMessageClass(desc)
    _jaeger["ValueType"] = pool.FindEnumTypeByName("jaeger.api_v2.ValueType")
    _jaeger["SpanRefType"] = pool.FindEnumTypeByName("jaeger.api_v2.SpanRefType")
    return _jaeger
