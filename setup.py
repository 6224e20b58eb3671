# Build glue: the C library (a static archive built first) and the extension
# modules linked against it. Everything else about the package is declared in
# pyproject.toml.
#
# The library is compiled with its internals visible (-Isrc,
# CHAOSTRACING_INTERNAL); the binding and the command-line tool only with
# include/, so they reach the library through its public functions alone.
#
# The version is CTR_VERSION in include/chaostracing/common.h, the one place
# it is written.
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_clib import build_clib

LIBRARY = sorted(glob("src/*/*.c"))
# chaostracing.oltp is its own small module (hooks made by the control).
OLTP = ["python/chaostracing/oltp.c"]
BINDING = sorted(set(glob("python/chaostracing/*.c")) - set(OLTP))
# The `chaostracing` command: cli/ without the standalone binary's main().
CLI = sorted(set(glob("cli/*.c")) - {"cli/standalone.c"}) + ["python/cli/entry.c"]
HEADERS = sorted(glob("include/chaostracing/*.h"))
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers",
          "-fvisibility=hidden"]
# Warnings are errors in the project's own builds (make, CI), not for users.
if os.environ.get("CHAOSTRACING_WERROR") == "1":
    CFLAGS.append("-Werror")
MACROS = [("_GNU_SOURCE", None)]
# `make pytest-asan`: the extension built with ASan+UBSan (the interpreter is
# not, so the runtimes are LD_PRELOADed), in its own build directory so that
# setuptools never reuses objects of the normal build.
SANITIZE = os.environ.get("CHAOSTRACING_SANITIZE") == "1"
LDFLAGS = []
OPTIONS = {}
if SANITIZE:
    SAN = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    CFLAGS += ["-O1", "-g", "-fno-sanitize-recover=all"] + SAN
    LDFLAGS += SAN
    OPTIONS = {"build": {"build_base": "build/py-asan"}}
# The archive first: it is what needs libcurl and zlib.
LIBS = ["chaostracing", "curl", "z", "pthread"]


def read_version():
    with open("include/chaostracing/common.h") as f:
        return re.search(r'^#define CTR_VERSION "([^"]+)"', f.read(), re.M).group(1)


APT_HINT = ("run `sudo apt-get install build-essential libcurl4-openssl-dev zlib1g-dev "
            "python3-dev` (Debian, Ubuntu; `make demo` does it for you), "
            "or install a binary wheel, which needs none of them")


def missing_build_requirement():
    """What the build lacks, as one sentence, or None when it can start.

    Checked before anything is compiled, so that a machine without a
    compiler or the libcurl, zlib or Python headers gets this sentence
    instead of a compiler's error trace.
    """
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    if not shutil.which(cc[0]):
        return f"no C compiler ({cc[0]}) was found"
    python_h = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    if not os.path.exists(python_h):
        return f"the Python headers are missing ({python_h})"
    for header, package in (("curl/curl.h", "libcurl"), ("zlib.h", "zlib")):
        proc = subprocess.run(cc + ["-E", "-x", "c", "-o", os.devnull, "-"],
                              input=f"#include <{header}>\n", capture_output=True, text=True)
        if proc.returncode != 0:
            return f"the {package} development headers are missing ({header} not found)"
    return None


class build_clib_checked(build_clib):
    """build_clib that first checks the compiler and headers are there."""

    def run(self):
        problem = missing_build_requirement()
        if problem:
            raise SystemExit(f"error: chaostracing cannot be built from source here: "
                             f"{problem}; {APT_HINT}.")
        super().run()


setup(
    version=read_version(),
    cmdclass={"build_clib": build_clib_checked},
    libraries=[
        (
            "chaostracing",
            {
                "sources": LIBRARY,
                "include_dirs": ["include", "src"],
                "macros": MACROS + [("CHAOSTRACING_INTERNAL", None)],
                "cflags": CFLAGS,
                "obj_deps": {"": HEADERS + sorted(glob("src/*/*.h"))},
            },
        )
    ],
    ext_modules=[
        Extension(
            "chaostracing.control",
            sources=BINDING,
            include_dirs=["include"],
            define_macros=MACROS,
            libraries=LIBS,
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
            # The archive's sources too: a library change must relink.
            depends=HEADERS + LIBRARY + sorted(glob("src/*/*.h") + glob("python/chaostracing/*.h")),
        ),
        # Uses only Python and CTR_VERSION: no library to link.
        Extension(
            "chaostracing.oltp",
            sources=OLTP,
            include_dirs=["include"],
            define_macros=MACROS,
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
            depends=HEADERS + sorted(glob("python/chaostracing/*.h")),
        ),
        Extension(
            "chaostracing._cli",
            sources=CLI,
            include_dirs=["include", "cli"],
            define_macros=MACROS,
            libraries=LIBS,
            extra_compile_args=CFLAGS,
            extra_link_args=LDFLAGS,
            depends=HEADERS + LIBRARY + sorted(glob("src/*/*.h") + glob("cli/*.h")),
        ),
    ],
    options=OPTIONS,
)
