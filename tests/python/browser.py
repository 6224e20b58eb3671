"""Headless Chromium for the tests, driven over its DevTools protocol.

`Chromium(tmp_dir)` starts Debian's `chromium` headless, offline-friendly
(no background networking, component updates, sync or first-run work; a
fresh profile in tmp_dir) with DevTools on a loopback port, and attaches to
its page. `Page` sends commands and records every event, so a test can look
at the network requests the page made (Network.requestWillBeSent), dialogs
opened, and console messages. Only file: and loopback URLs are ever opened.

`png_pixels()` decodes a PNG with the standard library (zlib + struct) so a
screenshot can be checked for content.
"""

import base64
import json
import os
import re
import shutil
import struct
import subprocess
import time
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import websocket  # websocket-client (TEST_PKGS)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]
# Variables a sanitized test run sets that must not reach Chromium.
_STRIPPED = ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "PYTHONMALLOC")


def chromium_binary() -> str:
    """The browser: $CHROMIUM, else `chromium` on PATH (tools/ensure-build-deps.sh
    installs it for `make test`)."""
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium")
    assert exe, "chromium is not installed: run tools/ensure-build-deps.sh test"
    return exe


class Page:
    """One page target: commands with replies, events kept in order."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: List[Dict[str, Any]] = []

    def send(self, method: str, timeout: float = 30, **params) -> Dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                assert "error" not in msg, f"{method}: {msg['error']}"
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise AssertionError(f"{method}: no reply within {timeout} s")

    def wait_event(self, name: str, timeout: float = 30) -> Dict[str, Any]:
        """The first event called `name` not yet seen (reading more if needed)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for e in self.events[seen:]:
                if e["method"] == name:
                    self.events.remove(e)
                    return e
            seen = len(self.events)
            left = deadline - time.monotonic()
            assert left > 0, f"no {name} event within {timeout} s"
            self.ws.settimeout(left)
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)

    def events_named(self, name: str) -> List[Dict[str, Any]]:
        return [e["params"] for e in self.events if e["method"] == name]

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        r = self.send("Runtime.evaluate", timeout=timeout, expression=expression,
                      returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in r, f"{expression}: {r['exceptionDetails']}"
        return r["result"].get("value")

    def open(self, url: str, ready: str = "document.readyState === 'complete'",
             timeout: float = 30) -> float:
        """Navigate and wait until `ready` is true; returns the seconds taken."""
        t0 = time.monotonic()
        self.send("Page.navigate", url=url)
        check = f"(() => {{ try {{ return !!({ready}); }} catch (e) {{ return false; }} }})()"
        while not self.evaluate(check):
            assert time.monotonic() - t0 < timeout, f"{url}: not ready after {timeout} s"
            time.sleep(0.02)
        return time.monotonic() - t0

    def click(self, x: float, y: float) -> None:
        """A real left click at page coordinates (x, y)."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: Path) -> bytes:
        png = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        return png

    def close(self) -> None:
        self.ws.close()


class Chromium:
    """A headless Chromium with one page; use as a context manager."""

    def __init__(self, tmp_dir: Path, width: int = 1400, height: int = 900):
        self.profile = Path(tmp_dir) / "chromium-profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in _STRIPPED}
        env["HOME"] = str(self.profile)
        self.proc = subprocess.Popen(
            [chromium_binary(), *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, start_new_session=True,
        )
        self.page: Optional[Page] = None
        try:
            port = self._devtools_port()
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            deadline = time.monotonic() + 30
            while True:
                with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert pages, "chromium opened no page"
            self.page = Page(pages[0]["webSocketDebuggerUrl"])
            for domain in ("Page", "Network", "Runtime"):
                self.page.send(f"{domain}.enable")
            # The viewport exactly width x height (the window has chrome).
            self.page.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                           deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.close()
            raise

    def _devtools_port(self) -> int:
        """Read stderr until Chromium says where DevTools listens."""
        assert self.proc.stderr is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline().decode(errors="replace")
            if not line and self.proc.poll() is not None:
                break
            lines.append(line)
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                return int(m.group(1))
        raise AssertionError("chromium did not start DevTools:\n" + "".join(lines[-30:]))

    def close(self) -> None:
        if self.page:
            self.page.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stderr:
            self.proc.stderr.close()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def png_pixels(data: bytes) -> Tuple[int, int, List[bytes]]:
    """Decode an 8-bit RGB or RGBA PNG: (width, height, rows of pixel bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    assert header, "no IHDR"
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif f == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def distinct_colors(data: bytes) -> int:
    """How many distinct RGB colours a PNG holds."""
    width, _, rows = png_pixels(data)
    bpp = len(rows[0]) // width
    return len({r[i:i + 3] for r in rows for i in range(0, len(r), bpp)})


def main(argv: List[str]) -> int:
    """python tests/python/browser.py REPORT.html OUT.png [SPAN-NAME]: a
    screenshot of a report (1200x640), after clicking the span named
    SPAN-NAME when given. docs/report.png is made this way from the demo."""
    import sys
    import tempfile

    if len(argv) not in (2, 3):
        print(main.__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, Chromium(Path(tmp), 1200, 640) as browser:
        page = browser.page
        page.open(Path(argv[0]).resolve().as_uri(), "document.documentElement.dataset.ready === 'true'")
        if len(argv) == 3:
            x, y = page.evaluate(
                "(() => { const r = [...document.querySelectorAll('#rows .row')].find(r => "
                f"r.querySelector('.name-text').textContent === {json.dumps(argv[2])})"
                ".querySelector('.bar').getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
            page.click(x, y)
        page.screenshot(Path(argv[1]))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
