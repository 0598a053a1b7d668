"""Child processes the suites start (the local runtime, `make aws`): `python -m <module>` from the
repository, its output read line by line as it comes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from local_runtime.events import ROOT


def stop_process(process: subprocess.Popen[str], reader: threading.Thread) -> int:
    """SIGTERM, as Ctrl-C would (a kill after 15 s), then the output reader; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    reader.join(5)
    return process.returncode


class ModuleProcess:
    """`python -m module *args` in the repository with `environ`; its output lines (stdout and stderr)."""

    def __init__(self, module: str, args: list[str], environ: dict[str, str]) -> None:
        self.module = module
        self.process = subprocess.Popen(  # our own modules
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 10) -> str:
        """The first output line satisfying `predicate`, waiting for it (not once the process has ended)."""
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
        raise AssertionError(f"not in the output of {self.module}:\n{self.output[-6000:]}")

    def stop(self) -> int:
        return stop_process(self.process, self._reader)
