"""A Lambda-shaped file tree on this machine, for the cold-start processes.

In Lambda a Python function's import path is /var/task (the function's folder), then /opt/python (the
layer), then the runtime's own site-packages with boto3. The runtime's packages come with compiled
bytecode, and so does the layer: `sam build` runs layers/common/Makefile (`BuildMethod: makefile`),
which installs layers/common/requirements.txt for arm64 / Python 3.13 and compiles everything with
`compileall --invalidation-mode unchecked-hash`. /opt and /var/task are read-only, so whatever has no
bytecode is compiled again on every cold start. This tree reproduces that:

  build/bench/lambda/runtime/          boto3 and its dependencies, compiled   (= the runtime's)
  build/bench/lambda/layer/python/     the layer as built: the layer's own Makefile, run with the
                                       interpreter that runs the cold-start processes (the .pyc must
                                       be that interpreter's, or they would be ignored and every
                                       module compiled again: in Lambda, build and runtime are both
                                       3.13). Without make or the package index: the installed
                                       distributions of the same requirements, compiled the same way.
  build/bench/lambda/layer-src/python/ the same layer without its bytecode (for information: what
                                       the compile step saves)
  build/bench/lambda/task/<function>/  each function's folder and its own requirements, sources only
                                       (`sam build` compiles nothing in a function's package)

The runtime's packages and the functions' requirements are copied from .venv (the same pinned
versions, for this machine's platform rather than arm64).
"""

from __future__ import annotations

import compileall
import os
import py_compile
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

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


def _make_layer(target: Path) -> str | None:
    """The layer as `sam build` makes it: layers/common/Makefile, PYTHON = this interpreter."""
    if shutil.which("make") is None:
        return None
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(LAYER_SOURCE),
            "build-CommonLayer",
            f"ARTIFACTS_DIR={target}",
            f"PYTHON={sys.executable}",
        ],
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not (target / "python" / "smtphub").is_dir():
        return None
    return f"layers/common/Makefile, PYTHON = this interpreter (Python {sys.version.split()[0]})"


def _copy_layer(target: Path) -> str:
    """Fallback: the installed distributions of the layer's requirements, compiled as the Makefile does."""
    layer = target / "python"
    layer.mkdir(parents=True)
    for dist in layer_closure().values():
        _copy_distribution(dist, layer)
    _copy_tree(LAYER_SOURCE / "smtphub", layer / "smtphub")
    compileall.compile_dir(
        layer, quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    return f"installed distributions + compileall unchecked-hash (Python {sys.version.split()[0]})"


def build(functions: tuple[Function, ...]) -> dict[str, Any]:
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

    layer = SANDBOX / "layer"
    source_only = SANDBOX / "layer-src"
    for folder in (
        layer,
        source_only,
        SANDBOX / "task",
        *(SANDBOX / old for old in ("layer-lean", "layer-pyc")),
    ):
        shutil.rmtree(folder, ignore_errors=True)
    method = _make_layer(layer)
    if method is None:
        shutil.rmtree(layer, ignore_errors=True)
        method = _copy_layer(layer)
    _copy_tree(layer, source_only)
    for function in functions:
        task = SANDBOX / "task" / function.name
        _copy_tree(function.folder, task)
        for dist in function_closure(function).values():
            _copy_distribution(dist, task)
    return {
        "runtime": runtime,
        "layer": layer / "python",
        "layer-src": source_only / "python",
        "task": SANDBOX / "task",
        "layer_method": method,
    }
