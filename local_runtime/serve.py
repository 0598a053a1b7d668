"""Run a LocalRuntime in the foreground until SIGINT or SIGTERM: the one loop of `make run` and `make aws`."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

from local_runtime.cfn import TemplateError
from local_runtime.runtime import LocalRuntime
from local_runtime.sink import PortInUse


def serve(runtime: LocalRuntime, command: str, hints: Mapping[str, str], ready: Callable[[], str]) -> int:
    """Start `runtime`, print `ready()` (the banner), wait for a signal, stop; the process's exit code.

    A port in use names the variable that moves it (`hints`: what is in use -> variable) and `command`.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runtime.start()
    except PortInUse as error:
        hint = hints.get(error.what, "SMTP_SINK_PORT")
        print(f"error: {error} (another `{command}`? choose another with {hint}=...)", file=sys.stderr)
        return 1
    except (TemplateError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        print(ready(), flush=True)
        while not stop.wait(0.5):
            pass
        print("stopping...", flush=True)
    finally:
        runtime.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped.", flush=True)
    return 0
