"""A Lambda-shaped file tree on this machine, for the cold-start processes.

In Lambda a Python function's import path is /var/task (the function's folder), then /opt/python (the
layer), then the runtime's own site-packages with boto3. The runtime's packages come with compiled
bytecode; `sam build` copies the layer's and the function's sources without any (we checked: the
built CommonLayer holds no .pyc), and /opt and /var/task are read-only, so every cold start compiles
every layer module it imports. This tree reproduces that with this machine's Python:

  build/bench/lambda/runtime/        boto3 and its dependencies, compiled   (= the runtime's)
  build/bench/lambda/layer/python/   the layer as `sam build` makes it: smtphub + the closure of
                                     layers/common/requirements.txt, sources only
  build/bench/lambda/layer-lean/python/ the same without what the runtime already has (botocore and
                                     its dependencies, pulled in by aws-xray-sdk), sources only
  build/bench/lambda/layer-pyc/python/  the full layer, compiled ahead of time (what a build step could ship)
  build/bench/lambda/task/<function>/   each function's folder and its own requirements, sources only

The packages are copied from .venv (the same pinned versions the layer declares, for this machine's
platform rather than arm64).
"""

from __future__ import annotations

import compileall
import re
import shutil
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from bench.lambdas import BUILD, ROOT, Function

LAYER_REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
LAYER_SOURCE = ROOT / "layers" / "common"
# What the Lambda Python runtime already has (and what the layer's copy shadows, being earlier on the path).
RUNTIME_PROVIDED = ("boto3",)
SANDBOX = BUILD / "lambda"


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """The installed distributions a set of requirements pulls in (extras and markers honoured)."""
    found: dict[str, metadata.Distribution] = {}
    todo = [(req.name, set(req.extras)) for req in requirements]
    while todo:
        name, extras = todo.pop()
        if _key(name) in found:
            continue
        dist = metadata.distribution(name)
        found[_key(name)] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
                continue
            todo.append((req.name, set(req.extras)))
    return found


def requirements(path: Path) -> list[Requirement]:
    if not path.is_file():
        return []
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def layer_closure() -> dict[str, metadata.Distribution]:
    return closure(requirements(LAYER_REQUIREMENTS))


def function_closure(function: Function) -> dict[str, metadata.Distribution]:
    """What `sam build` installs into a function's own package (its folder's requirements.txt)."""
    return closure(requirements(function.folder / "requirements.txt"))


def runtime_closure() -> dict[str, metadata.Distribution]:
    return closure([Requirement(name) for name in RUNTIME_PROVIDED])


def _copy_distribution(dist: metadata.Distribution, target: Path) -> int:
    """Copy an installed distribution's files (no bytecode, nothing outside site-packages)."""
    size = 0
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if not parts or parts[0] == ".." or "__pycache__" in parts or str(file).endswith(".pyc"):
            continue
        source = Path(str(dist.locate_file(file)))
        if not source.is_file():
            continue
        destination = target / Path(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        size += destination.stat().st_size
    return size


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)


def _stamp(dists: dict[str, metadata.Distribution]) -> str:
    return "\n".join(sorted(f"{name}=={dist.version}" for name, dist in dists.items()))


def build(functions: tuple[Function, ...]) -> dict[str, Path]:
    """(Re)build the tree; the runtime part is kept between runs while its versions match."""
    runtime = SANDBOX / "runtime"
    runtime_dists = runtime_closure()
    stamp = runtime / ".stamp"
    if not stamp.is_file() or stamp.read_text() != _stamp(runtime_dists):
        shutil.rmtree(runtime, ignore_errors=True)
        runtime.mkdir(parents=True)
        for dist in runtime_dists.values():
            _copy_distribution(dist, runtime)
        compileall.compile_dir(runtime, quiet=2, workers=0)
        stamp.write_text(_stamp(runtime_dists))

    layer = SANDBOX / "layer" / "python"
    lean = SANDBOX / "layer-lean" / "python"
    layer_pyc = SANDBOX / "layer-pyc" / "python"
    for folder in (layer.parent, lean.parent, layer_pyc.parent, SANDBOX / "task"):
        shutil.rmtree(folder, ignore_errors=True)
    layer.mkdir(parents=True)
    lean.mkdir(parents=True)
    for name, dist in layer_closure().items():
        _copy_distribution(dist, layer)
        if name not in runtime_dists:
            _copy_distribution(dist, lean)
    _copy_tree(LAYER_SOURCE / "smtphub", layer / "smtphub")
    _copy_tree(LAYER_SOURCE / "smtphub", lean / "smtphub")
    shutil.copytree(layer, layer_pyc)
    compileall.compile_dir(layer_pyc, quiet=2, workers=0)
    for function in functions:
        task = SANDBOX / "task" / function.name
        _copy_tree(function.folder, task)
        for dist in function_closure(function).values():
            _copy_distribution(dist, task)
    return {
        "runtime": runtime,
        "layer": layer,
        "layer-lean": lean,
        "layer-pyc": layer_pyc,
        "task": SANDBOX / "task",
    }
