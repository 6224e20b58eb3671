"""`chaostracing report`: the HTML page, opened in a real headless Chromium.

The page is written by the C tool from a real `chaos run` (experiments/
waterfall.json: a background action beside a probe, a failing action, a
hypothesis that deviates) and checked in the browser over the DevTools
protocol (browser.py): one bar per span with the right names and nesting,
bars placed on the run's time axis, a real click showing a span's attributes
and exception, no network request (the page's CSP blocks even a fetch its
own script would make), and a screenshot under build/ that is not blank.
Hostile span names stay text, and 5,000 spans load in a few seconds.
"""

import base64
import hashlib
import json
import re
import subprocess
import time
from http.server import BaseHTTPRequestHandler

import pytest

from browser import Chromium, distinct_colors, png_pixels
from conftest import REPO, LoopbackServer, Spans, file_spans
from view_fixtures import FIXTURES, run_experiment

READY = "document.documentElement.dataset.ready === 'true'"

ROWS_JS = """[...document.querySelectorAll('#rows .row')].map(r => ({
  name: r.querySelector('.name-text').textContent, depth: +r.dataset.depth,
  id: r.dataset.spanId, parent: r.dataset.parentId, index: +r.dataset.index,
  bar: r.querySelector('.bar').className,
  left: parseFloat(r.querySelector('.bar').style.left),
  width: parseFloat(r.querySelector('.bar').style.width)}))
  .sort((a, b) => a.index - b.index)"""


def report(cli, *args, timeout=60):
    return subprocess.run([cli, "report", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def tree_order(spans):
    """(name, depth, id, parent id) in the report's order: preorder, siblings
    by start time."""
    ids = {s["span_id"] for s in spans}
    kids = {}
    for s in spans:
        kids.setdefault(s["parent"] if s["parent"] in ids else None, []).append(s)
    out, stack = [], [(s, 0) for s in sorted(kids.get(None, []), key=lambda s: s["start"])][::-1]
    while stack:
        s, d = stack.pop()
        out.append((s["name"], d, s["span_id"], s["parent"] if d else ""))
        stack.extend((k, d + 1) for k in sorted(kids.get(s["span_id"], []), key=lambda k: k["start"])[::-1])
    return out


def center_of(page, selector_js):
    """Page coordinates of the middle of the element `selector_js` finds."""
    return page.evaluate(f"(() => {{ const r = ({selector_js}).getBoundingClientRect();"
                         " return [r.x + r.width / 2, r.y + r.height / 2]; })()")


def row_of(name):
    return (f"[...document.querySelectorAll('#rows .row')].find(r => "
            f"r.querySelector('.name-text').textContent === {json.dumps(name)})")


class _CountingHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.owner.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_report_of_a_real_run_in_chromium(cli, run_chaos, tmp_path):
    trace = tmp_path / "traces.jsonl"
    run = run_experiment(run_chaos, "waterfall", trace)
    assert run.journal["status"] == "completed", run.describe()
    spans = Spans(file_spans(trace))
    out = tmp_path / "report.html"
    proc = report(cli, trace, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"report: {out}\n"
    html = out.read_text()

    # The CSP lets exactly the page's own style and script run, nothing load.
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = lambda t: base64.b64encode(hashlib.sha256(t.encode()).digest()).decode()
    assert csp == (f"default-src 'none'; script-src 'sha256-{digest(script)}'; "
                   f"style-src 'sha256-{digest(style)}'; base-uri 'none'; form-action 'none'")
    assert not re.search(r"\b(src|href)=|url\(|@import|https?://", html.replace(csp, ""))

    server = LoopbackServer(_CountingHandler).start()
    server.hits = 0
    try:
        with Chromium(tmp_path) as browser:
            page = browser.page
            took = page.open(out.as_uri(), READY)
            assert took < 10
            rows = page.evaluate(ROWS_JS)
            # One row and one bar per span, in tree order with its nesting.
            assert [(r["name"], r["depth"], r["id"], r["parent"]) for r in rows] == tree_order(spans.all)
            assert page.evaluate("document.querySelectorAll('#rows .bar').length") == len(spans)
            # Bars sit on the run's time axis.
            t0 = min(s["start"] for s in spans.all)
            total = max(s["end"] for s in spans.all) - t0
            for r in rows:
                s = spans.by_id[r["id"]]
                assert abs(r["left"] - 100 * (s["start"] - t0) / total) < 0.1, r
                assert abs(r["width"] - 100 * (s["end"] - s["start"]) / total) < 0.1, r
            by_name = {r["name"]: r for r in rows}
            bg, probe = by_name["action-background-sleep"], by_name["probe-during-fault"]
            assert "background" in bg["bar"] and "good" in bg["bar"]
            assert bg["left"] < probe["left"] + probe["width"] and probe["left"] < bg["left"] + bg["width"]
            assert "bad" in by_name["action-python-fails"]["bar"]
            # The actions' windows are shaded across the chart.
            bands = page.evaluate("[...document.querySelectorAll('.band')].map(b => "
                                  "[parseFloat(b.style.left), parseFloat(b.style.width)])")
            assert bands and all(w > 0 for _, w in bands)
            assert any(left <= bg["left"] + 0.1 and left + w >= bg["left"] + bg["width"] - 0.1
                       for left, w in bands)
            header = page.evaluate("document.querySelector('header').textContent")
            assert "deviated" in header and "probe probe-marker-absent returned false" in header
            assert run.journal["experiment"]["title"] in header

            # A real click on the failing action's bar shows its attributes
            # and exception.
            assert "Click a span" in page.evaluate("document.getElementById('details').textContent")
            page.click(*center_of(page, row_of("action-python-fails") + ".querySelector('.bar')"))
            details = page.evaluate("document.getElementById('details').innerText")
            assert details.startswith("action-python-fails\nERROR: ValueError: ctk-boom")
            for text in ("Exception", "chaoslib.exceptions.ActivityFailed: ValueError: ctk-boom",
                         "Traceback (most recent call last)", "Attributes",
                         "chaostoolkit.activity.status\tfailed",
                         "chaostoolkit.activity.provider.func\tfail_with_exception"):
                assert text in details, details
            page.click(*center_of(page, row_of("action-background-sleep") + ".querySelector('.name')"))
            details = page.evaluate("document.getElementById('details').innerText")
            assert "chaostoolkit.activity.background\ttrue" in details
            assert page.evaluate("document.querySelectorAll('.row.selected').length") == 1

            # Nothing was fetched but the page itself, and its own script
            # could not fetch either.
            page.evaluate("document.addEventListener('securitypolicyviolation', "
                          "e => (window.__csp = window.__csp || []).push(e.effectiveDirective)) || 1")
            fetched = page.evaluate(f"fetch('{server.url}/leak').then(() => 'fetched', e => 'blocked')")
            assert fetched == "blocked"
            time.sleep(0.2)
            assert page.evaluate("window.__csp || []") == ["connect-src"]
            urls = [e["request"]["url"] for e in page.events_named("Network.requestWillBeSent")]
            assert urls == [out.as_uri()]

            shot = REPO / "build" / "report-screenshot.png"
            png = page.screenshot(shot)
    finally:
        server.stop()
    assert server.hits == 0
    width, height, _ = png_pixels(png)
    assert (width, height) == (1400, 900)
    assert distinct_colors(png) > 100, "the screenshot looks blank"


def otlp_line(spans, service="chaostoolkit"):
    """One OTLP JSON line holding `spans` (dicts in OTLP JSON form)."""
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "chaostracing"}, "spans": spans}]}]})


