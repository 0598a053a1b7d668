"""Inside the execution environments: the zygote process and the worker processes it forks.

`make run` gives every function its own processes, as Lambda gives it execution environments. Starting a
fresh interpreter per environment would cost a second of CPU each (boto3, pydantic), so the runtime forks
one *zygote* as the very first thing it does (one thread, no socket open yet: see
`functions.ExecutionEnvironments`). The zygote imports the libraries every function shares (`PRELOAD`:
third-party code whose import reads no environment variable), then waits on its control socket. For each
new execution environment the runtime asks it to fork a *worker*, which becomes the function's
environment: its variables (exactly the function's), `sys.path` (the function's folder first, as
/var/task), its folder as working directory, and then Lambda's init phase: the handler's module is
imported, in this process only. The worker answers one invocation at a time on its own channel until the
runtime closes it or the zygote kills it (the function's Timeout).

Whatever the runtime process changed before the fork is inherited (a test's network guard, say). The
zygote and its workers have a process group of their own (Ctrl-C in the terminal reaches only the
runtime, which stops them) and die with their parent (PR_SET_PDEATHSIG), so a killed runtime leaves none.

Frames on a channel: a 4-byte big-endian length, then that many bytes of JSON.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import datetime
import decimal
import importlib
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
import uuid
from collections.abc import Mapping
from typing import Any, NoReturn

# Imported once by the zygote, shared by every worker it forks (copy-on-write). Not the layer's own
# code (smtphub), nor a library that reads a variable at import (aws_lambda_powertools reads
# AWS_EXECUTION_ENV): those are imported by each worker under its function's environment.
PRELOAD = (
    "boto3",
    "botocore.session",
    "botocore.client",
    "botocore.parsers",
    "botocore.serialize",
    "botocore.endpoint",
    "pydantic",
    "jwt",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "email.message",
    "email.parser",
    "smtplib",
    "ssl",
    "zoneinfo",
)
# The services whose botocore data is parsed once for the runtime and every worker: smtphub.aws's
# clients, and the runtime's own (moto's tables, pool and streams).
SHARED_SERVICE_DATA = ("dynamodb", "secretsmanager", "cognito-idp", "sqs", "events", "dynamodbstreams")
_HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024
_PR_SET_PDEATHSIG = 1


class Timeout(Exception):
    """No complete frame before the deadline (what was read so far is kept for the next call)."""


def _json_default(value: Any) -> Any:
    """What Lambda's JSON serialisation turns into strings and numbers."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=_json_default).encode("utf-8")


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(len(payload)))
    sock.sendall(payload)


class FrameReader:
    """Frames from a stream socket, each read before a deadline (None: wait as long as it takes)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()

    def read(self, deadline: float | None = None) -> Any:
        """The next frame's JSON; raises Timeout at the deadline and EOFError when the peer is gone."""
        while True:
            if len(self._buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self._buffer)
                if size > MAX_FRAME:
                    raise EOFError(f"a frame of {size} bytes")
                if len(self._buffer) >= _HEADER.size + size:
                    payload = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
                    del self._buffer[: _HEADER.size + size]
                    return json.loads(payload)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Timeout
                self.sock.settimeout(remaining)
            else:
                self.sock.settimeout(None)
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                raise Timeout from None
            except OSError as error:
                raise EOFError(str(error)) from None
            if not chunk:
                raise EOFError("the peer closed the channel")
            self._buffer += chunk


def _die_with_parent(parent: int) -> None:
    """SIGKILL when the parent dies (Linux); and gone already if it died before this call."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)


# --- the zygote ---------------------------------------------------------------------------------------


def zygote(control: socket.socket, parent: int) -> NoReturn:
    """Preload, then fork a worker for each `spawn` request and kill one on `kill`, until the runtime
    closes the control socket: then every worker is killed and the zygote exits."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _die_with_parent(parent)
    for module in PRELOAD:
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    children: set[int] = set()
    while True:
        readable, _, _ = select.select([control], [], [], 1.0)
        _reap(children)
        if not readable:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 20, 1)
        except OSError:
            break
        if not data:
            break
        request = json.loads(data)
        if request.get("op") == "spawn" and fds:
            pid = _fork_worker(control, fds[0], request["spec"])
            children.add(pid)
            control.send(encode({"pid": pid}))
        elif request.get("op") == "kill" and request.get("pid") in children:
            with contextlib.suppress(OSError):
                os.kill(int(request["pid"]), signal.SIGKILL)
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
    for pid in children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    os._exit(0)


