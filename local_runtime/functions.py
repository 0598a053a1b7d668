"""Lambda functions in this process: each with its own environment, a context object and a time limit.

Functions share the process, so `os.environ` is swapped to a function's variables around each call. The
`EnvironmentGate` lets calls that need the same variables run side by side and makes a call that needs
other variables wait until those are done.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_runtime.cfn import ACCOUNT_ID, REGION
from local_runtime.loader import LambdaHandler, load_handler


class EnvironmentGate:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._current: frozenset[tuple[str, str]] | None = None
        self._active = 0
        self._waiting: Counter[frozenset[tuple[str, str]]] = Counter()

    def _may_enter(self, wanted: frozenset[tuple[str, str]]) -> bool:
        if self._active == 0:
            return True
        # Join the calls under way only while no call that needs other variables is waiting (no starvation).
        others = sum(count for variables, count in self._waiting.items() if variables != self._current)
        return self._current == wanted and others == 0

    @contextmanager
    def environment(self, variables: Mapping[str, str]) -> Iterator[None]:
        wanted = frozenset(variables.items())
        with self._condition:
            self._waiting[wanted] += 1
            try:
                self._condition.wait_for(lambda: self._may_enter(wanted))
            finally:
                self._waiting[wanted] -= 1
                if not self._waiting[wanted]:
                    del self._waiting[wanted]
            if self._current != wanted:
                for name in set(os.environ) - set(variables):
                    del os.environ[name]
                os.environ.update(variables)
                self._current = wanted
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()


@dataclass
class LambdaContext:
    """The context object Lambda hands a handler (what Powertools and handlers read of it)."""

    function_name: str
    memory_limit_in_mb: int
    timeout: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    deadline: float = 0.0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Outcome:
    """A call's result: `value` when it returned, `error` (the exception's message) when it raised."""

    value: Any = None
    error: str | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


class LocalFunction:
    def __init__(
        self,
        name: str,
        physical_name: str,
        code_dir: Path,
        handler: str,
        environment: Mapping[str, str],
        *,
        timeout: float,
        memory: int,
        gate: EnvironmentGate,
    ) -> None:
        self.name = name
        self.physical_name = physical_name
        self.code_dir = code_dir
        self.handler_name = handler
        self.environment = dict(environment)
        self.timeout = timeout
        self.memory = memory
        self.gate = gate
        self._handler: LambdaHandler | None = None
        self._load_lock = threading.Lock()

    def load(self) -> LambdaHandler:
        """Import the handler (Lambda's init phase), under the function's environment."""
        with self._load_lock:
            if self._handler is None:
                with self.gate.environment(self.environment):
                    self._handler = load_handler(str(self.code_dir), self.handler_name)
            return self._handler

    def invoke(self, event: Mapping[str, Any], limit: float | None = None) -> Outcome:
        """Call the handler in a thread of its own; past the function's timeout (or `limit`, when shorter,
        as API Gateway's 29 s) the call is abandoned: the thread finishes in the background."""
        done = threading.Event()
        result: list[Outcome] = []
        context = LambdaContext(self.physical_name, self.memory, self.timeout)
        timeout = min(self.timeout, limit) if limit else self.timeout

        def run() -> None:
            try:
                handler = self.load()
                with self.gate.environment(self.environment):
                    result.append(Outcome(value=handler(dict(event), context)))
            except Exception as error:
                traceback.print_exc(file=sys.stderr)
                result.append(Outcome(error=str(error) or type(error).__name__))
            finally:
                done.set()

        threading.Thread(target=run, name=f"lambda-{self.name}", daemon=True).start()
        if not done.wait(timeout):
            print(f"{self.name}: task timed out after {timeout:.0f} s", file=sys.stderr)
            return Outcome(timed_out=True)
        return result[0]