def otlp_span(trace, sid, name, start_ms, dur_ms, parent=None, attrs=None, status=0, events=()):
    t0 = 1_700_000_000_000_000_000 + int(start_ms * 1e6)
    s = {"traceId": trace, "spanId": sid, "name": name, "kind": 1,
         "startTimeUnixNano": str(t0), "endTimeUnixNano": str(t0 + int(dur_ms * 1e6)),
         "attributes": [{"key": k, "value": {"boolValue": v} if isinstance(v, bool) else
                         {"stringValue": str(v)}} for k, v in (attrs or {}).items()],
         "status": {"code": status}, "events": list(events)}
    if parent:
        s["parentSpanId"] = parent
    return s


TRACE = "5ce0e9a56015fec5aadfa328ae398115"


def test_hostile_names_stay_text(cli, tmp_path):
    names = ["</script><script>window.pwned = 1</script>", "<img src=x onerror=\"window.pwned=2\">",
             "<!-- &amp; \u2028 ' \"", "x" * 50_000]
    spans = [otlp_span(TRACE, "00000000000000a1", names[0], 0, 100)]
    spans += [otlp_span(TRACE, f"00000000000000b{i}", n, 10 * i, 5, "00000000000000a1",
                        {"k<script>": n}) for i, n in enumerate(names[1:], 1)]
    trace = tmp_path / "evil.jsonl"
    trace.write_text(otlp_line(spans) + "\n")
    out = tmp_path / "evil.html"
    assert report(cli, trace, "-o", out).returncode == 0
    assert out.read_text().lower().count("</script") == 2
    with Chromium(tmp_path) as browser:
        page = browser.page
        page.open(out.as_uri(), READY)
        shown = page.evaluate("[...document.querySelectorAll('.name-text')].map(e => e.textContent)")
        assert shown == names
        assert page.evaluate("document.title") == names[0] + " \u00b7 chaostracing report"
        page.click(*center_of(page, row_of(names[1])))
        assert names[1] in page.evaluate("document.getElementById('details').textContent")
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('img, iframe, object').length") == 0
        urls = [e["request"]["url"] for e in page.events_named("Network.requestWillBeSent")]
        assert urls == [out.as_uri()]
        assert not page.events_named("Page.javascriptDialogOpening")


