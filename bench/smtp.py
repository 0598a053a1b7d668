"""A local SMTP server (aiosmtpd on 127.0.0.1) for the check, and the bare smtplib session beside it."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

USERNAME = "bench-user"
PASSWORD = "bench-smtp-password-1234"
SENDER = "info@example.net"
RECIPIENT = "ops@example.net"


def check_environment() -> dict[str, str]:
    """The check may talk to 127.0.0.1 (the template allows only public addresses)."""
    return {"ALLOW_PRIVATE_ADDRESSES": "true"}


@dataclass
class Mail:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(delay: float = 0.0) -> Iterator[Mail]:
    """aiosmtpd with AUTH PLAIN/LOGIN (without TLS: loopback only), keeping what it receives.

    With `delay` (seconds) it waits that long before each reply, greeting included, as a remote server
    is that far away.
    """
    import asyncio
    import logging

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult

    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's own deprecation chatter

    mail = Mail("127.0.0.1", _free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mail.messages.append(envelope)
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        login = getattr(auth_data, "login", b"")
        password = getattr(auth_data, "password", b"")
        return AuthResult(success=login == USERNAME.encode() and password == PASSWORD.encode())

    class Slow(SMTP):
        async def push(self, status: Any) -> None:
            await asyncio.sleep(delay)
            await super().push(status)

    class Paced(Controller):
        def factory(self) -> SMTP:
            return Slow(self.handler, **self.SMTP_kwargs) if delay else super().factory()

    controller = Paced(
        Handler(),
        hostname=mail.host,
        port=mail.port,
        authenticator=authenticator,
        auth_require_tls=False,
        ready_timeout=10,
    )
    controller.start()
    try:
        yield mail
    finally:
        controller.stop()


def bare_session(host: str, port: int, *, auth: bool = True) -> float:
    """The same conversation with smtplib: connect, EHLO, AUTH, MAIL, RCPT, DATA, QUIT. Seconds.

    Building a comparable message (the check's headers: From, To, Subject, Date, Message-ID) is
    timed too: the check builds its own on every call.
    """
    from email.utils import formatdate, make_msgid

    started = time.perf_counter()
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = RECIPIENT
    message["Subject"] = "smtp-hub test message"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="smtp-hub.local")
    message.set_content("This is a test message sent by smtp-hub to check an SMTP server.\n")
    with smtplib.SMTP(host, port, local_hostname="smtp-hub.local", timeout=10) as client:
        client.ehlo()
        if auth:
            client.login(USERNAME, PASSWORD)
        client.send_message(message, from_addr=SENDER, to_addrs=[RECIPIENT])
    return time.perf_counter() - started
