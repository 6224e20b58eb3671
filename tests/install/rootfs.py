"""Minimal Debian roots for the install tests, made with debootstrap and
stacked like image layers with overlayfs.

Layers, cached under $CHAOSTRACING_CACHE (default ~/.cache/chaostracing/roots):
- `<suite>-minbase`: `debootstrap --variant=minbase`, what the Debian slim
  container images are; the base of the Dockerfile's stages.
- `<suite>-python`: on top of it, Debian's python3 and python3-venv plus the
  runtime libraries the pyenv interpreters load (no compiler, no libcurl).
- `pyenv-<X.Y.Z>`: a copy of one pyenv interpreter at its own path
  (without its site-packages), for the versions Debian does not ship.

`run()` runs a shell script chrooted into a stack of layers with a fresh
writable layer on top. It runs in its own mount namespace (and, offline, its
own network namespace with only loopback): /proc, the overlay and any bind
mount exist only there and vanish with the process, even when a test fails
or a timeout kills it. Nothing is ever mounted on the host.
"""

import fcntl
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

CACHE = Path(os.environ.get("CHAOSTRACING_CACHE") or Path.home() / ".cache" / "chaostracing")
ROOTS = CACHE / "roots"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where run() mounts the host's CA bundle during steps with network.
HOST_CA_DIR = "/run/chaostracing-host-ca"
# Bound for a debootstrap or an apt-get install into a layer.
SETUP_TIMEOUT = 1200


def host_suite() -> str:
    """The Debian suite of this machine (VERSION_CODENAME), or $CHAOSTRACING_DEBIAN_SUITE."""
    if os.environ.get("CHAOSTRACING_DEBIAN_SUITE"):
        return os.environ["CHAOSTRACING_DEBIAN_SUITE"]
    text = Path("/etc/os-release").read_text()
    m = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", text, re.M)
    assert m, "no VERSION_CODENAME in /etc/os-release: set CHAOSTRACING_DEBIAN_SUITE"
    return m.group(1)


