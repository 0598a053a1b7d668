"""SMTP peers on 127.0.0.1 for the check's tests, and helpers to run a check against them.

aiosmtpd plays well-behaved servers (plain, STARTTLS, implicit TLS, AUTH) and keeps every byte a
client sent (`Sink.wire`); certificates come from a trustme CA that the `trust_test_ca` fixture makes
the only one trusted (through SSL_CERT_FILE). Small socket servers (`running_raw`) play the badly
behaved ones: silent, slow-drip, endless banner, scripted. Nothing binds or connects anywhere but
127.0.0.1. The root conftest registers this module as a plugin, so its fixtures (`ca`,
`trust_test_ca`, `smtpd`, `raw`) are available to every test that asks for them.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from smtphub.check import CheckOutcome, Deadline, Limits, Plan, converse

USERNAME = "mailer@example.net"
PASSWORD = "Pw-s3cret-\u00e9-1234"  # non-ASCII on purpose
BOUND = 1.0  # the check's deadline in the tests that wait for it


# --- Well-behaved servers (aiosmtpd) ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    authenticated: bool

    @property
    def message(self) -> email.message.EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed


class Sink:
    """An aiosmtpd handler that keeps what it accepts (`nobody@...` is an unknown recipient) and, in
    `wire`, every byte clients sent (decrypted over TLS), so a test can prove what was never sent."""

    def __init__(self, data_reply: str = "250 2.0.0 Ok: queued as 4F1A2B") -> None:
        self.received: list[Received] = []
        self.data_reply = data_reply
        self.wire = bytearray()

    @property
    def commands(self) -> list[str]:
        """The lines clients sent, in order (message contents included)."""
        lines = bytes(self.wire).decode("utf-8", "replace").split("\r\n")
        return [line for line in lines if line]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
                session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                session.authenticated,
            )
        )
        return self.data_reply


class WireSMTP(SMTP):
    """aiosmtpd's server, keeping what clients send in its handler's `wire` before handling it."""

    def data_received(self, data: bytes) -> None:
        self.event_handler.wire += data
        super().data_received(data)


class WireController(Controller):
    def factory(self) -> SMTP:
        return WireSMTP(self.handler, **self.SMTP_kwargs)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    port: int
    sink: Sink


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trust_test_ca(ca, tmp_path_factory, monkeypatch):
    """The check trusts the system store, which SSL_CERT_FILE replaces: here, with the test CA only."""
    path = tmp_path_factory.getbasetemp() / "test-ca.pem"
    if not path.exists():
        ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@contextlib.contextmanager
def running_smtpd(sink: Sink | None = None, **options: Any) -> Iterator[Server]:
    """aiosmtpd on 127.0.0.1 (options go to aiosmtpd's SMTP: tls_context, require_starttls, ...)."""
    sink = sink or Sink()
    options.setdefault("authenticator", authenticator)
    options.setdefault("auth_require_tls", False)
    port = free_port()
    controller = WireController(sink, hostname="127.0.0.1", port=port, server_hostname="mx.test", **options)
    controller.start()
    try:
        yield Server(port, sink)
    finally:
        controller.stop()


@pytest.fixture
def smtpd() -> Iterator[Callable[..., Server]]:
    with contextlib.ExitStack() as stack:
        yield lambda sink=None, **options: stack.enter_context(running_smtpd(sink, **options))


# --- Badly behaved servers (raw sockets) --------------------------------------------------------------

Behaviour = Callable[[socket.socket, threading.Event, list[bytes]], None]


@dataclass
class RawServer:
    port: int
    connections: list[int] = field(default_factory=lambda: [0])
    lines: list[bytes] = field(default_factory=list)  # what clients sent (scripted servers)

    @property
    def accepted(self) -> int:
        return self.connections[0]


@contextlib.contextmanager
def running_raw(behaviour: Behaviour) -> Iterator[RawServer]:
    """A TCP server on 127.0.0.1 that runs `behaviour(conn, stop, lines)` for each connection."""
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    server = RawServer(listener.getsockname()[1])

    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            behaviour(conn, stop, server.lines)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            server.connections[0] += 1
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.fixture
def raw() -> Iterator[Callable[[Behaviour], RawServer]]:
    with contextlib.ExitStack() as stack:
        yield lambda behaviour: stack.enter_context(running_raw(behaviour))


def silent(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
    stop.wait(10)


def slow_drip(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
    conn.sendall(b"220-")
    while not stop.wait(0.02):
        conn.sendall(b"x")


def huge_banner(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
    conn.sendall(b"220 " + b"x" * 100_000)
    stop.wait(10)


def endless_banner(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
    while not stop.is_set():
        conn.sendall(b"220-still talking\r\n" * 50)


ScriptReply = str | Callable[[bytes], str]
MESSAGE = "<message>"  # a step that reads the whole message, up to the line with a lone dot


def scripted(greeting: str, *steps: tuple[str, ScriptReply]) -> Behaviour:
    """Greet, then for each step read one line (it must start with the step's command) and reply."""

    def behaviour(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
        reader = conn.makefile("rb")
        conn.sendall(greeting.encode() + b"\r\n")
        for expected, reply in steps:
            line = reader.readline()
            lines.append(line)
            while expected == MESSAGE and line not in (b".\r\n", b""):
                line = reader.readline()
            if expected != MESSAGE and not line.upper().startswith(expected.upper().encode()):
                conn.sendall(b"500 unexpected\r\n")
                return
            text = reply(line) if callable(reply) else reply
            if text:
                conn.sendall(text.encode() + b"\r\n")
        stop.wait(10)

    return behaviour


# --- Running a check ----------------------------------------------------------------------------------


def plan(port: int, **changes: Any) -> Plan:
    """A check of 127.0.0.1:`port`; with auth=True, USERNAME and PASSWORD unless given."""
    values: dict[str, Any] = {
        "smtp_id": "6741f0b7d1e2f3a4b5c6d7e8",
        "app_id": "6741f0a2c3d4e5f6a7b8c9d0",
        "app_name": "Caf\u00e9 shop",
        "host": "127.0.0.1",
        "port": port,
        "sender": "info@example.net",
        "sender_name": "\u00c9quipe Info",
        "recipient": "ops@example.org",
    }
    values.update(changes)
    if values.get("auth"):
        values.setdefault("username", USERNAME)
        values.setdefault("password", PASSWORD)
    return Plan(**values)


def run(the_plan: Plan, *, total: float = 3.0, allow_private: bool = True) -> CheckOutcome:
    return converse(
        the_plan, limits=Limits.within(total), deadline=Deadline(total), allow_private=allow_private
    )


def timed(the_plan: Plan, total: float = BOUND) -> tuple[CheckOutcome, float]:
    started = time.monotonic()
    outcome = run(the_plan, total=total)
    return outcome, time.monotonic() - started


def credential_forms() -> list[bytes]:
    """What of USERNAME and PASSWORD may not cross a clear connection, in any form AUTH would use."""
    user, secret = USERNAME.encode(), PASSWORD.encode()
    return [
        secret,
        base64.b64encode(secret),
        base64.b64encode(b"\0" + user + b"\0" + secret),
        base64.b64encode(user),  # AUTH LOGIN's first answer
    ]


def assert_failed(outcome: CheckOutcome, stage: str, code: int | None = None) -> None:
    assert not outcome.ok, outcome
    assert (outcome.stage, outcome.code) == (stage, code), outcome
    assert outcome.message
    assert PASSWORD not in outcome.message
