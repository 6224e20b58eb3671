"""examples/docker/Dockerfile, verified without a container engine: its two
stages are built step by step in debootstrap roots standing in for
debian:<suite>-slim (dockerfile.py), then the image is run offline, with
only loopback, as the README's `docker run` and as the Kubernetes Job of
examples/kubernetes (its ConfigMap files at their mount paths, its env,
user, working directory and read-only root filesystem), each tracing to an
OTLP/HTTP receiver on loopback that stands in for the collector.
"""

import re
import shlex
import shutil
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml

import dockerfile
import rootfs
from support import IN_ROOT, REPO, check_trace, spans_from_otlp_requests

POD_NAME = "chaos-experiment-x7k2p"


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> dockerfile.Stage:
    suite = rootfs.host_suite()

    def base_image(name: str) -> List[Path]:
        assert name == f"debian:{suite}-slim", f"no stand-in for the image {name}"
        return [rootfs.minbase()]

    return dockerfile.build(
        REPO / "examples" / "docker" / "Dockerfile",
        REPO,
        tmp_path_factory.mktemp("docker"),
        base_image,
        build_args={"DEBIAN_SUITE": suite},
    )


def run_container(
    image: dockerfile.Stage,
    tmp_path: Path,
    args: List[str],
    env: Dict[str, str],
    files: Dict[str, str],
    user: Optional[str] = None,
    workdir: Optional[str] = None,
    writable_only: Optional[List[str]] = None,
    before: str = "",
):
    """Start the image like `docker run`: ENTRYPOINT + args, the image's ENV
    with `env` over it ($RECEIVER is the receiver's URL), `files` (path →
    text) in place like read-only volumes. Returns (process, /check/out)."""
    run = dockerfile.Stage(None, image.image, image.layers, tmp_path / "container")
    run.upper.mkdir()
    run.upper.chmod(0o755)
    for path, text in files.items():
        d = dockerfile.make_dirs(run, str(Path(path).parent))
        (d / Path(path).name).write_text(text)
    check = dockerfile.make_dirs(run, "/check")
    shutil.copy(IN_ROOT / "otlp_sink.py", check)
    (check / "out").mkdir()
    uid, _, gid = (user or image.user or "0:0").partition(":")
    dockerfile.chown_tree(check, f"{uid}:{gid}")
    # Double quotes: $RECEIVER and ${VAR} expand, as the container's env does.
    exports = "".join(
        f'export {k}="' + re.sub(r'(["\\`])', r"\\\1", v) + '"\n' for k, v in env.items()
    )
    script = f"""
python /check/otlp_sink.py /check/out &
i=0
while [ ! -f /check/out/port ]; do i=$((i+1)); [ $i -le 100 ]; sleep 0.1; done
RECEIVER=http://127.0.0.1:$(cat /check/out/port)
{exports}{before}
cd {shlex.quote(workdir or image.workdir)}
{shlex.join(image.entrypoint + args)} >/check/out/chaos.out 2>&1
echo "container done"
"""
    home = "/root" if uid == "0" else "/home/chaos"
    proc = rootfs.run(
        image.layers,
        script,
        upper=run.upper,
        user=f"{uid}:{gid}",
        env={"HOME": home, **image.env},
        writable_only=writable_only,
        timeout=300,
    )
    out = check / "out"
    chaos_out = (out / "chaos.out").read_text()[-3000:] if (out / "chaos.out").exists() else ""
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:] + chaos_out
    assert "container done" in proc.stdout
    return proc, out


def test_image_runtime_has_chaos_and_chaostracing_but_no_compiler_or_libcurl(image, tmp_path):
    assert image.user == "10001:10001"
    assert image.entrypoint == ["chaos", "--no-version-check"]
    # As root, so that find sees every directory.
    proc, out = run_container(
        image,
        tmp_path,
        ["--help"],
        {},
        {},
        user="0:0",
        before=(
            "chaostracing --version >/check/out/version\n"
            "command -v cc gcc >/check/out/compilers || true\n"
            "find / -xdev -name 'libcurl*.so*' -not -path '/opt/chaos/*' >/check/out/libcurl\n"
        ),
    )
    assert (out / "version").read_text().startswith("chaostracing ")
    assert (out / "compilers").read_text() == ""
    assert (out / "libcurl").read_text() == ""
    assert "Usage: chaos" in (out / "chaos.out").read_text()


