"""Lambda functions as Lambda runs them: each in execution environments of its own, one process each.

A function's environments are worker processes (`local_runtime.worker`) forked by the zygote that
`ExecutionEnvironments.start()` forks off this process before it starts any thread. Each has exactly the
function's environment variables and its own module state. The first call finds none and starts one (a
*cold start*: fork, then Lambda's init phase, the handler's import; its duration is in the call's
`Outcome.cold_start_ms` and on the request line); a warm one is reused, most recently used first. A
function has at most `concurrency` environments (LOCAL_CONCURRENCY, at most its
ReservedConcurrentExecutions): one call each at a time, and a call beyond them waits for one to be free
(within its caller's limit). A call still running at the function's Timeout has its environment killed;
the next call starts a new one. Functions never wait on each other.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_runtime import worker
from local_runtime.cfn import ACCOUNT_ID, REGION

DEFAULT_CONCURRENCY = 4  # LOCAL_CONCURRENCY: execution environments per function
INIT_TIMEOUT_SECONDS = 10  # Lambda's limit on the init phase
_SEND_TIMEOUT_SECONDS = 30


class EnvironmentsUnavailable(RuntimeError):
    """The zygote is gone (stopped, or killed): no new execution environment can start."""


class ExecutionEnvironments:
    """The zygote: forks a worker process per execution environment, kills one on request."""

    def __init__(self, *, share_botocore_data: bool = True) -> None:
        self.share_botocore_data = share_botocore_data
        self._control: socket.socket | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._control is not None

    def start(self) -> None:
        """Fork the zygote now. Call it before this process starts a thread or opens a socket: the zygote
        is a copy of this process as it is, and a fork keeps only the thread that makes it."""
        if self._control is not None:
            return
        if self.share_botocore_data:
            with contextlib.suppress(Exception):  # an optimisation only: without it, each parses its own
                worker.share_botocore_data()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the zygote's side, in the child
            try:
                ours.close()
                worker.zygote(theirs, parent)
            finally:
                os._exit(1)
        theirs.close()
        self._pid, self._control = pid, ours

    def spawn(self, spec: Mapping[str, Any]) -> tuple[int, socket.socket]:
        """A new worker for `spec`: its pid and the runtime's end of its channel."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                if self._control is None:
                    raise EnvironmentsUnavailable("the local runtime is stopping")
                try:
                    socket.send_fds(
                        self._control, [worker.encode({"op": "spawn", "spec": dict(spec)})], [theirs.fileno()]
                    )
                    reply = self._control.recv(65536)
                except OSError as error:
                    raise EnvironmentsUnavailable(f"the zygote is gone: {error}") from None
            if not reply:
                raise EnvironmentsUnavailable("the zygote is gone")
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return int(json.loads(reply)["pid"]), ours

    def kill(self, pid: int) -> None:
        with self._lock, contextlib.suppress(OSError):
            if self._control is not None:
                self._control.send(worker.encode({"op": "kill", "pid": pid}))

    def stop(self) -> None:
        """Close the control socket: the zygote kills every worker and exits."""
        with self._lock:
            control, self._control = self._control, None
        if control is not None:
            control.close()
        pid, self._pid = self._pid, None
        if pid is None:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return
            time.sleep(0.02)
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
            os.waitpid(pid, 0)


@dataclass(frozen=True)
class Outcome:
    """A call's result: `value` when it returned, `error` (the exception's message) when it raised."""

    value: Any = None
    error: str | None = None
    timed_out: bool = False
    cold_start_ms: float | None = None  # the environment was started for this call, in that long

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


