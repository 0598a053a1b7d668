"""The parts of the layer's requirements that layers/common/excluded.txt removes are used by nothing.

Every function is imported, and the stream consumer's batch processing run once, in a fresh interpreter in
which those packages cannot be imported: a new use of either fails here rather than as a cold start.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXCLUDED = ROOT / "layers" / "common" / "excluded.txt"

PROGRAM = r"""
import importlib.abc, importlib.util, json, os, sys

blocked = json.loads(sys.argv[1])

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ImportError(f"{name} is excluded from the layer")
        return None

sys.meta_path.insert(0, Blocked())
os.environ.update(APPS_TABLE="a", SMTPS_TABLE="s", SECRET_PREFIX="p/", AWS_DEFAULT_REGION="us-east-1")
for folder in json.loads(sys.argv[2]):
    spec = importlib.util.spec_from_file_location(f"fn_{os.path.basename(folder)}", f"{folder}/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

from smtphub.smtps.cleanup import clean

class Secrets:
    def delete(self, smtp_id):
        return True

record = {"eventName": "REMOVE", "eventSource": "aws:dynamodb",
          "dynamodb": {"Keys": {"_id": {"S": "6741f0a2c3d4e5f6a7b8c9d0"}}, "SequenceNumber": "1"}}
print(json.dumps(clean({"Records": [record]}, Secrets())))
"""


def excluded_modules() -> list[str]:
    lines = [line.strip() for line in EXCLUDED.read_text().splitlines()]
    return [line.replace("/", ".") for line in lines if line and not line.startswith("#")]


def test_the_exclusions_are_the_two_packages_the_makefile_removes() -> None:
    assert excluded_modules() == ["aws_lambda_powertools.event_handler", "pydantic.v1"]
    assert "excluded.txt" in (ROOT / "layers" / "common" / "Makefile").read_text()


def without(blocked: list[str]) -> subprocess.CompletedProcess[str]:
    """Every function but the authorizer (its own package holds PyJWT's) imported, and the batch run, in a
    fresh interpreter where `blocked` cannot be imported."""
    folders = sorted(
        str(path.parent) for path in (ROOT / "functions").glob("*/app.py") if path.parent.name != "authorizer"
    )
    assert len(folders) >= 10
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(blocked), json.dumps(folders)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(ROOT / "layers" / "common"), "PATH": "/usr/bin:/bin"},
    )


def test_every_function_imports_and_the_batch_runs_without_the_excluded_packages() -> None:
    done = without(excluded_modules())
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}


def test_no_function_imports_cryptography_at_init() -> None:
    """cryptography is in the signing layer, attached only to the functions that may sign, and imported only
    when one signs (smtphub.serviceaccount.sign): every function imports, and the batch runs, without it,
    so no cold start pays for it."""
    done = without(["cryptography"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}


def test_the_block_itself_works() -> None:
    """The finder refuses what it is given (else the test above would prove nothing)."""
    program = PROGRAM.split("sys.meta_path.insert(0, Blocked())", maxsplit=1)[0] + (
        "sys.meta_path.insert(0, Blocked())\nimport pydantic.v1\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, json.dumps(["pydantic.v1"])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "pydantic.v1 is excluded from the layer" in done.stderr
