#!/usr/bin/env bash
# bench/run.sh VENV — the benchmarks behind `make bench` (which has already
# run `make install cli`, so VENV holds our package).
#
# Builds or reuses, under build/bench/ (git-ignored):
#   venv-upstream/  chaostoolkit-opentracing 0.18.1 + the OTel SDK pip resolves
#                   for it + chaostoolkit + the OTLP/HTTP exporter + the
#                   OpenTracing shim (its control imports it without declaring it)
#   venv-otel/      the latest opentelemetry-sdk + OTLP/HTTP exporter
#   go-bench        bench/go (OTel Go SDK peer + the loopback receiver)
#   bench_core      bench/c/bench_core.c against build/release/libchaostracing.a
# then runs bench/py/driver.py (raw samples → build/bench/results.json) and
# bench/py/report.py (the table on stdout, bench/RESULTS.md).
#
#   venv-baseline/  this repository at BENCH_BASELINE (default f6b1552, the
#                   last results before the extension APIs of issue 8), with
#                   the same chaostoolkit-lib and OpenTelemetry API as VENV:
#                   the per-activity rows then show today's hooks next to
#                   those, measured in the same minutes (BENCH_BASELINE= skips)
#
# Environment: BENCH_ONLY=import,activity,...   run only these sections and
# merge them into the previous results (sections: import sdk_span activity
# chaos native export exit); BENCH_REPORT_ONLY=1 re-renders the report.
set -euo pipefail

VENV=${1:-.venv}
cd "$(dirname "$0")/.."
REPO=$PWD
B=build/bench
LOGS=$B/logs
mkdir -p "$LOGS"
T0=$(date +%s)
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '[bench %4ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
fail() {
    say "FAILED: $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" >&2
    exit 1
}

VPY="$VENV/bin/python"
[ -x "$VPY" ] || fail "$VPY not found (run through \`make bench\`, which installs the package)"
"$VPY" -c 'import chaostracing.control' 2>/dev/null ||
    fail "chaostracing.control does not import from $VENV"

if [ "${BENCH_REPORT_ONLY:-}" = 1 ]; then
    "$VPY" bench/py/report.py "$B/results.json" bench/RESULTS.md
    exit 0
fi

# A venv holding `spec`, installed in the ';'-separated steps given (one pip
# call per step: the upstream's unpinned dependency tree sends pip's resolver
# into deep backtracking when everything is resolved at once); reused while
# its spec file matches. Each pip call is bounded in time.
ensure_venv() { # dir spec
    local dir=$1 spec=$2 step
    if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.bench-spec" 2>/dev/null)" = "$spec" ]; then
        echo "reusing $dir"
        return 0
    fi
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    timeout 300 "$dir/bin/python" -m pip install -q --upgrade pip
    IFS=';' read -r -a steps <<<"$spec"
    for step in "${steps[@]}"; do
        # shellcheck disable=SC2086
        timeout 600 "$dir/bin/python" -m pip install -q $step
    done
    "$dir/bin/python" -m pip freeze
    printf '%s' "$spec" >"$dir/.bench-spec"
}

# The upstream control imports opentelemetry.shim.opentracing_shim without
# declaring it: installed afterwards, pip picks the shim matching the
# opentelemetry-api it resolved for the upstream.
UPSTREAM_SPEC="chaostoolkit-opentracing==0.18.1 chaostoolkit opentelemetry-exporter-otlp-proto-http;opentelemetry-opentracing-shim"
OTEL_SPEC="opentelemetry-sdk opentelemetry-exporter-otlp-proto-http"

say "venvs (upstream, OTel SDK), Go peer and C benchmark, in parallel"
(ensure_venv "$B/venv-upstream" "$UPSTREAM_SPEC") >"$LOGS/venv-upstream.log" 2>&1 &
P_UP=$!
(ensure_venv "$B/venv-otel" "$OTEL_SPEC") >"$LOGS/venv-otel.log" 2>&1 &
P_OTEL=$!
(
    cd bench/go
    export GOFLAGS=-mod=readonly
    go mod download
    go build -o "$REPO/$B/go-bench" .
) >"$LOGS/go.log" 2>&1 &
P_GO=$!

