"""Fixtures of the install checks (make wheel-check): the cached Debian
layers, and a guard that nothing stays mounted on the host."""

import tempfile
from pathlib import Path

import pytest

import rootfs
from support import PYENV_ROOT, VERSIONS, debian_python_version, interpreter


@pytest.fixture(scope="session")
def python_layer() -> Path:
    """Debian's python3 and the runtime libraries of the pyenv interpreters."""
    wanted = {v: interpreter(v) for v in VERSIONS if v != debian_python_version()}
    missing = [v for v, i in wanted.items() if not i]
    assert not missing, f"no interpreter for {missing} under {PYENV_ROOT} (or PYTHON_X_Y)"
    return rootfs.python_layer(rootfs.runtime_packages(list(wanted.values())))


@pytest.fixture(scope="session", autouse=True)
def nothing_left_mounted():
    """After the session, the host has no mount under the cache or /tmp
    made by these tests (they mount only inside their own namespaces)."""
    before = set(rootfs.host_mounts_under(rootfs.CACHE)) | set(
        rootfs.host_mounts_under(Path(tempfile.gettempdir()))
    )
    yield
    after = set(rootfs.host_mounts_under(rootfs.CACHE)) | set(
        rootfs.host_mounts_under(Path(tempfile.gettempdir()))
    )
    assert after <= before, f"left mounted: {sorted(after - before)}"
