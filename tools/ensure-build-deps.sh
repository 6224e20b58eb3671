#!/bin/sh
# Make sure this machine has what a chaostracing build needs, installing the
# missing Debian/Ubuntu packages with apt-get as root or with password-less
# sudo; otherwise stop at once with one message naming the command to run.
#
#   usage: tools/ensure-build-deps.sh [build] [test] [fuzz] [wheel]
#     build  C compiler, libcurl and zlib headers, the Python headers and venv
#            (make demo, make install, make cli, pip install .)
#     test   build + clang-format (make lint), openssl (TLS tests), setarch,
#            chromium (the HTML report's tests open it headless)
#     fuzz   build + clang with its libFuzzer runtime (make fuzz)
#     wheel  build + debootstrap, ip, unshare (make wheel, make wheel-check)
#   environment: PYTHON (default python3) and CC (default cc), as in the Makefile.
#
# Exit status 0 when everything is there (after installing), 1 otherwise.
# Quiet when nothing is missing; apt-get's output goes to a log file that is
# shown only if it fails.
set -eu

PYTHON=${PYTHON:-python3}
CC=${CC:-cc}
missing=""     # Debian packages to install
unfixable=""   # what apt-get cannot provide, one sentence each

need() { # need PACKAGE: add it once
    case " $missing " in *" $1 "*) ;; *) missing="${missing:+$missing }$1" ;; esac
}

# has_header HEADER: the C compiler finds it (or, with no compiler yet, a
# standard include directory has it).
has_header() {
    if command -v "$CC" >/dev/null 2>&1; then
        printf '#include <%s>\n' "$1" | "$CC" -E -x c -o /dev/null - >/dev/null 2>&1
    else
        for dir in /usr/include /usr/include/*-linux-gnu /usr/local/include; do
            [ -f "$dir/$1" ] && return 0
        done
        return 1
    fi
}

# deb_installed PACKAGE: dpkg has it installed.
deb_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

check_build() {
    command -v "$CC" >/dev/null 2>&1 || need build-essential
    command -v make >/dev/null 2>&1 || need make
    has_header curl/curl.h || need libcurl4-openssl-dev
    has_header zlib.h || need zlib1g-dev
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        need python3; need python3-dev; need python3-venv
        return
    fi
    # Python.h for this interpreter, and a venv module that can install pip.
    # A Debian python (/usr/bin) gets python3.X-dev and python3.X-venv; any
    # other interpreter carries its own headers and ensurepip, or it cannot
    # be fixed with apt-get.
    info=$("$PYTHON" -c 'import os, sys, sysconfig
print(sys.executable, "%d.%d" % sys.version_info[:2],
      int(os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))))')
    set -- $info
    exe=$1 ver=$2 has_python_h=$3
    case "$exe" in
    /usr/bin/*)
        [ "$has_python_h" = 1 ] || need "python$ver-dev"
        deb_installed "python$ver-venv" || need "python$ver-venv"
        ;;
    *)
        [ "$has_python_h" = 1 ] || unfixable="$unfixable
  $exe has no Python.h: rebuild it with its headers, or use PYTHON=/usr/bin/python3."
        "$PYTHON" -c 'import ensurepip' 2>/dev/null || unfixable="$unfixable
  $exe has no ensurepip (venv cannot install pip): use PYTHON=/usr/bin/python3."
        ;;
    esac
}

check_test() {
    command -v clang-format >/dev/null 2>&1 || need clang-format
    command -v openssl >/dev/null 2>&1 || need openssl
    command -v setarch >/dev/null 2>&1 || need util-linux
    command -v chromium >/dev/null 2>&1 || need chromium
}

check_fuzz() {
    if ! command -v clang >/dev/null 2>&1; then
        need clang
        return
    fi
    # libFuzzer's runtime comes in libclang-rt-N-dev, N = clang's major version.
    tmp=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$tmp/f.c"
    if ! clang -fsanitize=fuzzer "$tmp/f.c" -o "$tmp/f" >/dev/null 2>&1; then
        major=$(clang -dumpversion | cut -d. -f1)
        need "libclang-rt-$major-dev"
    fi
    rm -rf "$tmp"
}

check_wheel() {
    PATH=$PATH:/usr/sbin:/sbin
    command -v debootstrap >/dev/null 2>&1 || need debootstrap
    command -v ip >/dev/null 2>&1 || need iproute2
    command -v unshare >/dev/null 2>&1 || need util-linux
}

# run_checks GROUP...: fill $missing and $unfixable.
run_checks() {
    missing="" unfixable=""
    for what in "$@"; do
        case "$what" in
        build) check_build ;;
        test) check_build; check_test ;;
        fuzz) check_build; check_fuzz ;;
        wheel) check_build; check_wheel ;;
        *) echo "ensure-build-deps.sh: unknown group '$what' (build, test, fuzz, wheel)" >&2; exit 2 ;;
        esac
    done
}

[ $# -gt 0 ] || set -- build
run_checks "$@"

if [ -n "$unfixable" ]; then
    echo "chaostracing: the build cannot start:$unfixable" >&2
    exit 1
fi
[ -n "$missing" ] || exit 0

install_cmd="apt-get install -y --no-install-recommends $missing"
apt_opts="-o DPkg::Lock::Timeout=300"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chaostracing: missing $missing (Debian package names); install the equivalents with your package manager, then run make again." >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
else
    echo "chaostracing: the build needs $missing; run: sudo apt-get update && sudo $install_cmd" >&2
    exit 1
fi

echo "chaostracing: installing $missing (apt-get)" >&2
log=$(mktemp)
if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get $apt_opts update -q &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get $apt_opts ${install_cmd#apt-get }; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "chaostracing: apt-get failed (above); run: ${sudo:+sudo }apt-get update && ${sudo:+sudo }$install_cmd" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"

run_checks "$@"
if [ -n "$missing" ]; then
    echo "chaostracing: still missing after apt-get: $missing" >&2
    exit 1
fi
