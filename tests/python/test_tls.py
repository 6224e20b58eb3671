"""TLS for the HTTP exporters, end to end on 127.0.0.1.

The test makes its own PKI with the openssl command-line tool: a CA, a server
certificate for IP 127.0.0.1 (subjectAltName), one for 127.0.0.2 only, a
client certificate, and an unrelated second CA with its own client
certificate. An HTTPS OTLP/HTTP receiver (conftest.OtlpReceiver given an
ssl.SSLContext) decodes
what it gets with the official opentelemetry-proto classes and records the
client certificate each connection presented. `chaostracing check` (built
with `make -C <root> cli tools`) does the exporting, configured through its
options and through the OTEL_EXPORTER_OTLP_* variables.
"""

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from cli_support import run_check
from conftest import OtlpReceiver
from test_zipkin import ZipkinReceiver, parse_zipkin_body

CLIENT_CN = "chaostracing-client"
CLIENT_O = "chaostracing tests"


# --------------------------------------------------------------------------
# A throw-away PKI
# --------------------------------------------------------------------------
@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    other_ip_cert: Path  # for 127.0.0.2 only, signed by `ca`
    other_ip_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    stranger_cert: Path  # a client certificate signed by `other_ca`
    stranger_key: Path


def _openssl(d: Path, *args: str) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        pytest.fail("the openssl command is needed to make the test certificates", pytrace=False)
    p = subprocess.run([exe, *args], cwd=d, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"openssl {' '.join(args)} failed:\n{p.stderr}"


def _make_ca(d: Path, name: str, cn: str) -> None:
    _openssl(
        d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={cn}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )


def _make_leaf(d: Path, name: str, ca: str, subj: str, serial: int, ext: List[str]) -> None:
    _openssl(
        d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj,
    )
    (d / f"{name}.ext").write_text(
        "\n".join(
            [
                "basicConstraints=critical,CA:FALSE",
                "keyUsage=critical,digitalSignature",
                "subjectKeyIdentifier=hash",
                "authorityKeyIdentifier=keyid,issuer",
                *ext,
            ]
        )
        + "\n"
    )
    _openssl(
        d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-set_serial", str(serial), "-days", "2", "-out", f"{name}.pem",
        "-extfile", f"{name}.ext",
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    _make_ca(d, "ca", "chaostracing test CA")
    _make_ca(d, "other_ca", "some other CA")
    server_ext = ["extendedKeyUsage=serverAuth"]
    _make_leaf(d, "server", "ca", "/CN=127.0.0.1", 2, [*server_ext, "subjectAltName=IP:127.0.0.1"])
    _make_leaf(d, "other_ip", "ca", "/CN=127.0.0.2", 3, [*server_ext, "subjectAltName=IP:127.0.0.2"])
    client_ext = ["extendedKeyUsage=clientAuth"]
    _make_leaf(d, "client", "ca", f"/CN={CLIENT_CN}/O={CLIENT_O}", 4, client_ext)
    _make_leaf(d, "stranger", "other_ca", "/CN=stranger", 5, client_ext)
    return Pki(
        ca=d / "ca.pem",
        server_cert=d / "server.pem",
        server_key=d / "server.key",
        other_ip_cert=d / "other_ip.pem",
        other_ip_key=d / "other_ip.key",
        client_cert=d / "client.pem",
        client_key=d / "client.key",
        other_ca=d / "other_ca.pem",
        stranger_cert=d / "stranger.pem",
        stranger_key=d / "stranger.key",
    )


def server_context(pki: Pki, require_client_cert=False, other_ip=False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if other_ip:
        ctx.load_cert_chain(pki.other_ip_cert, pki.other_ip_key)
    else:
        ctx.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(pki.ca)
    return ctx


def subject(cert: Optional[Dict[str, Any]]) -> Dict[str, str]:
    """A peer certificate's subject as {attribute: value}."""
    assert cert, "the server saw no client certificate"
    return {k: v for rdn in cert["subject"] for k, v in rdn}


def assert_delivered(run, rx: OtlpReceiver, n: int = 3) -> None:
    assert run.returncode == 0, run.describe()
    assert (run.exported, run.failed) == (n, 0), run.describe()
    assert run.stderr_lines == [], run.describe()
    assert rx.handshake_errors == []
    assert [p["path"] for p in rx.posts] == ["/v1/traces"]
    spans = rx.spans()
    assert len(spans) == n
    assert {s["trace_id"] for s in spans} == {run.trace_id}
    assert sorted(s["name"] for s in spans) == ["chaostracing check"] + [
        f"check span {i}" for i in range(1, n)
    ]


def assert_one_tls_error(run, url: str) -> str:
    """Exit 1, nothing delivered, exactly one error line naming TLS and the
    certificate problem; returns that line."""
    assert run.returncode == 1, run.describe()
    assert (run.exported, run.failed) == (0, 3), run.describe()
    assert len(run.stderr_lines) == 1, run.describe()
    line = run.stderr_lines[0]
    assert line.startswith(f"chaostracing: export to {url}"), line
    assert "TLS" in line and "certificate" in line.lower(), line
    assert "3 spans not delivered" in line, line
    return line


# --------------------------------------------------------------------------
# Server verification
# --------------------------------------------------------------------------
def test_verified_export_with_cacert_option(cli, pki):
    with OtlpReceiver(server_context(pki)) as rx:
        run = run_check(cli, "-e", "otlp-http", "-u", rx.url, "--cacert", str(pki.ca), "-t", "5000")
    assert_delivered(run, rx)
    assert run.destination == rx.url + "/v1/traces"
    assert rx.posts[0]["peer_cert"] is None  # no client certificate was asked for


@pytest.mark.parametrize(
    "var", ["OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"]
)
def test_verified_export_with_certificate_variable(cli, pki, var):
    with OtlpReceiver(server_context(pki)) as rx:
        run = run_check(cli, "-e", "otlp-http", "-u", rx.url, "-t", "5000", env={var: str(pki.ca)})
    assert_delivered(run, rx)


def test_endpoint_and_certificate_all_from_environment(cli, pki):
    with OtlpReceiver(server_context(pki)) as rx:
        run = run_check(
            cli,
            "-t",
            "5000",
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": rx.url,
                "OTEL_EXPORTER_OTLP_CERTIFICATE": str(pki.ca),
            },
        )
    assert_delivered(run, rx)


@pytest.mark.parametrize("how", ["option", "variable"])
def test_wrong_ca_fails_with_one_tls_error(cli, pki, how):
    with OtlpReceiver(server_context(pki)) as rx:
        if how == "option":
            args, env = ["--cacert", str(pki.other_ca)], None
        else:
            args, env = [], {"OTEL_EXPORTER_OTLP_CERTIFICATE": str(pki.other_ca)}
        run = run_check(cli, "-e", "otlp-http", "-u", rx.url, "-t", "5000", *args, env=env)
    line = assert_one_tls_error(run, rx.url)
    assert "unable to get local issuer certificate" in line, line
    assert rx.posts == []
    assert len(rx.handshake_errors) == 1, rx.handshake_errors  # a TLS error is not retried
    assert run.wall < 3.0


def test_without_a_ca_the_system_store_is_used_and_refuses(cli, pki):
    with OtlpReceiver(server_context(pki)) as rx:
        run = run_check(cli, "-e", "otlp-http", "-u", rx.url, "-t", "5000")
    assert_one_tls_error(run, rx.url)
    assert rx.posts == []


def test_host_name_is_verified(cli, pki):
    # A certificate from the trusted CA, but for 127.0.0.2.
    with OtlpReceiver(server_context(pki, other_ip=True)) as rx:
        run = run_check(cli, "-e", "otlp-http", "-u", rx.url, "--cacert", str(pki.ca), "-t", "5000")
    assert run.returncode == 1, run.describe()
    assert len(run.stderr_lines) == 1, run.describe()
    line = run.stderr_lines[0]
    assert "TLS error" in line and "127.0.0.1" in line, line
    assert rx.posts == []


def test_missing_ca_file_is_a_tls_error_naming_it(cli, pki, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    with OtlpReceiver(server_context(pki)) as rx:
        run = run_check(cli, "-e", "otlp-http", "-u", rx.url, "--cacert", str(missing), "-t", "5000")
    assert run.returncode == 1, run.describe()
    assert len(run.stderr_lines) == 1, run.describe()
    assert "TLS error" in run.stderr_lines[0] and str(missing) in run.stderr_lines[0]
    assert rx.posts == []


# --------------------------------------------------------------------------
# Client certificates
# --------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["option", "variable", "traces-variable"])
def test_client_certificate_is_presented(cli, pki, how):
    with OtlpReceiver(server_context(pki, require_client_cert=True)) as rx:
        if how == "option":
            args = ["--cacert", str(pki.ca), "--cert", str(pki.client_cert)]
            args += ["--key", str(pki.client_key)]
            env = None
        else:
            p = "OTEL_EXPORTER_OTLP_" + ("TRACES_" if how == "traces-variable" else "")
            args = []
            env = {
                p + "CERTIFICATE": str(pki.ca),
                p + "CLIENT_CERTIFICATE": str(pki.client_cert),
                p + "CLIENT_KEY": str(pki.client_key),
            }
        run = run_check(cli, "-e", "otlp-http", "-u", rx.url, "-t", "5000", *args, env=env)
    assert_delivered(run, rx)
    subj = subject(rx.posts[0]["peer_cert"])
    assert subj == {"commonName": CLIENT_CN, "organizationName": CLIENT_O}, subj


def test_without_client_certificate_the_export_fails_cleanly(cli, pki):
    with OtlpReceiver(server_context(pki, require_client_cert=True)) as rx:
        run = run_check(cli, "-e", "otlp-http", "-u", rx.url, "--cacert", str(pki.ca), "-t", "5000")
    line = assert_one_tls_error(run, rx.url)
    assert "no" in line and "client certificate" in line, line
    assert rx.posts == []
    assert len(rx.handshake_errors) == 1, rx.handshake_errors
    assert "CERTIFICATE" in rx.handshake_errors[0].upper(), rx.handshake_errors
    assert run.wall < 3.0, run.wall


def test_client_certificate_from_another_ca_is_refused(cli, pki):
    with OtlpReceiver(server_context(pki, require_client_cert=True)) as rx:
        run = run_check(
            cli, "-e", "otlp-http", "-u", rx.url, "--cacert", str(pki.ca),
            "--cert", str(pki.stranger_cert), "--key", str(pki.stranger_key), "-t", "5000",
        )
    line = assert_one_tls_error(run, rx.url)
    assert "client certificate" in line, line
    assert rx.posts == []
    assert len(rx.handshake_errors) == 1, rx.handshake_errors


def test_client_key_that_does_not_match_fails_cleanly(cli, pki):
    with OtlpReceiver(server_context(pki, require_client_cert=True)) as rx:
        run = run_check(
            cli, "-e", "otlp-http", "-u", rx.url, "--cacert", str(pki.ca),
            "--cert", str(pki.client_cert), "--key", str(pki.stranger_key), "-t", "5000",
        )
    assert run.returncode == 1, run.describe()
    assert len(run.stderr_lines) == 1, run.describe()
    assert "TLS error" in run.stderr_lines[0], run.stderr_lines
    assert rx.posts == []


# --------------------------------------------------------------------------
# The Zipkin exporter shares the transport
# --------------------------------------------------------------------------
def test_zipkin_over_verified_tls_with_client_certificate(cli, pki):
    ctx = server_context(pki, require_client_cert=True)
    with ZipkinReceiver(ssl_context=ctx) as rx:
        run = run_check(
            cli, "-e", "zipkin", "-u", rx.url, "--cacert", str(pki.ca),
            "--cert", str(pki.client_cert), "--key", str(pki.client_key), "-t", "5000",
        )
    assert run.returncode == 0, run.describe()
    assert run.exported == 3 and run.stderr_lines == [], run.describe()
    assert len(rx.posts) == 1
    spans = parse_zipkin_body(rx.posts[0]["body"])
    assert {s["traceId"] for s in spans} == {run.trace_id}


def test_zipkin_with_wrong_ca_fails_with_one_tls_error(cli, pki):
    with ZipkinReceiver(ssl_context=server_context(pki)) as rx:
        run = run_check(
            cli, "-e", "zipkin", "-u", rx.url, "--cacert", str(pki.other_ca), "-t", "5000"
        )
    assert_one_tls_error(run, rx.url)
    assert rx.posts == []
