"""A local SMTP server that accepts every message and prints it: where `check` sends locally."""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller

from local_runtime import say

MAX_PRINTED_LINES = 60


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self.sink.receive(
            Received(str(envelope.mail_from), [str(rcpt) for rcpt in envelope.rcpt_tos], content)
        )
        return "250 OK: message received by the smtp-hub local sink"


def describe(message: Received) -> str:
    """What the sink prints for one message: envelope, then the message, headers first."""
    parsed = message_from_bytes(message.content, policy=policy.default)
    lines = [
        f"=== SMTP sink: message from {message.mail_from} to {', '.join(message.rcpt_tos)} ===",
        *(f"{name}: {value}" for name, value in parsed.items()),
        "",
    ]
    body = parsed.get_body(preferencelist=("plain", "html")) if parsed.is_multipart() else parsed
    text = body.get_content() if body is not None else ""
    body_lines = str(text).splitlines()
    lines += body_lines[:MAX_PRINTED_LINES]
    if len(body_lines) > MAX_PRINTED_LINES:
        lines.append(f"... ({len(body_lines) - MAX_PRINTED_LINES} more lines)")
    lines.append("=== end of message ===")
    return "\n".join(lines)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class PortInUse(OSError):
    def __init__(self, what: str, host: str, port: int) -> None:
        super().__init__(f"{what} port {host}:{port} is already in use")
        self.what, self.host, self.port = what, host, port


def ensure_free(what: str, host: str, port: int) -> None:
    """PortInUse when something listens on host:port (`what` names it), before a server that would not say
    so clearly is started there (aiosmtpd's controller, moto's thread).

    The probe binds with SO_REUSEADDR, as those servers' own sockets do on POSIX (asyncio's create_server,
    werkzeug's): a connection of the previous run left in TIME-WAIT (a check of the sink, a call to moto)
    does not keep them from listening, so it must not fail the probe either; a socket that still listens
    does, with or without the option."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if os.name == "posix":  # elsewhere (Windows) the option would let a bind take a live port
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(what, host, port) from None
            raise RuntimeError(f"{what} cannot listen on {host}:{port}: {error}") from None


class SmtpSink:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 2525, out: Callable[[str], None] | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.out = out or say
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        # What serves SMTP, and aiosmtpd's options: local_runtime.token_endpoint adds AUTH XOAUTH2.
        self.handler: Any = _Handler(self)
        self.options: dict[str, Any] = {}

    def receive(self, message: Received) -> None:
        with self._lock:
            self.messages.append(message)
        try:
            self.out(describe(message))
        except Exception as error:  # a message it cannot parse is still received
            self.out(f"=== SMTP sink: message from {message.mail_from} ({error}) ===")

    def start(self) -> None:
        ensure_free("SMTP sink", self.host, self.port)
        controller = Controller(
            self.handler, hostname=self.host, port=self.port, enable_SMTPUTF8=True, **self.options
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            try:
                self._controller.stop()
            except Exception as error:
                print(f"SMTP sink: {error}", file=sys.stderr)
            self._controller = None
