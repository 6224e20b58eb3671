# Inside the Debian root (sh, offline, only loopback): install the wheel with
# pip from /check (the wheel and its dependencies' wheels, nothing from a
# network), then run the experiment traced to a file and to an OTLP/HTTP
# receiver on loopback, using the `chaostracing` command on PATH.
#   environment: PY (the interpreter), WHEEL (its file name in /check)
set -eu
out=/check/out
mkdir -p "$out"

# The root has no compiler and no libcurl: the wheel must bring its own.
for c in cc gcc clang; do
    if command -v "$c" >/dev/null; then echo "FAIL: a compiler ($c) in the root"; exit 1; fi
done
found=$(find / -xdev \( -name 'libcurl*.so*' -o -name 'curl.h' \) -print)
if [ -n "$found" ]; then echo "FAIL: libcurl in the root: $found"; exit 1; fi

"$PY" -m venv /opt/chaos
/opt/chaos/bin/pip install --quiet --disable-pip-version-check --no-index \
    --find-links /check/wheelhouse chaostoolkit "/check/$WHEEL"
export PATH=/opt/chaos/bin:$PATH
command -v chaostracing >"$out/which.txt"
chaostracing --version >"$out/version.txt"
python -c 'import sys; print(sys.version.split()[0], sys.base_prefix)' >"$out/python.txt"
find /opt/chaos -name 'libcurl*.so*' >"$out/libcurl.txt"
find / -xdev -name 'libcurl*.so*' -not -path '/opt/chaos/*' >"$out/libcurl-outside.txt"

python /check/otlp_sink.py "$out" &
i=0
while [ ! -f "$out/port" ]; do
    i=$((i + 1)); [ $i -le 100 ] || { echo "FAIL: the receiver did not start"; exit 1; }
    sleep 0.1
done
export TARGET_URL="http://127.0.0.1:$(cat "$out/port")"

cd "$out"
# 1. Traced to a file.
chaos --no-version-check --settings /check/settings-file.yaml --log-file "$out/file.log" \
    run --journal-path "$out/journal-file.json" /check/experiment.json >"$out/file.out" 2>&1
# 2. Traced to the OTLP/HTTP receiver, configured by OTEL_* variables.
OTEL_EXPORTER_OTLP_ENDPOINT="$TARGET_URL" OTEL_SERVICE_NAME=install-check \
    chaos --no-version-check --settings /check/settings-otlp.yaml --log-file "$out/otlp.log" \
    run --journal-path "$out/journal-otlp.json" /check/experiment.json >"$out/otlp.out" 2>&1
chaostracing view "$out/traces.jsonl" >"$out/view.txt"
echo "check.sh done"
