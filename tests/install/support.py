"""What the install checks (make wheel-check) share: the wheels of `make
wheel`, the interpreters they are for, the layers of each root (rootfs.py),
the wheels of Chaos Toolkit for each Python (so that installing inside the
root needs no network), and reading the spans the runs exported.
"""

import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

import rootfs

REPO = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("CHAOSTRACING_DIST") or REPO / "dist")
VERSIONS = (os.environ.get("WHEEL_PYTHONS") or "3.9 3.10 3.11 3.12 3.13").split()
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
IN_ROOT = Path(__file__).resolve().parent / "root"  # files copied to /check


def ctr_version() -> str:
    text = (REPO / "include" / "chaostracing" / "common.h").read_text()
    return re.search(r'^#define CTR_VERSION "([^"]+)"', text, re.M).group(1)


def interpreter(version: str) -> Optional[str]:
    """$PYTHON_X_Y, else the newest $PYENV_ROOT/versions/X.Y.* (as make wheel)."""
    named = os.environ.get("PYTHON_" + version.replace(".", "_"))
    if named:
        return named
    found = [
        p
        for p in PYENV_ROOT.glob(f"versions/{version}.*")
        if re.fullmatch(re.escape(version) + r"\.\d+", p.name) and (p / "bin" / f"python{version}").exists()
    ]
    if not found:
        return None
    newest = max(found, key=lambda p: int(p.name.rsplit(".", 1)[1]))
    return str(newest / "bin" / f"python{version}")


def debian_python_version() -> Optional[str]:
    """X.Y of Debian's python3 in the root: the host's /usr/bin/python3 (same suite)."""
    target = os.path.realpath("/usr/bin/python3")
    m = re.search(r"python(\d+\.\d+)$", target)
    return m.group(1) if m and os.path.exists(target) else None


def wheel_for(version: str) -> Path:
    """The one manylinux wheel of `make wheel` for CPython `version`."""
    tag = "cp" + version.replace(".", "")
    found = sorted(DIST.glob(f"chaostracing-*-{tag}-{tag}-manylinux_*.whl"))
    assert len(found) == 1, f"expected one {tag} manylinux wheel in {DIST} (make wheel): {found}"
    return found[0]


def layers(version: str, python_layer: Path) -> List[Path]:
    """The stack for `version`: a pyenv copy on top unless Debian ships it."""
    base = [python_layer, rootfs.minbase()]
    if version == debian_python_version():
        return base
    return [rootfs.pyenv_layer(interpreter(version))] + base


def wheelhouse(version: str) -> Path:
    """Wheels of chaostoolkit and its dependencies for CPython `version`,
    made once with that interpreter's pip (host network) and cached."""
    interp = interpreter(version)
    assert interp, f"no CPython {version} on this machine"
    dest = rootfs.CACHE / "wheelhouse" / ("cp" + version.replace(".", ""))
    if (dest / ".complete").exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent))
    try:
        proc = subprocess.run(
            [interp, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
             "--wheel-dir", str(tmp), "chaostoolkit"],
            capture_output=True, text=True, timeout=900,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        (tmp / ".complete").touch()
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# ------------------------------------------------------------------ spans --
def _hex(v: str) -> str:
    return v.lower() if re.fullmatch(r"[0-9a-fA-F]*", v) else ""


def spans_from_json_lines(path: Path) -> List[Dict]:
    """The spans of an OTLP JSON lines file: name, trace, span, parent ids
    (hex) and the resource's service.name."""
    out = []
    for line in path.read_text().splitlines():
        for rs in json.loads(line).get("resourceSpans", []):
            attrs = {a["key"]: a["value"] for a in rs.get("resource", {}).get("attributes", [])}
            service = attrs.get("service.name", {}).get("stringValue")
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    out.append(
                        {
                            "name": s["name"],
                            "trace": _hex(s["traceId"]),
                            "span": _hex(s["spanId"]),
                            "parent": _hex(s.get("parentSpanId", "")),
                            "service": service,
                        }
                    )
    return out


def spans_from_otlp_requests(directory: Path) -> List[Dict]:
    """The spans of every OTLP/HTTP protobuf request the sink saved, with
    their resource's attributes and the request's Content-Encoding."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    out = []
    for meta_path in sorted(directory.glob("otlp-*.json")):
        meta = json.loads(meta_path.read_text())
        assert meta["path"] == "/v1/traces", meta
        assert meta["headers"]["content-type"] == "application/x-protobuf", meta
        body = meta_path.with_suffix(".bin").read_bytes()
        encoding = meta["headers"].get("content-encoding", "identity")
        if encoding == "gzip":
            body = gzip.decompress(body)
        req = ExportTraceServiceRequest.FromString(body)
        for rs in req.resource_spans:
            attrs = {a.key: a.value.string_value for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    out.append(
                        {
                            "name": s.name,
                            "trace": s.trace_id.hex(),
                            "span": s.span_id.hex(),
                            "parent": s.parent_span_id.hex(),
                            "service": attrs.get("service.name"),
                            "resource": attrs,
                            "encoding": encoding,
                        }
                    )
    return out


EXPECTED_SPANS = [
    "chaostracing traces a run from its wheel",
    "The target answers",
    "target-answers",
    "method",
    "list-the-root",
    "python-answers",
    "The target answers",
    "target-answers",
    "rollbacks",
    "nothing-to-undo",
]


def check_trace(spans: List[Dict]) -> Dict:
    """Assert `spans` are one run of root/experiment.json, correctly
    parented; returns the experiment span."""
    assert sorted(s["name"] for s in spans) == sorted(EXPECTED_SPANS), spans
    assert len({s["trace"] for s in spans}) == 1, spans
    by_id = {s["span"]: s for s in spans}
    (root,) = [s for s in spans if not s["parent"]]
    assert root["name"] == EXPECTED_SPANS[0]
    for s in spans:
        if s is root:
            continue
        parent = by_id[s["parent"]]
        if s["name"] in ("list-the-root", "python-answers"):
            assert parent["name"] == "method"
        elif s["name"] == "nothing-to-undo":
            assert parent["name"] == "rollbacks"
        elif s["name"] == "target-answers":
            assert parent["name"] == "The target answers"
        else:
            assert parent is root, s
    return root
