"""Each wheel of `make wheel` in a bare Debian root (debootstrap minbase plus
python3: no compiler, no libcurl): installed offline with pip, it traces a
real `chaos run` to a file and to an OTLP/HTTP receiver on loopback, and
`chaostracing` is on PATH. Debian's own python3 for the version Debian
ships, a copy of the pyenv interpreter at its own path for the others.
"""

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

import rootfs
from support import (
    IN_ROOT,
    VERSIONS,
    check_trace,
    ctr_version,
    debian_python_version,
    interpreter,
    layers,
    spans_from_json_lines,
    spans_from_otlp_requests,
    wheel_for,
    wheelhouse,
)


def test_sdist_carries_every_source():
    """The wheels were built from the sdist (make wheel); it has all sources."""
    import tarfile

    from support import DIST, REPO

    (sdist,) = DIST.glob("chaostracing-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    tracked = {
        str(p.relative_to(REPO))
        for d in ("include", "src", "cli", "python")
        for p in (REPO / d).rglob("*")
        if p.suffix in (".c", ".h", ".py") and "egg-info" not in str(p)
    }
    assert tracked and tracked <= names, sorted(tracked - names)
    assert {"setup.py", "pyproject.toml", "README.md", "MANIFEST.in"} <= names


@pytest.mark.parametrize("version", VERSIONS)
def test_wheel_is_manylinux_and_carries_libcurl(version):
    wheel = wheel_for(version)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        tags = [ln for ln in z.read(f"chaostracing-{ctr_version()}.dist-info/WHEEL").decode().splitlines() if ln.startswith("Tag:")]
        entry_points = z.read(f"chaostracing-{ctr_version()}.dist-info/entry_points.txt").decode()
    assert any(n.startswith("chaostracing.libs/libcurl-") for n in names), names
    assert all(t.split("-")[-1].startswith("manylinux_") for t in tags), tags
    assert "chaostracing = chaostracing._cli:main" in entry_points


@pytest.mark.parametrize("version", VERSIONS)
def test_wheel_traces_a_run_in_a_bare_debian_root(version, tmp_path, python_layer):
    wheel = wheel_for(version)
    debian = version == debian_python_version()
    py = "/usr/bin/python3" if debian else interpreter(version)
    upper = tmp_path / "root"
    check = upper / "check"
    shutil.copytree(IN_ROOT, check)
    shutil.copytree(wheelhouse(version), check / "wheelhouse")
    shutil.copy(wheel, check)

    proc = rootfs.run(
        layers(version, python_layer),
        ". /check/check.sh",
        upper=upper,
        env={"PY": py, "WHEEL": wheel.name},
        timeout=600,
    )
    out = check / "out"
    logs = "".join(
        f"\n--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(out.glob("*.out")) if out.exists()
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + logs
    assert "check.sh done" in proc.stdout

    # The interpreter asked for, the command from pip on PATH, libcurl only in the wheel.
    pyver, base_prefix = (out / "python.txt").read_text().split()
    assert pyver.startswith(version + "."), pyver
    assert base_prefix == ("/usr" if debian else str(Path(py).resolve().parents[1]))
    assert (out / "which.txt").read_text().strip() == "/opt/chaos/bin/chaostracing"
    version_lines = (out / "version.txt").read_text().splitlines()
    assert version_lines[0] == f"chaostracing {ctr_version()}"
    assert version_lines[1].startswith("libcurl "), version_lines
    assert "/chaostracing.libs/libcurl-" in (out / "libcurl.txt").read_text()
    assert (out / "libcurl-outside.txt").read_text() == ""

    # Run 1, to the file: the whole tree, and `chaostracing view` shows it.
    file_root = check_trace(spans_from_json_lines(out / "traces.jsonl"))
    view = (out / "view.txt").read_text()
    for name in ("chaostracing traces a run from its wheel", "list-the-root", "nothing-to-undo"):
        assert name in view, view
    # The summary line: every span made was exported, none spooled or dropped.
    assert re.search(
        r"(\d+) spans exported to /check/out/traces\.jsonl "
        r"\(\1 made, 0 spooled, 0 dropped, 0 failed exports\)",
        (out / "file.log").read_text(),
    ), (out / "file.log").read_text()[-2000:]

    # Run 2, to the OTLP/HTTP receiver on loopback, named by OTEL_SERVICE_NAME.
    otlp_spans = spans_from_otlp_requests(out)
    otlp_root = check_trace(otlp_spans)
    assert {s["service"] for s in otlp_spans} == {"install-check"}
    assert otlp_root["trace"] != file_root["trace"]
    assert "10 spans exported to http://127.0.0.1:" in (out / "otlp.log").read_text()

    # Both runs' HTTP probes carried their run's traceparent.
    probe_traces = set()
    for p in out.glob("get-*.json"):
        tp = json.loads(p.read_text())["headers"].get("traceparent", "")
        probe_traces.add(tp.split("-")[1] if tp.count("-") == 3 else tp)
    assert probe_traces == {file_root["trace"], otlp_root["trace"]}, probe_traces
