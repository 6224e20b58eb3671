"""An OTLP/HTTP receiver and HTTP target for the install checks, run by the
Python inside the Debian root (standard library only).

    python otlp_sink.py OUT_DIR

Listens on 127.0.0.1 (a free port, written to OUT_DIR/port once listening).
POST /v1/traces: the body is saved as OUT_DIR/otlp-N.bin with its headers in
OUT_DIR/otlp-N.json and answered 200 with an empty ExportTraceServiceResponse.
GET anything: the request headers are saved as OUT_DIR/get-N.json (the
experiment's HTTP probe calls it; its traceparent is checked), answered 200.
Stops by itself after 300 s, so it can never outlive a test.
"""

import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path(sys.argv[1])
COUNTER = itertools.count()


class Handler(BaseHTTPRequestHandler):
    def _save(self, kind, body=None):
        n = next(COUNTER)
        (OUT / f"{kind}-{n}.json").write_text(
            json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
        )
        if body is not None:
            (OUT / f"{kind}-{n}.bin").write_bytes(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._save("otlp", body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self._save("get")
        payload = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Timer(300, server.shutdown).start()
(OUT / "port.tmp").write_text(str(server.server_address[1]))
(OUT / "port.tmp").rename(OUT / "port")
server.serve_forever()
