"""Child processes the suites start (the local runtime, `make aws`)."""

from __future__ import annotations

import signal
import subprocess
import threading


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
