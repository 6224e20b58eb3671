"""Carry out a Dockerfile's build steps without a container engine: each
stage is a writable layer over the debootstrap root that stands in for its
`debian:<suite>-slim` base image, and each instruction does what Docker's
does (RUN in the stage's root with its ENV, WORKDIR and USER; COPY from the
context or another stage, with --chown). The result is the final stage's
layer plus its ENV, USER, WORKDIR, ENTRYPOINT and CMD, which `run()` starts
as `docker run` would.

Only the instructions our Dockerfile uses are known; any other one fails
the build, so the check can never skip a step silently.
"""

import json
import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import rootfs

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Stage:
    name: Optional[str]
    image: str
    base: List[Path]  # the layers of the base image, topmost first
    upper: Path  # what the stage's instructions wrote
    env: Dict[str, str] = field(default_factory=lambda: {"PATH": DEFAULT_PATH})
    workdir: str = "/"
    user: Optional[str] = None  # "uid:gid"
    entrypoint: List[str] = field(default_factory=list)
    cmd: List[str] = field(default_factory=list)

    @property
    def layers(self) -> List[Path]:
        return [self.upper] + self.base


def instructions(text: str) -> List[List[str]]:
    """[INSTRUCTION, arguments] pairs: continuation lines joined, comment
    lines (also inside a continued instruction) and blank lines dropped."""
    out, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or (not line.strip() and not current):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append([word.upper(), rest.strip()])
        current = ""
    return out


def substitute(text: str, values: Dict[str, str]) -> str:
    """$VAR and ${VAR} replaced from `values` (unknown ones become "")."""
    return re.sub(
        r"\$(?:\{(\w+)\}|(\w+))", lambda m: values.get(m.group(1) or m.group(2), ""), text
    )


def _lookup(stage: Stage, path: str) -> Path:
    """Where `path` of a built stage is on the host (its top layer first)."""
    for layer in stage.layers:
        p = layer / path.lstrip("/")
        if os.path.lexists(p):
            return p
    raise FileNotFoundError(f"COPY --from={stage.name}: {path} not found")


def make_dirs(stage: Stage, path: str) -> Path:
    """Create directory `path` in the stage's layer. Parents made for it
    copy the mode and owner they have in the layers below, so that overlayfs
    shows them as before (a new /home/user must stay the user's)."""
    target = stage.upper
    for part in Path(path.lstrip("/")).parts:
        target = target / part
        if target.exists():
            continue
        below = next((layer / target.relative_to(stage.upper) for layer in stage.base
                      if (layer / target.relative_to(stage.upper)).is_dir()), None)
        target.mkdir()
        if below is not None:
            st = below.stat()
            os.chown(target, st.st_uid, st.st_gid)
            target.chmod(st.st_mode & 0o7777)
    return target


def chown_tree(path: Path, owner: Optional[str]) -> None:
    if not owner:
        return
    uid, _, gid = owner.partition(":")
    assert uid.isdigit() and gid.isdigit(), f"--chown={owner}: numeric uid:gid only"
    for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.chown(p, int(uid), int(gid), follow_symlinks=False)


def _copy(stage: Stage, sources: Sequence[Path], dest: str, owner: Optional[str]) -> None:
    """COPY: a directory's contents into dest; files into dest/ (or as dest)."""
    if not dest.startswith("/"):
        dest = str(Path(stage.workdir) / dest)
    into_dir = dest.endswith("/") or len(sources) > 1 or any(s.is_dir() for s in sources)
    for src in sources:
        if into_dir:
            target_dir = make_dirs(stage, dest)
            if src.is_dir():
                shutil.copytree(src, target_dir, symlinks=True, dirs_exist_ok=True)
                for child in src.iterdir():
                    chown_tree(target_dir / child.name, owner)
            else:
                shutil.copy2(src, target_dir / src.name)
                chown_tree(target_dir / src.name, owner)
        else:
            parent = make_dirs(stage, str(Path(dest).parent))
            shutil.copy2(src, parent / Path(dest).name)
            chown_tree(parent / Path(dest).name, owner)


def build(
    dockerfile: Path,
    context: Path,
    workdir: Path,
    base_image: Callable[[str], List[Path]],
    log: Callable[[str], None] = lambda line: None,
    build_args: Optional[Dict[str, str]] = None,
) -> Stage:
    """Build every stage of `dockerfile` with `context` in directories under
    `workdir`; base_image(name) gives the layers standing in for an image.
    Returns the final stage. A failing RUN raises AssertionError with its
    output."""
    args: Dict[str, str] = {}
    stages: List[Stage] = []
    for word, rest in instructions(dockerfile.read_text()):
        stage = stages[-1] if stages else None
        if word == "ARG":
            name, _, default = rest.partition("=")
            args[name] = (build_args or {}).get(name, default)
            continue
        if word == "FROM":
            parts = rest.split()
            image = substitute(parts[0], args)
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            upper = workdir / f"stage{len(stages)}"
            upper.mkdir(parents=True)
            upper.chmod(0o755)
            stages.append(Stage(name, image, base_image(image), upper))
            log(f"FROM {image}" + (f" AS {name}" if name else ""))
            continue
        assert stage, f"{word} before FROM"
        log(f"{word} {rest}")
        if word == "RUN":
            env = {"HOME": "/root", **stage.env}
            proc = rootfs.run(
                stage.base,
                f"cd {shlex.quote(stage.workdir)}\n{rest}",
                upper=stage.upper,
                network=True,
                user=stage.user,
                env=env,
                timeout=1800,
            )
            assert proc.returncode == 0, f"RUN {rest}\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
        elif word == "WORKDIR":
            stage.workdir = str(Path(stage.workdir) / substitute(rest, stage.env))
            make_dirs(stage, stage.workdir)
        elif word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                stage.env[key] = substitute(value, stage.env)
        elif word == "USER":
            stage.user = rest if ":" in rest else f"{rest}:{rest}"
        elif word in ("ENTRYPOINT", "CMD"):
            setattr(stage, word.lower(), json.loads(rest))
        elif word == "COPY":
            words = rest.split()
            opts = {w[2:].split("=", 1)[0]: w.split("=", 1)[1] for w in words if w.startswith("--")}
            paths = [w for w in words if not w.startswith("--")]
            *srcs, dest = paths
            if "from" in opts:
                (source,) = [s for s in stages if s.name == opts["from"]]
                sources = [_lookup(source, s) for s in srcs]
            else:
                sources = [context / s for s in srcs]
                missing = [str(s) for s in sources if not s.exists()]
                assert not missing, f"COPY: not in the context: {missing}"
            _copy(stage, sources, substitute(dest, stage.env), opts.get("chown"))
        else:
            raise AssertionError(f"unsupported Dockerfile instruction {word}")
    return stages[-1]
