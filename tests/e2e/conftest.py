"""`python -m local_runtime` as a subprocess on free ports, read through its output and driven over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from local_runtime import template
from local_runtime.events import ROOT
from tests.support.processes import stop_process

START_TIMEOUT = 60


class Running:
    """One local runtime process: its output lines (as they come), its API URL and sink port."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        environ = {k: v for k, v in os.environ.items() if k not in ("LOCAL_USERS", "PORT", "SMTP_SINK_PORT")}
        environ.update({"PYTHONUNBUFFERED": "1", **(env or {})})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_runtime", *args],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.api = ""
        self.sink_port = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 10) -> str:
        """The first output line satisfying `predicate`, waiting for it."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            lines = list(self.lines)
            for line in lines[seen:]:
                if predicate(line):
                    return line
            seen = len(lines)
            if self.process.poll() is not None and seen == len(self.lines):
                break
            time.sleep(0.05)
        raise AssertionError(f"not in the runtime's output:\n{self.output[-6000:]}")

    def wait_ready(self) -> Running:
        self.wait_for(lambda line: line == "Ctrl-C to stop.", START_TIMEOUT)
        self.api = re.search(r"smtp-hub is running on (\S+)", self.output).group(1)  # type: ignore[union-attr]
        self.sink_port = int(re.search(r"SMTP sink  [\d.]+:(\d+)", self.output).group(1))  # type: ignore[union-attr]
        return self

    def stop(self) -> int:
        return stop_process(self.process, self._reader)


@pytest.fixture(scope="module")
def runtime() -> Iterator[Running]:
    """`make run` as a newcomer gets it: the real template, the demo account, the sink."""
    running = Running(["--port", "0", "--sink-port", "0"])
    try:
        yield running.wait_ready()
    finally:
        code = running.stop()
    assert code == 0, running.output[-3000:]
    assert running.lines[-1] == "stopped."


@pytest.fixture(scope="module")
def session(runtime: Running) -> requests.Session:
    """A client that sends the demo account's token (or none when the template has no login)."""
    client = requests.Session()
    if has_route("POST", "/auth/login"):
        account = re.search(r"Account    (\S+)  password (\S+)", runtime.output)
        assert account, runtime.output
        reply = requests.post(
            f"{runtime.api}/auth/login",
            data={"username": account.group(1), "password": account.group(2)},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        client.headers["Authorization"] = f"Bearer {reply.json()['token']}"
    return client


# --- what the template declares ---------------------------------------------------------------------
def declared() -> dict[str, Any]:
    return template.load()


def has_route(method: str, path: str) -> bool:
    return any(r.method == method and r.path == path for r in template.routes(declared()))


def api_properties() -> dict[str, Any]:
    props: dict[str, Any] = declared()["Resources"]["Api"]["Properties"]
    return props


def has_authorizer() -> bool:
    return bool(api_properties().get("Auth", {}).get("DefaultAuthorizer"))


def gateway_status(kind: str, default: int) -> int:
    """The status API Gateway answers for `kind`, by the template's GatewayResponses (AWS's rules)."""
    responses = api_properties().get("GatewayResponses", {})
    fallback = responses.get("DEFAULT_5XX" if default >= 500 else "DEFAULT_4XX", {})
    spec = responses.get(kind) or fallback
    return int(spec.get("StatusCode") or default)


def copy_template(folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """template.yaml with code paths made absolute, changed by `change`, written into `folder`."""
    document = template.load()
    for resource in document["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = str(ROOT / props[key])
    change(document)
    path = folder / "template.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