def share_botocore_data() -> None:
    """botocore's data (endpoints, retry rules, the models of the services called here) parsed once, and
    that one loader handed to every botocore session this process and its forks make (as the test suite's
    conftest does). Called by the runtime before it forks the zygote: the runtime's own clients (moto's
    tables, pool and streams) and every worker's first client then cost milliseconds instead of a parse
    of the same JSON files (~100 ms a service). Nothing else changes."""
    import boto3  # noqa: PLC0415
    import botocore.loaders  # noqa: PLC0415
    import botocore.session  # noqa: PLC0415

    if getattr(botocore.session, "_shared_loader", None) is not None:
        return
    loader = botocore.loaders.create_loader()
    botocore.session.create_loader = lambda *args, **kwargs: loader
    botocore.session._shared_loader = loader
    session = boto3.session.Session(
        aws_access_key_id="parse-only",
        aws_secret_access_key="parse-only",  # noqa: S106 - no call is made  # nosec B106
        region_name="us-east-1",
    )
    for service in SHARED_SERVICE_DATA:  # clients that make no call: their data is what is kept
        session.client(service, endpoint_url="http://127.0.0.1:9")


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


def _fork_worker(control: socket.socket, channel_fd: int, spec: dict[str, Any]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    zygote_pid = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:  # the worker: never returns into the zygote's loop
        control.close()
        _die_with_parent(zygote_pid)
        serve(socket.socket(fileno=channel_fd), spec)
    finally:
        os._exit(1)


# --- a worker: one execution environment -------------------------------------------------------------


class LambdaContext:
    """The context object Lambda hands a handler (what Powertools and the handlers read of it)."""

    def __init__(self, spec: Mapping[str, Any], log_stream: str, remaining_ms: int, request_id: str) -> None:
        self.function_name = str(spec["function_name"])
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(spec["memory"])
        self.invoked_function_arn = str(spec["function_arn"])
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = log_stream
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _become(spec: Mapping[str, Any]) -> None:
    """The function's environment variables, import path and working directory, as Lambda sets them."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update({str(key): str(value) for key, value in spec["environment"].items()})
    sys.path[:] = [str(spec["code_dir"]), *(str(item) for item in spec["path"])]
    with contextlib.suppress(OSError):
        os.chdir(str(spec["code_dir"]))
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)


def serve(channel: socket.socket, spec: Mapping[str, Any]) -> NoReturn:
    """Init (import the handler), say so, then answer invocations until the channel closes."""
    started = time.perf_counter()
    _become(spec)
    module_name, _, attribute = str(spec["handler"]).rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name or "app"), attribute)
    except Exception as error:  # Lambda's Runtime.ImportModuleError / HandlerNotFound
        traceback.print_exc(file=sys.stderr)
        kind = "Runtime.HandlerNotFound" if isinstance(error, AttributeError) else "Runtime.ImportModuleError"
        send_frame(channel, encode({"ready": False, "errorType": kind, "errorMessage": f"{error}"}))
        os._exit(1)
    init_ms = (time.perf_counter() - started) * 1000
    send_frame(channel, encode({"ready": True, "initMs": init_ms}))
    log_stream = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
    reader = FrameReader(channel)
    while True:
        try:
            message = reader.read()
        except EOFError:
            os._exit(0)
        context = LambdaContext(spec, log_stream, int(message["remainingMs"]), str(message["requestId"]))
        send_frame(channel, _invoke(handler, message["event"], context))


def _invoke(handler: Any, event: Any, context: LambdaContext) -> bytes:
    try:
        value = handler(event, context)
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        return encode({"errorMessage": str(error) or type(error).__name__, "errorType": type(error).__name__})
    try:
        return encode({"value": value})
    except (TypeError, ValueError) as error:
        message = f"Unable to marshal response: {error}"
        print(f"Runtime.MarshalError: {message}", file=sys.stderr)
        return encode({"errorMessage": message, "errorType": "Runtime.MarshalError"})
