"""6. Size: the built layers and each function's package, for Lambda (arm64, Python 3.13).

The shared layer (CommonLayer) has a budget (< 15 MB unzipped); a function's own layer (SigningLayer:
cryptography, for the check, save and the health worker only) is reported beside it, with the functions
that carry it, against Lambda's limit for a function and all its layers (250 MB unzipped).

With the SAM CLI (.venv-sam, from `make lint`) and a python3.13 (on PATH or in pyenv), `sam build`
into build/bench/sam (the layer by layers/common/Makefile, bytecode included). Otherwise the layer
is built by running that Makefile directly and the functions' requirements are installed for the
Lambda platform with `pip install --platform manylinux2014_aarch64 --only-binary=:all:
--python-version 3.13`, into build/bench/pip. Both read the package index; when neither works, the
sizes are those of this machine's copies (build/bench/lambda, the cold-start tree) and the figure
says so. Sizes count every file, the layer's .pyc included.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.interpreter import python313
from bench.lambdas import BUILD, ROOT, Function, layer_folders

RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
MAX_LAYER_MB = 15
MAX_OWN_CODE_KB = 50


def _python313() -> str | None:
    """The folder of a working python3.13 (bench.interpreter: pyenv's first, then PATH), or None."""
    found = python313()
    return str(Path(found.path).parent) if found else None


def _files(folder: Path) -> list[Path]:
    """Every file, bytecode included: the layer ships its .pyc (layers/common/Makefile)."""
    return [p for p in folder.rglob("*") if p.is_file()]


def _zipped(folder: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(folder):
            archive.write(path, path.relative_to(folder))
    return len(buffer.getvalue())


def _breakdown(folder: Path) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    for path in _files(folder):
        parts = path.relative_to(folder).parts
        # A top-level module's bytecode (__pycache__/typing_extensions.cpython-313.pyc) counts with it.
        top = parts[1].split(".")[0] if parts[0] == "__pycache__" and len(parts) > 1 else parts[0]
        name = top.split("-")[0].removesuffix(".py") if top.endswith((".dist-info", ".py")) else top
        sizes[name] += path.stat().st_size
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))


def _sam_build(functions: tuple[Function, ...], log: Any) -> Path | None:
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    python_dir = _python313()
    if not sam.is_file() or python_dir is None:
        return None
    out = BUILD / "sam"
    shutil.rmtree(out, ignore_errors=True)
    env = {
        **os.environ,
        "PATH": f"{python_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
    }
    log("size: sam build ...")
    done = subprocess.run(
        [str(sam), "build", "--build-dir", str(out), "--cache-dir", str(BUILD / "sam-cache"), "--cached"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        log(f"size: sam build failed, trying pip: {done.stderr.strip()[-300:]}")
        return None
    return out


def _pip_install(requirements: Path, target: Path) -> bool:
    if not requirements.is_file():
        target.mkdir(parents=True, exist_ok=True)
        return True
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--platform",
            "manylinux2014_aarch64",
            "--only-binary=:all:",
            "--python-version",
            "3.13",
            "--implementation",
            "cp",
            "--no-compile",
            "--target",
            str(target),
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode == 0


def _pip_build(functions: tuple[Function, ...], log: Any) -> Path | None:
    out = BUILD / "pip"
    shutil.rmtree(out, ignore_errors=True)
    log("size: pip install for manylinux2014_aarch64 / 3.13 ...")
    # The layer by its own Makefile, as sam build runs it (compiled by a python3.13 when there is one).
    python_dir = _python313()
    python = str(Path(python_dir) / "python3.13") if python_dir else sys.executable
    for name, folder in layer_folders().items():
        done = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-C",
                str(folder),
                f"build-{name}",
                f"ARTIFACTS_DIR={out / name}",
                f"PYTHON={python}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            return None
    for function in functions:
        target = out / function.logical_id
        if not _pip_install(function.folder / "requirements.txt", target):
            return None
        shutil.copytree(
            function.folder, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
        )
    return out


def run(functions: tuple[Function, ...], log: Any) -> dict[str, Any]:
    method = "sam build (arm64, python3.13)"
    built = _sam_build(functions, log)
    if built is None:
        method = "pip --platform manylinux2014_aarch64 --python-version 3.13"
        built = _pip_build(functions, log)
    if built is None:
        method = "this machine's copies (no package index reachable): x86_64, this Python"
        built = BUILD / "lambda-size"
        shutil.rmtree(built, ignore_errors=True)
        shutil.copytree(BUILD / "lambda" / "layer", built / "CommonLayer")
        for name in layer_folders():
            packages = BUILD / "lambda" / f"layer-packages-{name}"
            if name != "CommonLayer" and packages.is_dir():
                shutil.copytree(packages, built / name / "python", ignore=shutil.ignore_patterns(".stamp"))
        for function in functions:
            shutil.copytree(BUILD / "lambda" / "task" / function.name, built / function.logical_id)
    layer = built / "CommonLayer"
    breakdown = _breakdown(layer / "python" if (layer / "python").is_dir() else layer)
    total = sum(breakdown.values())
    duplicates = sum(size for name, size in breakdown.items() if name in RUNTIME_PACKAGES)
    # Every module of the layer's source must be in the built layer (a build that copies smtphub/*.py
    # alone would drop its subpackages, and every function would fail its first import).
    shipped = layer / "python" / "smtphub"
    source = ROOT / "layers" / "common" / "smtphub"
    missing = sorted(
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if "__pycache__" not in path.parts and not (shipped / path.relative_to(source)).is_file()
    )
    result: dict[str, Any] = {
        "method": method,
        "layer": {
            "unzipped_mb": round(total / 1e6, 2),
            "zipped_mb": round(_zipped(layer) / 1e6, 2),
            "runtime_duplicates_mb": round(duplicates / 1e6, 2),
            "without_runtime_duplicates_mb": round((total - duplicates) / 1e6, 2),
            "largest": {name: round(size / 1e6, 2) for name, size in list(breakdown.items())[:8]},
            "missing_modules": missing,
            "met": total / 1e6 < MAX_LAYER_MB,
        },
        "own_layers": _own_layers(built, functions),
        "functions": {},
    }
    for function in functions:
        own = sum(p.stat().st_size for p in _files(function.folder) if p.suffix == ".py")
        package = built / function.logical_id
        package_bytes = sum(p.stat().st_size for p in _files(package)) if package.is_dir() else own
        result["functions"][function.name] = {
            "own_code_kb": round(own / 1000, 1),
            "package_kb": round(package_bytes / 1000, 1),
            "met": own / 1000 < MAX_OWN_CODE_KB,
        }
    return result


def _own_layers(built: Path, functions: tuple[Function, ...]) -> dict[str, Any]:
    """Each layer but the shared one: its size and the functions that carry it (nothing else loads it)."""
    found: dict[str, Any] = {}
    for name in layer_folders():
        folder = built / name
        if name == "CommonLayer" or not folder.is_dir():
            continue
        breakdown = _breakdown(folder / "python" if (folder / "python").is_dir() else folder)
        found[name] = {
            "unzipped_mb": round(sum(breakdown.values()) / 1e6, 2),
            "zipped_mb": round(_zipped(folder) / 1e6, 2),
            "largest": {package: round(size / 1e6, 2) for package, size in list(breakdown.items())[:4]},
            "functions": sorted(function.name for function in functions if name in function.layers),
        }
    return found