# The C benchmark: the Makefile's release flags (BASE + -O2) and libraries,
# read from the Makefile itself so they cannot drift.
MAKE=${MAKE:-make}
"$MAKE" -s --no-print-directory lib >"$LOGS/lib.log" 2>&1 || fail "make lib" "$LOGS/lib.log"
FLAGS=$("$MAKE" -s --no-print-directory --eval 'bench-print-flags: ; @echo "$(CC)|$(BASE) $(INTERNAL) -O2|$(LIBS)"' bench-print-flags)
IFS='|' read -r CC_ CFLAGS_ LIBS_ <<<"$FLAGS"
if [ ! -x "$B/bench_core" ] || [ bench/c/bench_core.c -nt "$B/bench_core" ] ||
    [ build/release/libchaostracing.a -nt "$B/bench_core" ]; then
    # shellcheck disable=SC2086
    $CC_ $CFLAGS_ bench/c/bench_core.c build/release/libchaostracing.a $LIBS_ -o "$B/bench_core" \
        >"$LOGS/bench_core.log" 2>&1 || fail "building bench_core" "$LOGS/bench_core.log"
fi

# Our own code at BASELINE, built from `git archive` (no work tree touched).
BASELINE=${BENCH_BASELINE-f6b1552}
BASELINE_ARGS=()
if [ -n "$BASELINE" ]; then
    say "baseline: this repository at $BASELINE"
    BASE_PKGS=$("$VPY" - <<'PY'
from importlib import metadata
out = []
for name in ("chaostoolkit-lib", "opentelemetry-api", "opentracing"):
    try:
        out.append(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
print(" ".join(out))
PY
)
    BASE_REV=$(git rev-parse --short "$BASELINE^{commit}") || fail "BENCH_BASELINE=$BASELINE is no commit"
    if [ "$(cat "$B/venv-baseline/.bench-rev" 2>/dev/null)" != "$BASE_REV $BASE_PKGS" ]; then
        (
            set -e
            rm -rf "$B/venv-baseline" "$B/baseline-src"
            mkdir -p "$B/baseline-src"
            git archive "$BASE_REV" | tar -x -C "$B/baseline-src"
            "$PYTHON" -m venv "$B/venv-baseline"
            # shellcheck disable=SC2086
            timeout 600 "$B/venv-baseline/bin/python" -m pip install -q setuptools wheel $BASE_PKGS
            timeout 600 "$B/venv-baseline/bin/python" -m pip install -q --no-build-isolation \
                --no-deps "$B/baseline-src"
            printf '%s' "$BASE_REV $BASE_PKGS" >"$B/venv-baseline/.bench-rev"
        ) >"$LOGS/venv-baseline.log" 2>&1 || fail "venv-baseline ($BASE_REV)" "$LOGS/venv-baseline.log"
    fi
    BASELINE_ARGS=(--baseline-venv "$B/venv-baseline" --baseline-rev "$BASE_REV")
fi

wait $P_UP || fail "venv-upstream (pip install $UPSTREAM_SPEC)" "$LOGS/venv-upstream.log"
wait $P_OTEL || fail "venv-otel (pip install $OTEL_SPEC)" "$LOGS/venv-otel.log"
wait $P_GO || fail "Go peer (bench/go)" "$LOGS/go.log"
say "setup done"

ONLY=()
[ -n "${BENCH_ONLY:-}" ] && ONLY=(--only "$BENCH_ONLY")
"$VPY" bench/py/driver.py \
    --repo "$REPO" \
    --ours-venv "$VENV" \
    --upstream-venv "$B/venv-upstream" \
    --otel-venv "$B/venv-otel" \
    --go-bench "$B/go-bench" \
    --c-bench "$B/bench_core" \
    --out "$B/results.json" \
    "${BASELINE_ARGS[@]}" \
    "${ONLY[@]}"
"$VPY" bench/py/report.py "$B/results.json" bench/RESULTS.md
say "done in $(($(date +%s) - T0)) s"