def big_trace(path, n=5000):
    """An experiment of `n` spans: hypotheses, a method of actions and
    probes (some in the background, some failing), rollbacks."""
    root = "0000000000000001"
    spans = [otlp_span(TRACE, root, "big experiment", 0, n, attrs={"chaostoolkit.type": "experiment"}),
             otlp_span(TRACE, "0000000000000002", "method", 1, n - 2, root,
                       {"chaostoolkit.type": "method"})]
    exc = {"name": "exception", "timeUnixNano": str(1_700_000_000_000_000_000),
           "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}]}
    for i in range(n - 2):
        kind = "action" if i % 3 else "probe"
        spans.append(otlp_span(
            TRACE, f"{0x1000 + i:016x}", f"{kind}-{i:05d}", 1 + i, 3 if i % 50 else 40,
            "0000000000000002",
            {"chaostoolkit.type": "activity", "chaostoolkit.activity.type": kind,
             "chaostoolkit.activity.background": i % 50 == 0,
             "chaostoolkit.activity.status": "failed" if i % 97 == 0 else "succeeded",
             "chaostoolkit.activity.output": json.dumps({"index": i, "ok": True})},
            2 if i % 97 == 0 else 0, [exc] if i % 97 == 0 else []))
    path.write_text("".join(otlp_line(spans[k:k + 500]) + "\n" for k in range(0, n, 500)))


@pytest.mark.timing
def test_five_thousand_spans_generate_and_load_quickly(cli, tmp_path):
    """Timing-bound (skipped under ASan): `report` of 5,000 spans, then the
    page loaded in Chromium until its first rows are drawn."""
    trace, out = tmp_path / "big.jsonl", tmp_path / "big.html"
    big_trace(trace)
    t = time.monotonic()
    proc = report(cli, trace, "-o", out)
    generate = time.monotonic() - t
    assert proc.returncode == 0, proc.stderr
    with Chromium(tmp_path) as browser:
        page = browser.page
        load = page.open(out.as_uri(), READY)
        drawn = page.evaluate("document.querySelectorAll('#rows .row').length")
        total = page.evaluate("JSON.parse(document.getElementById('trace-data').textContent).spans.length")
        page.evaluate("document.getElementById('chart').scrollTop = 1e9")
        time.sleep(0.3)
        last = page.evaluate("[...document.querySelectorAll('#rows .row')].map(r => "
                             "r.querySelector('.name-text').textContent).sort().pop()")
    size = out.stat().st_size
    print(f"5,000 spans: report {generate:.2f} s ({size / 1e6:.1f} MB), Chromium load {load:.2f} s")
    assert total == 5000
    assert 0 < drawn < 200, "rows are drawn lazily"
    assert last == "probe-04998" or last.startswith(("action-049", "probe-049"))
    assert generate < 3.0, f"report took {generate:.2f} s"
    assert load < 5.0, f"loading took {load:.2f} s"


def test_report_command_line(cli, tmp_path):
    trace = tmp_path / "traces.jsonl"
    trace.write_text((FIXTURES / "continuous.jsonl").read_text() + (FIXTURES / "waterfall.jsonl").read_text())
    # Default output: beside the input; two traces: the latest, said so.
    proc = report(cli, trace)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"report: {tmp_path / 'traces.html'}\n"
    assert proc.stderr == ("chaostracing report: 2 traces read; the report shows the one that "
                           "started last (--trace ID picks another)\n")
    assert "<h1>chaostracing continuous experiment</h1>" in (tmp_path / "traces.html").read_text()
    waterfall_id = (FIXTURES / "waterfall.txt").read_text().split()[1]
    proc = report(cli, trace, "--trace", waterfall_id[:6], "--title", "Run <42>", "-o", "-")
    assert proc.returncode == 0 and proc.stderr == "report: -\n"
    assert "<h1>Run &lt;42&gt;</h1>" in proc.stdout and f'"traceId":"{waterfall_id}"' in proc.stdout
    # Errors.
    assert report(cli, trace, "--trace", "ffff", "-o", tmp_path / "x.html").returncode == 1
    assert not (tmp_path / "x.html").exists()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("{}\n")
    proc = report(cli, empty)
    assert proc.returncode == 1 and "no spans found" in proc.stderr
    proc = subprocess.run([cli, "report", "-"], input="", capture_output=True, text=True)
    assert proc.returncode == 64
    assert proc.stderr.startswith("chaostracing report: give -o FILE when reading standard input")
    assert report(cli).returncode == 64
    assert report(cli, "--bogus", trace).returncode == 64
    assert report(cli, trace, "-o", tmp_path / "no" / "such" / "dir.html").returncode == 1
    proc = subprocess.run([cli, "help", "report"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: chaostracing report [-o FILE]")
