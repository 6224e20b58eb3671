#!/usr/bin/env bash
# make demo: run a real `chaos run` traced by chaostracing into a local file,
# then print the span tree and its waterfall with the chaostracing
# command-line tool, and write the HTML report beside the trace.
#   usage: run.sh VENV [CLI]   (CLI: default the venv's `chaostracing`)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=$(cd "${1:-.venv}" && pwd)
cli=${2:-$venv/bin/chaostracing}
out="$root/demo-out"
mkdir -p "$out"
rm -f "$out/traces.jsonl" "$out/report.html"

# The service the experiment probes: a static web server on loopback.
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/python" -m http.server "$port" --bind 127.0.0.1 --directory "$out" >"$out/service.log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null; then break; fi
    sleep 0.1
done

export DEMO_TARGET_URL="http://127.0.0.1:$port/"
export DEMO_TRACE_FILE="$out/traces.jsonl"
cd "$out"
status=0
"$venv/bin/chaos" --no-version-check --log-file "$out/chaostoolkit.log" run \
    --journal-path "$out/journal.json" "$root/examples/demo/experiment.json" || status=$?
cd "$root"

echo
echo "== span tree"
"$cli" view "$out/traces.jsonl"
"$cli" report -o "$out/report.html" "$out/traces.jsonl" >/dev/null
echo
echo "trace file: $out/traces.jsonl"
echo "report:     $out/report.html (one self-contained page: open it in a browser)"
echo "chaos log:  $out/chaostoolkit.log"
echo "journal:    $out/journal.json"
grep -h "chaostracing: " "$out/chaostoolkit.log" | tail -n 3 || true
exit $status
