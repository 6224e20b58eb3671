#!/usr/bin/env bash
# Build once, then reuse, the real backends of the end-to-end tests, from Go
# modules served by the Go module proxy:
#   otelcol  the OpenTelemetry Collector Builder's output for otelcol-manifest.yaml
#   jaeger   Jaeger v2 (./cmd/jaeger), built inside its own downloaded module
#            so its go.mod and replace directives apply
#
#   usage: build.sh otelcol|jaeger ...   prints each binary's path, one a line
#
# Everything lands in one cache directory outside the repository, keyed by
# version (the collector also by the manifest's hash), together with Go's
# module and build caches, so deleting that directory gives a cold build:
#   ${CHAOSTRACING_E2E_CACHE:-${XDG_CACHE_HOME:-~/.cache}/chaostracing-e2e}
set -euo pipefail

OTELCOL_VERSION=0.161.0
JAEGER_VERSION=1.76.0
JAEGER_MODULE=github.com/jaegertracing/jaeger

here=$(cd "$(dirname "$0")" && pwd)
cache=${CHAOSTRACING_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chaostracing-e2e}
manifest=$here/otelcol-manifest.yaml

command -v go >/dev/null || { echo "build.sh: go is not installed (Go >= 1.25 builds the backends)" >&2; exit 1; }
mkdir -p "$cache"
export GOMODCACHE=$cache/go/mod GOCACHE=$cache/go/build GOTOOLCHAIN=local
# Writable module files, so `rm -rf` of the cache works; no VCS stamping.
export GOFLAGS="-modcacherw -buildvcs=false"

# One build at a time (make e2e and make demo-jaeger may run together).
exec 9>"$cache/.lock"
flock -w 3600 9 || { echo "build.sh: $cache is locked by another build" >&2; exit 1; }

# run LOG CMD...: run quietly; on failure show the log's tail and fail.
run() {
    local log=$1
    shift
    if ! "$@" >>"$log" 2>&1; then
        echo "build.sh: failed: $*" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
}

otelcol() {
    local key dir tmp
    key=$(sha256sum "$manifest" | cut -c1-12)
    dir=$cache/otelcol-$OTELCOL_VERSION-$key
    if [ ! -x "$dir/otelcol-chaostracing" ]; then
        echo "building the OpenTelemetry Collector $OTELCOL_VERSION into $dir (first time only, ~2-4 min)" >&2
        tmp=$(mktemp -d "$cache/.otelcol.XXXXXX")
        GOBIN=$cache/builder-$OTELCOL_VERSION run "$tmp/build.log" \
            go install "go.opentelemetry.io/collector/cmd/builder@v$OTELCOL_VERSION"
        sed "s|^dist:|dist:\n  output_path: $tmp|" "$manifest" >"$tmp/manifest.yaml"
        run "$tmp/build.log" "$cache/builder-$OTELCOL_VERSION/builder" --config "$tmp/manifest.yaml"
        rm -rf "$dir"
        mv "$tmp" "$dir"
    fi
    echo "$dir/otelcol-chaostracing"
}

jaeger() {
    local dir tmp src
    dir=$cache/jaeger-$JAEGER_VERSION
    if [ ! -x "$dir/jaeger" ]; then
        echo "building Jaeger $JAEGER_VERSION into $dir (first time only, ~4-8 min)" >&2
        tmp=$(mktemp -d "$cache/.jaeger.XXXXXX")
        run "$tmp/build.log" go mod download -json "$JAEGER_MODULE@v$JAEGER_VERSION"
        src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/build.log")
        [ -f "$src/go.mod" ] || { echo "build.sh: no module directory for $JAEGER_MODULE" >&2; exit 1; }
        (cd "$src" && run "$tmp/build.log" go build -trimpath -o "$tmp/jaeger" ./cmd/jaeger)
        rm -rf "$dir"
        mv "$tmp" "$dir"
    fi
    echo "$dir/jaeger"
}

[ $# -gt 0 ] || { echo "usage: $0 otelcol|jaeger ..." >&2; exit 2; }
for what in "$@"; do
    case $what in
    otelcol) otelcol ;;
    jaeger) jaeger ;;
    *) echo "build.sh: unknown backend '$what' (otelcol, jaeger)" >&2; exit 2 ;;
    esac
done
