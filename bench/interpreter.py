"""Which Python the cold starts and the warm requests run under: the template's runtime (python3.13)
when this machine has it, else the bench's own (and the report says so). Both parts use the same one.

Bytecode is only used by the Python version that wrote it (its cache tag, e.g. cpython-313), so the
cold-start tree is compiled by the interpreter that then runs the cold-start processes, and every
cached part of it is stamped with that interpreter's version and path (`stamp`): a tree built for 3.11
is never reused under 3.13, nor the other way round.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

RUNTIME_VERSION = "3.13"  # the template's Runtime: python3.13


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # "3.13.0"
    cache_tag: str  # "cpython-313"
    note: str  # how it was chosen (a fallback says so)

    @property
    def short(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def is_runtime(self) -> bool:
        return self.short == RUNTIME_VERSION

    def stamp(self) -> str:
        """What a build made with this interpreter is valid for."""
        return f"python {self.version} {self.cache_tag} at {self.path}"


def _probe(path: str) -> Interpreter | None:
    try:
        done = subprocess.run(
            [
                path,
                "-c",
                "import json, sys; print(json.dumps([sys.executable, sys.version.split()[0], "
                "sys.implementation.cache_tag]))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    executable, version, tag = json.loads(done.stdout)
    return Interpreter(path=executable or path, version=version, cache_tag=tag, note="")


def _candidates() -> list[Path]:
    """pyenv's 3.13 installs first (its shim may point at another version), then python3.13 on PATH."""
    found: list[Path] = []
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=False)
        roots.insert(0, done.stdout.strip() if done.returncode == 0 else None)
    for root in dict.fromkeys(r for r in roots if r):
        found += sorted(
            Path(root, "versions").glob(f"{RUNTIME_VERSION}*/bin/python{RUNTIME_VERSION}"), reverse=True
        )
    on_path = shutil.which(f"python{RUNTIME_VERSION}")
    if on_path:
        found.append(Path(on_path))
    return found


@cache
def python313() -> Interpreter | None:
    """A working python3.13, or None."""
    for candidate in _candidates():
        interpreter = _probe(str(candidate))
        if interpreter is not None and interpreter.short == RUNTIME_VERSION:
            return Interpreter(
                path=str(candidate),
                version=interpreter.version,
                cache_tag=interpreter.cache_tag,
                note=f"python{RUNTIME_VERSION} (the template's runtime): {candidate}",
            )
    return None


def this_python(why: str) -> Interpreter:
    """The interpreter running the bench, with the reason it stands in for the runtime's."""
    version = sys.version.split()[0]
    return Interpreter(
        path=sys.executable,
        version=version,
        cache_tag=sys.implementation.cache_tag or "",
        note=f"{why}: this machine's Python {version}, not the runtime's (figures may differ in Lambda)",
    )


@cache
def cold() -> Interpreter:
    """The interpreter for the cold-start processes: python3.13, else this one, with a note."""
    found = python313()
    if found is not None:
        return found
    return this_python(f"no python{RUNTIME_VERSION} found (pyenv or PATH)")


def warm() -> Interpreter:
    """The interpreter for the warm-overhead processes: the cold starts' (the same choice, the same tree)."""
    return cold()