def host_mirror(suite: str) -> str:
    """The Debian mirror this machine's apt uses for `suite` main (deb822
    .sources files or sources.list), or $CHAOSTRACING_DEBIAN_MIRROR."""
    if os.environ.get("CHAOSTRACING_DEBIAN_MIRROR"):
        return os.environ["CHAOSTRACING_DEBIAN_MIRROR"]
    apt = Path("/etc/apt")
    for f in sorted(apt.glob("sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", f.read_text()):
            fields = dict(
                (k.strip().lower(), v.strip())
                for k, _, v in (ln.partition(":") for ln in stanza.splitlines())
                if not k.startswith("#") and v
            )
            if suite in fields.get("suites", "").split() and "main" in fields.get(
                "components", ""
            ).split():
                return fields["uris"].split()[0]
    for f in [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]:
        if f.exists():
            for ln in f.read_text().splitlines():
                parts = re.sub(r"\[[^]]*\]", "", ln).split()
                if len(parts) >= 4 and parts[0] == "deb" and parts[2] == suite and "main" in parts[3:]:
                    return parts[1]
    raise AssertionError(f"no apt source for {suite} main: set CHAOSTRACING_DEBIAN_MIRROR")


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """Hold an exclusive lock on ROOTS/.<name>.lock (concurrent test runs)."""
    ROOTS.mkdir(parents=True, exist_ok=True)
    with open(ROOTS / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _check(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        raise AssertionError(
            f"{what} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )


def _build_layer(name: str, stamp: str, make) -> Path:
    """ROOTS/name, made by make(tmpdir) unless its .stamp says `stamp`; the
    new layer replaces the old one only once complete."""
    layer = ROOTS / name
    with _locked(name):
        if (layer / ".stamp").exists() and (layer / ".stamp").read_text() == stamp:
            return layer
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=ROOTS))
        tmp.chmod(0o755)  # a layer's top directory is the root's "/"
        try:
            make(tmp)
            (tmp / ".stamp").write_text(stamp)
            if layer.exists():
                shutil.rmtree(layer)
            tmp.rename(layer)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return layer


def minbase() -> Path:
    """The debootstrap --variant=minbase root of the host's suite (cached)."""
    suite = host_suite()
    mirror = host_mirror(suite)

    def make(tmp: Path) -> None:
        # In its own mount namespace: the /proc and /sys debootstrap mounts
        # in the target go away with it, even if a timeout kills it.
        proc = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
             "debootstrap", "--variant=minbase", suite, str(tmp), mirror],
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT,
        )
        _check(proc, "debootstrap")
        # Downloaded packages are not part of the image.
        for deb in (tmp / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()

    return _build_layer(f"{suite}-minbase", f"{suite} {mirror}\n", make)


def _deb_packages_of(paths: Sequence[str]) -> List[str]:
    """The host's Debian packages that ship the shared libraries `paths`
    (resolved; merged /usr handled)."""
    pkgs = set()
    for p in paths:
        real = os.path.realpath(p)
        for cand in (real, re.sub(r"^/usr/lib/", "/lib/", real)):
            proc = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if proc.returncode == 0:
                pkgs.add(proc.stdout.split(":")[0])
                break
    return sorted(pkgs)


def runtime_packages(interpreters: Sequence[str]) -> List[str]:
    """The Debian packages whose libraries `interpreters` and their standard
    extension modules load (tkinter left out: a GUI is not what we test)."""
    libs = set()
    for exe in interpreters:
        prefix = Path(exe).resolve().parents[1]
        objs = [exe] + [
            str(p)
            for p in prefix.glob("lib/python3*/lib-dynload/*.so")
            if not p.name.startswith("_tkinter")
        ]
        out = subprocess.run(["ldd", *objs], capture_output=True, text=True).stdout
        libs.update(m.group(1) for m in re.finditer(r"=> (/\S+)", out))
    return _deb_packages_of(sorted(libs))


def python_layer(extra_packages: Sequence[str]) -> Path:
    """Debian's python3 and python3-venv and `extra_packages`, installed by
    apt-get over minbase(); the layer holds only what changed (cached)."""
    base = minbase()
    pkgs = sorted({"python3", "python3-venv", *extra_packages})
    name = f"{host_suite()}-python"

    def make(tmp: Path) -> None:
        script = (
            "export DEBIAN_FRONTEND=noninteractive\n"
            "apt-get update -q\n"
            f"apt-get install -y -q --no-install-recommends {' '.join(pkgs)}\n"
            "apt-get clean\n"
            "rm -rf /var/lib/apt/lists/*\n"
        )
        proc = run([base], script, upper=tmp, network=True, timeout=SETUP_TIMEOUT)
        _check(proc, "apt-get install " + " ".join(pkgs))

    stamp = hashlib.sha256((str(base) + " ".join(pkgs)).encode()).hexdigest() + "\n"
    return _build_layer(name, stamp, make)


def pyenv_layer(interpreter: str) -> Path:
    """A layer holding the pyenv installation of `interpreter` at its own
    path, without its site-packages and test suite (cached)."""
    prefix = Path(interpreter).resolve().parents[1]

    def make(tmp: Path) -> None:
        dest = tmp / str(prefix).lstrip("/")
        dest.parent.mkdir(parents=True)
        ignore = shutil.ignore_patterns("site-packages", "test", "__pycache__", "idlelib", "tkinter")
        shutil.copytree(prefix, dest, symlinks=True, ignore=ignore)
        for lib in dest.glob("lib/python3*"):
            (lib / "site-packages").mkdir(exist_ok=True)

    stamp = f"{prefix} {os.stat(interpreter).st_mtime_ns}\n"
    return _build_layer("pyenv-" + prefix.name, stamp, make)


def run(
    layers: Sequence[Path],
    script: str,
    *,
    upper: Path,
    network: bool = False,
    user: Optional[str] = None,
    env: Optional[Dict[str, str]] = None,
    writable_only: Optional[Sequence[str]] = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Run `script` with /bin/sh chrooted into `layers` (topmost first) with
    the writable directory `upper` on top; what it writes lands in `upper`
    (overlayfs needs `upper` on the same filesystem as its siblings
    `upper`.work and `upper`.mnt, made and removed here).

    network=False: a network namespace of its own with loopback up, so only
    127.0.0.1 is reachable; True: the host's network (for apt-get and pip),
    its resolver, and its CA bundle as PIP_CERT (a TLS-inspecting proxy
    that the host trusts is trusted by pip too), both mounted, not copied:
    no layer keeps them.
    user: "uid:gid" to run as. env: the environment (PATH, HOME, LANG are
    set). writable_only: the root is read-only but for these directories
    (made world-writable, like emptyDir volumes; what they get still lands
    in `upper`), as a pod with readOnlyRootFilesystem sees it. Returns the CompletedProcess (text); bounded by `timeout` seconds.
    """
    upperdir = Path(upper)
    workdir = upperdir.parent / (upperdir.name + ".work")  # overlayfs' own, same filesystem
    mnt = upperdir.parent / (upperdir.name + ".mnt")
    for d in (upperdir, workdir, mnt):
        d.mkdir(parents=True, exist_ok=True)
    upperdir.chmod(0o755)  # it is the root's "/"
    lower = ":".join(str(p) for p in layers)
    variables = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", **(env or {})}
    host_ca = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    host_ca = host_ca if network and os.path.isfile(host_ca) else None
    if host_ca:
        variables["PIP_CERT"] = f"{HOST_CA_DIR}/ca.crt"
    chroot = ["chroot"]
    if user:
        chroot.append(f"--userspec={user}")
    inner = " ".join(
        [
            "env -i",
            *(shlex.quote(f"{k}={v}") for k, v in variables.items()),
            *chroot,
            shlex.quote(str(mnt)),
            "/bin/sh -ec",
            shlex.quote(script),
        ]
    )
    outer = (
        "set -e\n"
        + ("" if network else "ip link set lo up\n")
        + f"mount -t overlay overlay -o lowerdir={lower},upperdir={upperdir},workdir={workdir} {mnt}\n"
        + f"mount -t proc proc {mnt}/proc\n"
        + "".join(
            f"mkdir -p {mnt}{w} && chmod 1777 {mnt}{w} && mount --bind {mnt}{w} {mnt}{w}\n"
            for w in (writable_only or [])
        )
        + (
            ""
            if not network
            else f"[ -e {mnt}/etc/resolv.conf ] || touch {mnt}/etc/resolv.conf\n"
            f"mount --bind /etc/resolv.conf {mnt}/etc/resolv.conf\n"
        )
        + (
            ""
            if not host_ca
            else f"mkdir -p {mnt}{HOST_CA_DIR} && mount -t tmpfs -o size=4m tmpfs {mnt}{HOST_CA_DIR}\n"
            f"cp {shlex.quote(host_ca)} {mnt}{HOST_CA_DIR}/ca.crt\n"
        )
        + (f"mount -o remount,bind,ro {mnt}\n" if writable_only is not None else "")
        + f"exec {inner}\n"
    )
    # A PID namespace too: when unshare dies (a timeout kills it), its child,
    # init of the namespace, gets SIGKILL and takes every process with it.
    cmd = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child"]
    if not network:
        cmd.append("--net")
    try:
        return subprocess.run(
            cmd + ["sh", "-c", outer],
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if host_ca:  # the empty mount point, left in the layer by mkdir
            try:
                (upperdir / HOST_CA_DIR.lstrip("/")).rmdir()
            except OSError:
                pass
        try:
            mnt.rmdir()
        except OSError:
            pass


def host_mounts_under(path: Path) -> List[str]:
    """Mount points of this (the host's) namespace at or below `path`."""
    prefix = str(Path(path).resolve())
    out = []
    for ln in Path("/proc/self/mountinfo").read_text().splitlines():
        point = ln.split()[4]
        if point == prefix or point.startswith(prefix + "/"):
            out.append(point)
    return out


if __name__ == "__main__":  # python3 rootfs.py: build (or show) the cached layers
    print(minbase())
    print(python_layer(runtime_packages(sys.argv[1:])))
