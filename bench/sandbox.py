"""A Lambda-shaped file tree on this machine, for the cold-start and the warm-overhead processes.

In Lambda a Python function's import path is /var/task (the function's folder), then /opt/python (the
layer), then the runtime's own site-packages with boto3. The runtime's packages come with compiled
bytecode, and so does the layer: `sam build` runs layers/common/Makefile (`BuildMethod: makefile`),
which installs layers/common/requirements.txt for arm64 / Python 3.13 and compiles everything with
`compileall --invalidation-mode unchecked-hash`. /opt and /var/task are read-only, so whatever has no
bytecode is compiled again on every cold start. This tree reproduces that, for the interpreter that
runs the cold starts and the warm requests (bench.interpreter: python3.13 when there is one; one build
per `make bench`, shared by both). Bytecode is only used by the Python that wrote it, so everything is
compiled by that interpreter, and the parts kept between runs carry a stamp with its version and path:

  build/bench/lambda/runtime/          boto3 and its dependencies, compiled   (= the runtime's; copied
                                       from .venv, pure Python; kept while its stamp holds)
  build/bench/lambda/layer/python/     the layer as layers/common/Makefile builds it (its
                                       requirements, the smtphub package, compileall unchecked-hash),
                                       but for this machine's platform and the cold-start interpreter:
                                       the Makefile installs arm64 wheels, whose compiled extensions
                                       (pydantic-core) do not load here. The requirements are kept in
                                       build/bench/lambda/layer-packages while their stamp holds;
                                       without the package index, this environment's copies (when it
                                       is the same Python).
  build/bench/lambda/layer-src/python/ the same layer without its bytecode (for information: what
                                       the compile step saves)
  build/bench/lambda/layer+<Layer>/python/
                                       for the functions with layers of their own (SigningLayer: the
                                       check, save, the health worker), the layer above merged with
                                       theirs, as Lambda extracts every layer into one /opt; their
                                       requirements (layers/<folder>/requirements.txt) installed and
                                       compiled as their Makefile does, kept in
                                       build/bench/lambda/layer-packages-<Layer> while their stamp holds
  build/bench/lambda/task/<function>/  each function's folder and its own requirements, sources only
                                       (`sam build` compiles nothing in a function's package); the
                                       requirements installed by the cold-start interpreter's pip
                                       (build/bench/lambda/packages/, kept while its stamp holds)
  build/bench/lambda/peer/             the textbook peer (bench/peer): its module, its pinned
                                       dependencies with bytecode (deps/, kept while its stamp holds)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from bench.interpreter import Interpreter, this_python
from bench.lambdas import BUILD, ROOT, Function, layer_folders

LAYER_REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
LAYER_SOURCE = ROOT / "layers" / "common"
# What the Lambda Python runtime already has (and what the layer's copy shadows, being earlier on the path).
RUNTIME_PROVIDED = ("boto3",)
SANDBOX = BUILD / "lambda"
PEER_SOURCE = Path(__file__).resolve().parent / "peer" / "textbook_find_by_id.py"
PEER_REQUIREMENTS = PEER_SOURCE.parent / "requirements.txt"


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


def _dist_stamp(dists: dict[str, metadata.Distribution]) -> str:
    return "\n".join(sorted(f"{name}=={dist.version}" for name, dist in dists.items()))


def _fresh(folder: Path, stamp: str) -> bool:
    """Whether a cached part of the tree was built from the same inputs by the same interpreter."""
    marker = folder / ".stamp"
    return marker.is_file() and marker.read_text() == stamp


def _compile(interpreter: Interpreter, folder: Path, *, unchecked_hash: bool = False) -> None:
    """Bytecode for the interpreter that runs the cold starts (its cache tag; it ignores any other)."""
    args = [interpreter.path, "-m", "compileall", "-q", "-j", "0"]
    if unchecked_hash:
        args += ["--invalidation-mode", "unchecked-hash"]
    done = subprocess.run([*args, str(folder)], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"compileall failed in {folder}: {done.stdout[-1000:]}{done.stderr[-1000:]}")


def _pip_target(interpreter: Interpreter, requirements_file: Path, target: Path) -> str | None:
    """`pip install --target` for the cold-start interpreter (this machine's platform); error or None."""
    done = subprocess.run(
        [
            interpreter.path,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--only-binary=:all:",
            "--target",
            str(target),
            "-r",
            str(requirements_file),
        ],
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_ROOT_USER_ACTION": "ignore"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        return done.stderr.strip()[-500:] or f"pip exited {done.returncode}"
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: not on a Lambda's path
    return None


def _layer_packages(interpreter: Interpreter) -> tuple[Path, str]:
    """The layer's requirements installed for this machine and the cold-start interpreter, with bytecode
    (build/bench/lambda/layer-packages, kept while its stamp holds), and how they were made."""
    target = SANDBOX / "layer-packages"
    stamp = f"{interpreter.stamp()}\n{LAYER_REQUIREMENTS.read_text()}"
    if _fresh(target, stamp):
        return target, (target / ".method").read_text()
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    error = _pip_target(interpreter, LAYER_REQUIREMENTS, target)
    if error is None:
        method = (
            f"pip install -r layers/common/requirements.txt (python {interpreter.version}, this platform)"
        )
    else:
        if interpreter.cache_tag != sys.implementation.cache_tag:
            raise RuntimeError(
                f"the layer's requirements could not be installed for {interpreter.path}: {error}"
            )
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for dist in layer_closure().values():
            _copy_distribution(dist, target)
        method = "the installed distributions of layers/common/requirements.txt (no package index)"
    _compile(interpreter, target, unchecked_hash=True)
    (target / ".method").write_text(method)
    (target / ".stamp").write_text(stamp)
    return target, method


def _build_layer(target: Path, interpreter: Interpreter) -> str:
    """The layer as layers/common/Makefile makes it for Lambda (its requirements, the whole smtphub
    package, `compileall --invalidation-mode unchecked-hash`), but for this machine's platform: the
    Makefile installs for arm64, whose compiled extensions (pydantic-core) do not load here."""
    packages, method = _layer_packages(interpreter)
    layer = target / "python"
    shutil.copytree(packages, layer, ignore=shutil.ignore_patterns(".stamp", ".method"))
    for excluded in layer_exclusions():
        shutil.rmtree(layer / excluded, ignore_errors=True)
    _copy_tree(LAYER_SOURCE / "smtphub", layer / "smtphub")
    _compile(interpreter, layer / "smtphub", unchecked_hash=True)
    return f"{method} + smtphub, less excluded.txt, compileall unchecked-hash, as layers/common/Makefile does"


def _own_layer_packages(name: str, interpreter: Interpreter) -> Path:
    """A function layer's requirements (layers/<folder>/requirements.txt, e.g. SigningLayer's cryptography)
    installed for this machine and the cold-start interpreter and compiled, as its Makefile does for Lambda
    (build/bench/lambda/layer-packages-<name>, kept while its stamp holds). Without the package index, this
    environment's installed copies, when it is the same Python."""
    requirements_file = layer_folders()[name] / "requirements.txt"
    target = SANDBOX / f"layer-packages-{name}"
    stamp = f"{interpreter.stamp()}\n{requirements_file.read_text()}"
    if _fresh(target, stamp):
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    error = _pip_target(interpreter, requirements_file, target)
    if error is not None:
        if interpreter.cache_tag != sys.implementation.cache_tag:
            raise RuntimeError(
                f"{name}'s requirements could not be installed for {interpreter.path}: {error}"
            )
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for dist in closure(requirements(requirements_file)).values():
            _copy_distribution(dist, target)
    _compile(interpreter, target, unchecked_hash=True)
    (target / ".stamp").write_text(stamp)
    return target


def _merged_layers(functions: tuple[Function, ...], layer: Path, interpreter: Interpreter) -> dict[str, Path]:
    """function name -> its /opt/python, for the functions with layers of their own: the shared layer and
    theirs in one folder, as Lambda extracts them (the others use the shared layer's tree as it is)."""
    merged: dict[tuple[str, ...], Path] = {}
    found: dict[str, Path] = {}
    for function in functions:
        if not function.layers:
            continue
        if function.layers not in merged:
            folder = SANDBOX / ("layer+" + "+".join(function.layers))
            shutil.copytree(layer, folder)
            for name in function.layers:
                packages = _own_layer_packages(name, interpreter)
                shutil.copytree(
                    packages, folder / "python", ignore=shutil.ignore_patterns(".stamp"), dirs_exist_ok=True
                )
            merged[function.layers] = folder / "python"
        found[function.name] = merged[function.layers]
    return found


def layer_exclusions() -> list[str]:
    """What the layer's Makefile removes from the built layer (layers/common/excluded.txt)."""
    lines = (LAYER_SOURCE / "excluded.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _runtime(interpreter: Interpreter) -> Path:
    """boto3 and its dependencies, with bytecode: the Lambda runtime's copy (kept while its stamp holds)."""
    runtime = SANDBOX / "runtime"
    dists = runtime_closure()
    stamp = f"{interpreter.stamp()}\n{_dist_stamp(dists)}"
    if not _fresh(runtime, stamp):
        shutil.rmtree(runtime, ignore_errors=True)
        runtime.mkdir(parents=True)
        for dist in dists.values():
            _copy_distribution(dist, runtime)
        _compile(interpreter, runtime)
        (runtime / ".stamp").write_text(stamp)
    return runtime


def _function_packages(function: Function, interpreter: Interpreter) -> tuple[Path | None, str]:
    """A function's own requirements as `sam build` installs them (no bytecode), for this interpreter.

    Installed with the cold-start interpreter's pip (a compiled extension only loads in the Python it
    was built for), cached while the requirements and the interpreter are the same. Without the package
    index: this environment's installed copies, said so.
    """
    requirements_file = function.folder / "requirements.txt"
    if not requirements(requirements_file):
        return None, ""
    target = SANDBOX / "packages" / function.name
    stamp = f"{interpreter.stamp()}\n{requirements_file.read_text()}"
    if _fresh(target, stamp):
        return target, "pip"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    error = _pip_target(interpreter, requirements_file, target)
    if error is None:
        (target / ".stamp").write_text(stamp)
        return target, "pip"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for dist in function_closure(function).values():
        _copy_distribution(dist, target)
    return target, f"copied from this environment (pip failed: {error.splitlines()[-1] if error else ''})"


def _peer(interpreter: Interpreter) -> dict[str, Any]:
    """The textbook peer: its module as /var/task, its pinned dependencies with bytecode, compiled as our
    layer is (the comparison is of the code, not of the packaging)."""
    folder = SANDBOX / "peer"
    deps = folder / "deps"
    stamp = f"{interpreter.stamp()}\n{PEER_REQUIREMENTS.read_text()}"
    result: dict[str, Any] = {}
    if not _fresh(deps, stamp):
        shutil.rmtree(folder, ignore_errors=True)
        (deps / "python").mkdir(parents=True)
        error = _pip_target(interpreter, PEER_REQUIREMENTS, deps / "python")
        if error is not None:
            shutil.rmtree(folder, ignore_errors=True)
            return {"error": f"the peer's requirements could not be installed: {error}"}
        _compile(interpreter, deps / "python", unchecked_hash=True)
        (deps / ".stamp").write_text(stamp)
    task = folder / "task"
    shutil.rmtree(task, ignore_errors=True)
    task.mkdir(parents=True)
    shutil.copyfile(PEER_SOURCE, task / PEER_SOURCE.name)
    result.update(
        {
            "task": task,
            "module": PEER_SOURCE.stem,
            "deps": deps / "python",
        }
    )
    return result


# What `build` made in this process (or why it could not), by interpreter stamp and functions: one
# `make bench` builds the tree once, and the parts that use it (the cold starts, the warm overhead) run
# on the same tree.
_BUILT: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
_FAILED: dict[tuple[str, tuple[str, ...]], RuntimeError] = {}


def build(functions: tuple[Function, ...], interpreter: Interpreter, *, peer: bool = True) -> dict[str, Any]:
    """The tree for `interpreter`, (re)built once per process (later calls get the same paths); the parts
    that only depend on pinned versions are kept between runs while their stamp (versions, the
    interpreter's version and path) is the same. `peer=False`: without the textbook peer (the warm
    overhead does not use it), which a later call with `peer=True` adds."""
    key = (interpreter.stamp(), tuple(function.name for function in functions))
    if key in _FAILED:
        raise _FAILED[key]
    paths = _BUILT.get(key)
    if paths is None:
        try:
            paths = _BUILT[key] = _build(functions, interpreter)
        except RuntimeError as failure:
            _FAILED[key] = failure
            raise
    if peer and "peer" not in paths:
        paths["peer"] = _peer(interpreter)
    return paths


def build_or_fall_back(
    functions: tuple[Function, ...], interpreter: Interpreter, *, peer: bool = True
) -> tuple[Interpreter, dict[str, Any]]:
    """`build` for `interpreter`; when that fails (e.g. no package index for python3.13's own wheels),
    for the Python running the bench instead, its note saying why (as the cold starts do)."""
    try:
        return interpreter, build(functions, interpreter, peer=peer)
    except RuntimeError as failure:
        if interpreter.path == sys.executable:
            raise
        fallback = this_python(f"the tree could not be built for {interpreter.path} ({failure})")
        return fallback, build(functions, fallback, peer=peer)


def _build(functions: tuple[Function, ...], interpreter: Interpreter) -> dict[str, Any]:
    runtime = _runtime(interpreter)
    layer = SANDBOX / "layer"
    source_only = SANDBOX / "layer-src"
    for folder in (
        layer,
        source_only,
        SANDBOX / "task",
        *(SANDBOX / old for old in ("layer-lean", "layer-pyc")),
        *SANDBOX.glob("layer+*"),
    ):
        shutil.rmtree(folder, ignore_errors=True)
    method = _build_layer(layer, interpreter)
    _copy_tree(layer, source_only)
    layer_of = _merged_layers(functions, layer, interpreter)
    packages: dict[str, str] = {}
    for function in functions:
        task = SANDBOX / "task" / function.name
        _copy_tree(function.folder, task)
        installed, how = _function_packages(function, interpreter)
        if installed is not None:
            shutil.copytree(installed, task, ignore=shutil.ignore_patterns(".stamp"), dirs_exist_ok=True)
            packages[function.name] = how
        if (function.folder / "Makefile").is_file():  # built by its Makefile, with bytecode (the authorizer)
            _compile(interpreter, task, unchecked_hash=True)
            packages[function.name] = (
                f"{packages.get(function.name, 'its code')}, compiled as its Makefile does"
            )
    return {
        "runtime": runtime,
        "layer": layer / "python",
        "layer_of": layer_of,  # the functions with layers of their own: their merged /opt/python
        "layer-src": source_only / "python",
        "task": SANDBOX / "task",
        "layer_method": method,
        "function_packages": packages,
    }
