"""Importing the control pulls in no heavy dependency.

How long the import takes is measured by `make bench` (rows 1c and 1d, side
by side with the upstream), never asserted here: a budget in microseconds
fails on a loaded machine or under ASan and proves nothing about the code.
What this file checks is structural: which modules the import loads, that
the control is ours (C, not Python), and that the importtime records the
bench relies on are parsed right."""

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import clean_env

PACKAGE_SRC = Path(__file__).resolve().parents[2] / "python" / "chaostracing"
HEAVY = ("requests", "google.protobuf", "grpc", "opentelemetry")

PROBE = f"""
import json, sys
import chaostracing.control
heavy = {HEAVY!r}
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
print(json.dumps({{"heavy": loaded, "file": chaostracing.control.__file__}}))
"""

_LINE = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\| ( *)(\S+)\s*$")


def ours(name: str) -> bool:
    return name == "chaostracing" or name.startswith("chaostracing.")


def own_cumulative_us(stderr: str) -> int:
    """Cumulative import time (us) of the chaostracing modules, from -X importtime.

    importtime prints each import after its nested imports, indented two
    spaces more; the forest is rebuilt so that a chaostracing module imported
    by another one is not counted twice.
    """
    pending = []  # (indent, name, cumulative, children)
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        indent, name, cum = len(m.group(3)), m.group(4), int(m.group(2))
        children = []
        while pending and pending[-1][0] > indent:
            children.insert(0, pending.pop())
        pending.append((indent, name, cum, children))

    def walk(nodes):
        total = 0
        for _, name, cum, children in nodes:
            total += cum if ours(name) else walk(children)
        return total

    return walk(pending)


def run_probe(tmp_path):
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE],
        cwd=str(tmp_path),  # keep the source tree off sys.path
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_import_loads_no_heavy_modules(tmp_path):
    p = run_probe(tmp_path)
    assert p.returncode == 0, f"import chaostracing.control failed:\n{p.stderr[-3000:]}"
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["heavy"] == [], f"importing the control loaded {out['heavy']}"
    assert out["file"].endswith(".so"), f"chaostracing.control is {out['file']}, not the C module"
    # The record the bench's import row is computed from is there and parses.
    assert own_cumulative_us(p.stderr) > 0, "no importtime record for chaostracing"


def test_importtime_parser():
    sample = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |     _json",
            "import time:       300 |        400 |   json",
            "import time:       200 |        200 |   chaostracing.control",
            "import time:        50 |        650 | chaostracing",
            "import time:        70 |         70 | chaostracing.other",
            "import time:        10 |         10 | unrelated",
        ]
    )
    assert own_cumulative_us(sample) == 720


def test_python_sources_stay_small():
    assert PACKAGE_SRC.is_dir(), f"{PACKAGE_SRC} is missing"
    files = sorted(PACKAGE_SRC.glob("*.py"))
    counts = {f.name: sum(1 for ln in f.read_text().splitlines() if ln.strip()) for f in files}
    total = sum(counts.values())
    assert total <= 100, f"python/chaostracing/*.py has {total} non-blank lines: {counts}"
    assert list(PACKAGE_SRC.glob("*.c")), "the control's C sources are not in python/chaostracing"


SUBINTERP = """
import _testcapi, sys
code = '''
try:
    import chaostracing.control
    outcome = "imported"
except ImportError as e:
    outcome = "refused: " + str(e)
open(%r, "w").write(outcome)
'''
_testcapi.run_in_subinterp(code % sys.argv[1])
import chaostracing.control  # the main interpreter still can
print("main ok")
"""


def test_sub_interpreters_are_refused_and_the_main_one_works(tmp_path):
    # The library's log sink and fork handlers are per process: a second
    # interpreter would share them, so the module says no, clearly.
    result = tmp_path / "outcome.txt"
    proc = subprocess.run(
        [sys.executable, "-c", SUBINTERP, str(result)],
        env=clean_env(),
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "main ok"
    outcome = result.read_text()
    assert outcome.startswith("refused: "), outcome
    assert "main interpreter" in outcome or "does not support loading in subinterpreters" in outcome