class _InitFailed(Exception):
    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class Environment:
    """One execution environment of a function: a worker process and the runtime's end of its channel."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.channel = channel
        self.reader = worker.FrameReader(channel)
        self.cold_start_ms = 0.0

    def send(self, payload: bytes) -> None:
        self.channel.settimeout(_SEND_TIMEOUT_SECONDS)
        worker.send_frame(self.channel, payload)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.close()


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
        environments: ExecutionEnvironments,
        concurrency: int = DEFAULT_CONCURRENCY,
        log: Any = None,
    ) -> None:
        self.name = name
        self.physical_name = physical_name
        self.code_dir = code_dir
        self.handler_name = handler
        self.environment = dict(environment)
        self.timeout = timeout
        self.memory = memory
        self.environments = environments
        self.concurrency = max(1, concurrency)
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._idle: list[Environment] = []
        self._live = 0
        self._condition = threading.Condition()
        self._closed = False

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.physical_name}"

    @property
    def live(self) -> int:
        """Execution environments started and not ended (busy or idle)."""
        return self._live

    def check(self) -> None:
        """What Lambda's init phase would refuse, without importing anything: the handler's module must
        exist, compile, and define the handler (a broken import shows on the first call)."""
        module, _, attribute = self.handler_name.rpartition(".")
        path = self.code_dir / f"{module.replace('.', '/')}.py"
        if not path.is_file():
            raise ImportError(f"no module {module!r} in {self.code_dir}")
        tree = ast.parse(path.read_bytes(), filename=str(path))
        defined = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        } | {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        if attribute not in defined:
            raise AttributeError(f"{path.name} defines no {attribute}")

    # --- execution environments -----------------------------------------------------------------------
    def _spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "function_name": self.physical_name,
            "function_arn": self.arn,
            "memory": self.memory,
            "handler": self.handler_name,
            "code_dir": str(self.code_dir),
            "path": [item for item in sys.path if item],
            "environment": self.environment,
        }

    def _acquire(self, deadline: float) -> tuple[Environment | None, bool]:
        """A warm environment, or a new one (cold), or None when none was free before the deadline."""
        with self._condition:
            while True:
                if self._closed:
                    raise EnvironmentsUnavailable("the local runtime is stopping")
                if self._idle:
                    return self._idle.pop(), False
                if self._live < self.concurrency:
                    self._live += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, False
                self._condition.wait(remaining)
        try:
            return self._start(deadline), True
        except BaseException:
            self._release(None)
            raise

    def _start(self, deadline: float) -> Environment:
        started = time.perf_counter()
        pid, channel = self.environments.spawn(self._spec())
        environment = Environment(pid, channel)
        try:
            ready = environment.reader.read(min(deadline, time.monotonic() + INIT_TIMEOUT_SECONDS))
        except worker.Timeout:
            self._end(environment)
            raise _InitFailed(f"{self.name}: init did not finish in time", timed_out=True) from None
        except EOFError:
            self._end(environment)
            raise _InitFailed("Runtime.ExitError: the environment exited during init") from None
        if not ready.get("ready"):
            self._end(environment)
            raise _InitFailed(f"{ready.get('errorType')}: {ready.get('errorMessage')}")
        environment.cold_start_ms = (time.perf_counter() - started) * 1000
        return environment

    def _end(self, environment: Environment) -> None:
        self.environments.kill(environment.pid)
        environment.close()

    def _release(self, environment: Environment | None) -> None:
        """Back to the warm ones (None: it ended, its place is free)."""
        with self._condition:
            if environment is not None and not self._closed:
                self._idle.append(environment)
            else:
                if environment is not None:
                    self._end(environment)
                self._live -= 1
            self._condition.notify()

    def stop(self) -> None:
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._condition.notify_all()
        for environment in idle:
            self._end(environment)

    # --- invocations ----------------------------------------------------------------------------------
    def invoke(self, event: Mapping[str, Any], limit: float | None = None) -> Outcome:
        """Run the handler in one of the function's environments. The caller gets `timed_out` at the
        function's Timeout (the environment is killed) or after `limit` seconds (API Gateway's 29 s, which
        also counts a wait for a free environment and the cold start) when that comes first: the call then
        runs on to its Timeout with nobody waiting, as in AWS."""
        started = time.monotonic()
        caller_deadline = started + limit if limit else None
        found = self._environment(caller_deadline or started + self.timeout)
        if isinstance(found, Outcome):
            return found
        environment, cold_ms = found
        if caller_deadline is not None and time.monotonic() >= caller_deadline:
            self._release(environment)
            return Outcome(timed_out=True, cold_start_ms=cold_ms)
        # The Timeout counts from the handler's call (after the init phase, as in Lambda).
        function_deadline = time.monotonic() + self.timeout
        message = {"event": event, "requestId": str(uuid.uuid4()), "remainingMs": int(self.timeout * 1000)}
        try:
            environment.send(worker.encode(message))
        except (TypeError, ValueError) as error:
            self._release(environment)
            return Outcome(error=f"the event is not JSON: {error}", cold_start_ms=cold_ms)
        except OSError as error:
            self._end(environment)
            self._release(None)
            return Outcome(error=f"Runtime.ExitError: {error}", cold_start_ms=cold_ms)
        wait_until = function_deadline if caller_deadline is None else min(caller_deadline, function_deadline)
        outcome = self._answer(environment, wait_until, function_deadline)
        if outcome is None:  # the caller's limit came first: the call runs on without it
            threading.Thread(
                target=self._answer,
                args=(environment, function_deadline, function_deadline),
                name=f"lambda-{self.name}",
                daemon=True,
            ).start()
            return Outcome(timed_out=True, cold_start_ms=cold_ms)
        return Outcome(outcome.value, outcome.error, outcome.timed_out, cold_ms)

    def _environment(self, deadline: float) -> tuple[Environment, float | None] | Outcome:
        """An environment for a call and its cold start (None: it was warm), or the call's outcome."""
        try:
            environment, cold = self._acquire(deadline)
        except _InitFailed as failure:
            if failure.timed_out:
                self.log(str(failure))
                return Outcome(timed_out=True)
            return Outcome(error=str(failure))
        except EnvironmentsUnavailable as error:
            return Outcome(error=str(error))
        if environment is None:
            self.log(f"{self.name}: no execution environment free in time ({self.concurrency} busy)")
            return Outcome(timed_out=True)
        return environment, environment.cold_start_ms if cold else None

    def _answer(
        self, environment: Environment, wait_until: float, function_deadline: float
    ) -> Outcome | None:
        """The call's answer; None when `wait_until` comes before the answer and the function's deadline."""
        try:
            answer = environment.reader.read(wait_until)
        except worker.Timeout:
            if wait_until < function_deadline:
                return None
            self.log(
                f"{self.name}: task timed out after {self.timeout:.0f} s: environment killed "
                "(the next call starts a new one)"
            )
            self._end(environment)
            self._release(None)
            return Outcome(timed_out=True)
        except EOFError:
            self._end(environment)
            self._release(None)
            return Outcome(error="Runtime.ExitError: the environment exited during the call")
        self._release(environment)
        if "errorType" in answer:
            return Outcome(error=str(answer.get("errorMessage") or answer["errorType"]))
        return Outcome(value=answer.get("value"))


def concurrency_of(properties: Mapping[str, Any], local: int) -> int:
    """Environments a function may have: LOCAL_CONCURRENCY, capped by its ReservedConcurrentExecutions."""
    reserved = properties.get("ReservedConcurrentExecutions")
    try:
        cap = int(reserved) if reserved is not None else 0
    except (TypeError, ValueError):
        cap = 0
    return min(local, cap) if cap > 0 else local


def concurrency_setting(text: str | None) -> int:
    """LOCAL_CONCURRENCY: unset or empty for the default, else a whole number of at least 1."""
    if text is None or not text.strip():
        return DEFAULT_CONCURRENCY
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ValueError(f"LOCAL_CONCURRENCY must be a whole number of at least 1, not {text!r}")
    return int(value)
