"""The local runtime's output: one line per line, whoever writes it.

The API's request threads, the stream pollers, the health schedule and the sink print to one stdout
(the functions' processes write their logs to it too). `print` writes a line and its newline separately,
so another line could land between them: `[api] GET ... (24 ms)[api] GET ... (1 ms)` on one line, which
failed tests/e2e/test_local_runtime_processes.py now and then under load. `local_runtime.say` writes both
at once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from local_runtime import say
from local_runtime.server import LocalHttpServer
from local_runtime.sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
# Threads printing at once, in a process whose stdout is unbuffered (as the tests run the runtime).
WRITERS = """
import sys, threading
from local_runtime import say
def run(n):
    for i in range(3000):
        say(f"[t{n}] line {i} " + "x" * 40)
threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
"""


class Recorder:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """sys.stdout replaced by a Recorder (in the test's body: pytest's capture sets it before each phase)."""
    recorder = Recorder()
    monkeypatch.setattr(sys, "stdout", recorder)
    return recorder


def test_a_line_and_its_newline_are_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = recorded(monkeypatch)
    say("[api] GET /api/test/probe -> 200 (ProbeFunction, 1 ms)")
    assert stdout.writes == ["[api] GET /api/test/probe -> 200 (ProbeFunction, 1 ms)\n"]


def test_the_api_and_the_sink_write_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = recorded(monkeypatch)
    server: Any = SimpleNamespace(quiet=False)
    LocalHttpServer.log(server, "GET /api/x -> 200")
    SmtpSink(port=0).out("=== SMTP sink: message ===")
    assert stdout.writes == ["[api] GET /api/x -> 200\n", "=== SMTP sink: message ===\n"]


def test_lines_from_many_threads_stay_whole() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WRITERS],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.split("\n")[:-1]
    assert len(lines) == 12000
    assert [line for line in lines if not re.fullmatch(r"\[t\d\] line \d+ x{40}", line)] == []