def test_docker_run_as_the_readme_says(image, tmp_path):
    """docker run -v experiment.json:/home/chaos/experiment.json:ro
    -e OTEL_EXPORTER_OTLP_ENDPOINT=... -e OTEL_SERVICE_NAME=... IMAGE run experiment.json"""
    _, out = run_container(
        image,
        tmp_path,
        ["run", "experiment.json"],
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "$RECEIVER",
            "OTEL_SERVICE_NAME": "chaos-experiments",
            "TARGET_URL": "$RECEIVER",
        },
        {"/home/chaos/experiment.json": (IN_ROOT / "experiment.json").read_text()},
        before="id -u >/check/out/uid\n",
    )
    assert (out / "uid").read_text().strip() == "10001"
    spans = spans_from_otlp_requests(out)
    check_trace(spans)
    assert {s["service"] for s in spans} == {"chaos-experiments"}
    journal = tmp_path / "container" / "home" / "chaos" / "journal.json"
    assert journal.stat().st_uid == 10001  # written by the image's user in its home


def test_the_kubernetes_job_runs_in_the_image(image, tmp_path):
    """The Job's container: ConfigMap files at their mount paths, its args,
    env ($(VAR) expanded, the pod name from the downward API), user, working
    directory and read-only root with emptyDir volumes. Only the two URLs
    naming cluster services point at the loopback receiver instead."""
    docs = {
        d["kind"]: d
        for f in (REPO / "examples" / "kubernetes").glob("*.yaml")
        for d in yaml.safe_load_all(f.read_text())
    }
    pod = docs["Job"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    files, writable = {}, ["/check"]
    for mount in container["volumeMounts"]:
        vol = volumes[mount["name"]]
        if "configMap" in vol:
            data = docs["ConfigMap"]["data"]
            for item in vol["configMap"]["items"]:
                files[f"{mount['mountPath']}/{item['path']}"] = data[item["key"]]
        else:
            assert "emptyDir" in vol
            writable.append(mount["mountPath"])
    env: Dict[str, str] = {}
    for e in container["env"]:
        if e["name"] in ("OTEL_EXPORTER_OTLP_ENDPOINT", "TARGET_URL"):
            env[e["name"]] = "$RECEIVER"
        elif "valueFrom" in e:
            assert e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
            env[e["name"]] = POD_NAME
        else:
            env[e["name"]] = e["value"].replace("$(", "${").replace(")", "}")
    sc = pod["securityContext"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    _, out = run_container(
        image,
        tmp_path,
        container["args"],
        env,
        files,
        user=f"{sc['runAsUser']}:{sc['runAsGroup']}",
        workdir=container["workingDir"],
        writable_only=writable,
        before="if touch /home/chaos/x 2>/dev/null; then echo writable >/check/out/rootfs; fi\n",
    )
    assert not (out / "rootfs").exists(), "the root file system was writable"
    spans = spans_from_otlp_requests(out)
    names = {s["name"] for s in spans}
    assert "The shop keeps answering while one of its pods is gone" in names
    assert {"shop-answers", "wait-for-traffic", "shop-still-answers", "method"} <= names
    assert {s["service"] for s in spans} == {"chaos-experiments"}
    assert {s["resource"].get("k8s.pod.name") for s in spans} == {POD_NAME}
    assert all(s["encoding"] == "gzip" for s in spans)  # OTEL_EXPORTER_OTLP_COMPRESSION
    log = (tmp_path / "container" / "work" / "chaostoolkit.log").read_text()
    assert "spans exported to http://127.0.0.1:" in log
