"""POST /private/smtps/check: one real test e-mail through an SMTP server, safe and bounded.

`CheckService.check` reads the server and its app (and, when the server uses AUTH, its password,
concurrently with the app), runs `converse`, records the outcome with one conditional UpdateItem,
emits one metric and one log line, and raises `CheckFailed` (406) on a failed check.

`converse` is a small SMTP client rather than smtplib, so that every byte read is under one
deadline (a silent server, one that drips a byte at a time, or one that sends an endless banner all
end in time) and every failure is known by its stage:

    DNS      resolve the host once; refuse non-public addresses (smtphub.netguard)
    CONNECT  TCP connect to a checked address, then the 220 greeting
    TLS      implicit TLS (sslTls) or STARTTLS (starttls); certificate and host name verified
    EHLO     EHLO (HELO if the server does not know EHLO), again after STARTTLS
    AUTH     PLAIN, LOGIN or CRAM-MD5, when auth is on
    MAIL     MAIL FROM
    RCPT     RCPT TO the app's testemail
    DATA     DATA, the message, the 250 that accepts it (then QUIT, whose answer does not matter)

Messages are short, say what to do, and never contain the password: replies to AUTH are not
quoted at all, and any other server text is scrubbed of the password and its encodings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid
from typing import Any, NoReturn

from smtphub import netguard
from smtphub.errors import BadRequest, CheckFailed, Conflict, SmtpNotFound
from smtphub.ids import now_iso
from smtphub.models import App, Smtp
from smtphub.observability import logger
from smtphub.repositories import AppRepository, SecretRepository, SmtpRepository
from smtphub.settings import get_settings

DNS = "DNS"
CONNECT = "CONNECT"
TLS = "TLS"
EHLO = "EHLO"
AUTH = "AUTH"
MAIL = "MAIL"
RCPT = "RCPT"
DATA = "DATA"
STAGES = (DNS, CONNECT, TLS, EHLO, AUTH, MAIL, RCPT, DATA)

METRIC = "SmtpCheck"
MAX_SERVER_TEXT = 160
MAX_TRANSCRIPT = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


# --- Limits --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds of one check. Each wait is also cut to what is left of `total`."""

    total: float = 20.0
    dns: float = 5.0  # the lookup
    connect: float = 5.0  # each TCP connect (one per address tried)
    reply: float = 10.0  # each complete reply, however it trickles in
    max_line: int = 2048  # bytes in one reply line (RFC 5321 allows 512)
    max_reply_lines: int = 100

    @classmethod
    def within(cls, total: float) -> Limits:
        return cls(total=total, dns=min(5.0, total), connect=min(5.0, total), reply=min(10.0, total))


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()
        self.end = self.start + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def elapsed_ms(self) -> int:
        return round((time.monotonic() - self.start) * 1000)


# --- What to send, and what came of it -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one check needs; built from the stored server, its app and its password."""

    smtp_id: str
    app_id: str
    app_name: str
    host: str
    port: int
    sender: str
    recipient: str
    sender_name: str | None = None
    ssltls: bool = False
    starttls: bool = False
    auth: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    debug: bool = False


@dataclass(slots=True)
class Outcome:
    ok: bool
    stage: str | None
    code: int | None
    message: str
    ms: int = 0
    timings: dict[str, int] = field(default_factory=dict)
    transcript: list[str] | None = None

    def lastcheck(self, at: str) -> dict[str, Any]:
        return {
            "at": at,
            "ok": self.ok,
            "stage": self.stage,
            "code": self.code,
            "message": self.message,
            "ms": self.ms,
        }


class StageFailure(Exception):
    def __init__(self, stage: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    lines: tuple[str, ...]


# --- The SMTP client -----------------------------------------------------------------------------


class Scrubber:
    """Server text made safe to show: one line, bounded, without the password in any usual encoding."""

    def __init__(self, username: str | None, password: str | None) -> None:
        self.secrets: list[str] = []
        if password:
            user = (username or "").encode()
            raw = password.encode()
            self.secrets = [
                password,
                base64.b64encode(raw).decode(),
                base64.b64encode(b"\0" + user + b"\0" + raw).decode(),
            ]

    def __call__(self, text: str) -> str:
        text = _CONTROL.sub(" ", text).strip()
        for value in self.secrets:
            text = text.replace(value, "***")
        return text[:MAX_SERVER_TEXT] + ("..." if len(text) > MAX_SERVER_TEXT else "")


class Session:
    """One SMTP conversation over one socket, every read and write under the check's deadline."""

    def __init__(self, plan: Plan, limits: Limits, deadline: Deadline, scrub: Scrubber) -> None:
        self.plan = plan
        self.limits = limits
        self.deadline = deadline
        self.scrub = scrub
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.stage = DNS
        self.tls = False
        self.extensions: dict[str, str] = {}
        self.timings: dict[str, int] = {}
        self.transcript: list[str] = []
        self._stage_started = time.monotonic()

    # stages and failures

    def enter(self, stage: str) -> None:
        now = time.monotonic()
        self.timings[self.stage] = self.timings.get(self.stage, 0) + round((now - self._stage_started) * 1000)
        self.stage, self._stage_started = stage, now

    def fail(self, message: str, code: int | None = None) -> NoReturn:
        raise StageFailure(self.stage, message, code)

    def refused(self, reply: Reply, what: str, hint: str = "") -> NoReturn:
        text = self.scrub(" ".join(reply.lines))
        self.fail(f"{what} ({reply.code}{' ' + text if text else ''}){hint}", reply.code)

    def note(self, line: str) -> None:
        if self.plan.debug and len(self.transcript) < MAX_TRANSCRIPT:
            self.transcript.append(line)

    def wait(self, cap: float) -> float:
        """A socket timeout: `cap`, cut to what is left of the deadline (failing when nothing is)."""
        left = self.deadline.remaining()
        if left <= 0:
            self.fail(f"The check ran out of time ({self.limits.total:g} s)")
        return min(cap, left)

    # bytes

    def connect(self, addresses: list[netguard.Address]) -> None:
        problems: list[str] = []
        for address in addresses:
            sock = socket.socket(address.family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.wait(self.limits.connect))
                sock.connect(address.sockaddr)
            except StageFailure:
                sock.close()
                raise
            except TimeoutError:
                sock.close()
                problems.append("timed out")
            except ConnectionRefusedError:
                sock.close()
                problems.append("connection refused")
            except OSError as error:
                sock.close()
                problems.append(error.strerror or type(error).__name__)
            else:
                self.sock = sock
                return
            if self.deadline.remaining() <= 0:
                break
        hint = ""
        if "connection refused" in problems:
            hint = ": nothing accepts connections on that port; check the host and port"
        elif "timed out" in problems:
            hint = ": a firewall may be dropping the connection"
            if self.plan.port == 25:
                hint += " (AWS Lambda blocks outbound port 25: use the submission port 587 or 465)"
        reasons = ", ".join(dict.fromkeys(problems)) or "no address left to try"
        self.fail(f"Could not connect to {self.plan.host} port {self.plan.port} ({reasons}){hint}")

    def start_tls(self, context: ssl.SSLContext) -> None:
        assert self.sock is not None  # nosec B101  # narrows the type; connect() set it (under -O: AttributeError)
        self.sock.settimeout(self.wait(self.limits.reply))
        try:
            self.sock = context.wrap_socket(self.sock, server_hostname=self.plan.host)
        except ssl.SSLCertVerificationError as error:
            detail = error.verify_message or error.reason or "verification failed"
            self.fail(
                f"The server's certificate is not valid for {self.plan.host}: {detail}. "
                "Use a certificate from a public CA that names this host"
            )
        except TimeoutError:
            self.fail("The TLS handshake did not finish in time")
        except ssl.SSLError as error:
            hint = ""
            if error.reason in (
                "WRONG_VERSION_NUMBER",
                "RECORD_LAYER_FAILURE",
                "UNEXPECTED_EOF_WHILE_READING",
            ):
                hint = (
                    ": this port may not speak implicit TLS; use starttls instead of sslTls"
                    if self.plan.ssltls
                    else ""
                )
            self.fail(f"The TLS handshake failed ({error.reason or 'SSL error'}){hint}")
        except OSError as error:
            self.fail(f"The connection was lost during the TLS handshake ({error.strerror or 'error'})")
        self.tls = True
        self.buffer.clear()  # nothing sent in clear before the handshake may be trusted after it

    def send(self, line: str | bytes, shown: str | None = None) -> None:
        assert self.sock is not None  # nosec B101  # narrows the type; connect() set it (under -O: AttributeError)
        data = line if isinstance(line, bytes) else line.encode("utf-8") + b"\r\n"
        self.note("C: " + (shown if shown is not None else data.decode("utf-8", "replace").rstrip()))
        self.sock.settimeout(self.wait(self.limits.reply))
        try:
            self.sock.sendall(data)
        except TimeoutError:
            self.fail("The server stopped accepting data")
        except OSError as error:
            self.fail(f"The connection was lost ({error.strerror or type(error).__name__})")

    def _line(self, until: float) -> bytes:
        assert self.sock is not None  # nosec B101  # narrows the type; connect() set it (under -O: AttributeError)
        while True:
            end = self.buffer.find(b"\n")
            if end > self.limits.max_line or (end < 0 and len(self.buffer) > self.limits.max_line):
                self.fail(f"The server sent a reply line longer than {self.limits.max_line} bytes")
            if end >= 0:
                line = bytes(self.buffer[:end]).rstrip(b"\r")
                del self.buffer[: end + 1]
                return line
            left = min(until, self.deadline.end) - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                raise
            except OSError as error:
                reason = getattr(error, "reason", None) or error.strerror or type(error).__name__
                self.fail(f"The connection was lost ({reason})")
            if not chunk:
                self.fail("The server closed the connection")
            self.buffer += chunk

    def reply(self, what: str = "answer", hint: str = "") -> Reply:
        """One complete reply (all its lines), within `limits.reply` and the deadline."""
        started = time.monotonic()
        until = started + self.wait(self.limits.reply)
        lines: list[bytes] = []
        try:
            while True:
                line = self._line(until)
                if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
                    self.fail("The server's answer is not SMTP: check the host and port")
                lines.append(line)
                # Replies during AUTH may echo credentials in some encoding: only their codes are kept.
                shown = (
                    line[:4].decode("ascii") + "..."
                    if self.stage == AUTH
                    else line.decode("utf-8", "replace")
                )
                self.note("S: " + self.scrub(shown))
                if line[3:4] != b"-":
                    break
                if len(lines) >= self.limits.max_reply_lines:
                    self.fail(f"The server sent a reply of more than {self.limits.max_reply_lines} lines")
        except TimeoutError:
            waited = time.monotonic() - started
            if lines or self.buffer:
                self.fail(f"The server did not finish its {what} within {waited:.1f} s{hint}")
            self.fail(f"The server sent no {what} within {waited:.1f} s{hint}")
        text = tuple(line[4:].decode("utf-8", "replace") for line in lines)
        return Reply(int(lines[-1][:3]), text)

    def command(self, line: str, shown: str | None = None) -> Reply:
        self.send(line, shown)
        return self.reply()

    # SMTP

    def ehlo(self, name: str) -> None:
        reply = self.command(f"EHLO {name}")
        if reply.code in (500, 502, 504):  # a server without ESMTP
            reply = self.command(f"HELO {name}")
            self.extensions = {}
            if reply.code != 250:
                self.refused(reply, "The server refused HELO")
            return
        if reply.code != 250:
            self.refused(reply, "The server refused EHLO")
        self.extensions = {}
        for line in reply.lines[1:]:
            keyword, _, argument = line.strip().partition(" ")
            if keyword.upper().startswith("AUTH="):  # an old form some servers still send
                keyword, argument = "AUTH", keyword[5:] + " " + argument
            self.extensions[keyword.upper()] = (
                self.extensions.get(keyword.upper(), "") + " " + argument
            ).strip()

    def authenticate(self, username: str, password: str) -> None:
        offered = self.extensions.get("AUTH", "").upper().split()
        if "AUTH" not in self.extensions:
            hint = ""
            if not self.tls and "STARTTLS" in self.extensions:
                hint = "; it offers STARTTLS: turn starttls on, as most servers offer AUTH only over TLS"
            self.fail(f"The server does not offer AUTH{hint}, or turn auth off if it relays without it")
        user, secret = username.encode("utf-8"), password.encode("utf-8")
        if "PLAIN" in offered:
            token = base64.b64encode(b"\0" + user + b"\0" + secret).decode("ascii")
            reply = self.command(f"AUTH PLAIN {token}", "AUTH PLAIN ***")
            if reply.code == 334:
                reply = self.command(token, "***")
        elif "LOGIN" in offered:
            reply = self.command("AUTH LOGIN")
            if reply.code == 334:
                reply = self.command(base64.b64encode(user).decode("ascii"))
            if reply.code == 334:
                reply = self.command(base64.b64encode(secret).decode("ascii"), "***")
        elif "CRAM-MD5" in offered:
            reply = self.command("AUTH CRAM-MD5")
            if reply.code == 334:
                try:
                    challenge = base64.b64decode(reply.lines[-1].strip(), validate=True)
                except ValueError:
                    self.fail("The server sent a malformed CRAM-MD5 challenge")
                digest = hmac.new(secret, challenge, hashlib.md5).hexdigest()
                answer = base64.b64encode(user + b" " + digest.encode("ascii")).decode("ascii")
                reply = self.command(answer, "***")
        else:
            self.fail(
                f"None of the server's AUTH mechanisms ({' '.join(offered) or 'none'}) is supported "
                "(PLAIN, LOGIN, CRAM-MD5)"
            )
        if reply.code == 235:
            return
        # Replies to AUTH are never quoted: a server could echo what it was sent.
        messages = {
            535: "The server rejected the username or password",
            534: "The server wants another authentication method or an app-specific password",
            530: "The server requires encryption before AUTH: turn starttls or sslTls on",
            538: "The server requires encryption before AUTH: turn starttls or sslTls on",
            454: "The server could not authenticate right now (temporary failure): try again later",
        }
        self.fail(f"{messages.get(reply.code, 'The server refused AUTH')} ({reply.code})", reply.code)


def _ehlo_name(sender: str) -> str:
    """What to say after EHLO: the sender's domain (a checking client has no host name of its own)."""
    domain = sender.rpartition("@")[2].strip().rstrip(".")
    return domain if domain.isascii() and domain else "localhost"


def build_message(plan: Plan, at: str) -> EmailMessage:
    message = EmailMessage(policy=SMTPUTF8 if _needs_smtputf8(plan) else SMTP)
    sender_local, _, sender_domain = plan.sender.rpartition("@")
    message["From"] = Address(plan.sender_name or "", sender_local, sender_domain)
    message["To"] = plan.recipient
    message["Subject"] = f"smtp-hub test of {plan.host}:{plan.port} for app {plan.app_name}"
    message["Date"] = format_datetime(datetime.fromisoformat(at.replace("Z", "+00:00")))
    message["Message-ID"] = make_msgid("smtp-check", domain=sender_domain)
    message["Auto-Submitted"] = "auto-generated"
    security = "implicit TLS" if plan.ssltls else "STARTTLS" if plan.starttls else "none (plain text)"
    body = (
        "This is a test message from smtp-hub: it checks that an SMTP server can send e-mail.\n"
        "\n"
        f"SMTP server:     {plan.host} port {plan.port} (id {plan.smtp_id})\n"
        f"Encryption:      {security}\n"
        f"Authentication:  {'as ' + (plan.username or '') if plan.auth else 'none'}\n"
        f"App:             {plan.app_name} (id {plan.app_id})\n"
        f"Sent at:         {at}\n"
        "\n"
        f"The server accepted this message for {plan.recipient}, so it works. No action is needed.\n"
    )
    message.set_content(body, cte="7bit" if body.isascii() else "quoted-printable")
    return message


def _needs_smtputf8(plan: Plan) -> bool:
    return not (plan.sender.isascii() and plan.recipient.isascii())


def _data_bytes(message: EmailMessage) -> bytes:
    """The message as DATA sends it: CRLF lines, dot-stuffed, ending with <CRLF>.<CRLF>."""
    raw = message.as_bytes()
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stuffed = [b"." + line if line.startswith(b".") else line for line in lines]
    return b"\r\n".join(stuffed) + b"\r\n.\r\n"


def converse(
    plan: Plan,
    *,
    limits: Limits,
    deadline: Deadline,
    allow_private: bool,
    tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    at: str | None = None,
) -> Outcome:
    """Run one check; every failure comes back as an Outcome with its stage, never as an exception."""
    started = time.monotonic()
    session = Session(plan, limits, deadline, Scrubber(plan.username, plan.password))
    outcome: Outcome
    try:
        outcome = _converse(session, allow_private, tls_context, at or now_iso())
    except StageFailure as failure:
        outcome = Outcome(False, failure.stage, failure.code, failure.message)
    finally:
        if session.sock is not None:
            session.sock.close()
    session.enter(session.stage)
    outcome.ms = round((time.monotonic() - started) * 1000)
    outcome.timings = dict(session.timings)
    outcome.transcript = session.transcript if plan.debug else None
    return outcome


def _converse(
    session: Session, allow_private: bool, tls_context: Callable[[], ssl.SSLContext], at: str
) -> Outcome:
    plan = session.plan
    if plan.auth and not (plan.username and plan.password):
        session.stage = AUTH
        session.fail("No username or password is stored for this server: save it again with both")
    _open(session, allow_private, tls_context)
    if plan.auth:
        session.enter(AUTH)
        session.authenticate(plan.username or "", plan.password or "")
    return _deliver(session, at)


def _open(session: Session, allow_private: bool, tls_context: Callable[[], ssl.SSLContext]) -> None:
    """DNS, CONNECT, TLS, EHLO: a session ready for AUTH or MAIL, encrypted when configured so."""
    plan = session.plan
    try:
        timeout = session.wait(session.limits.dns)
        addresses = netguard.resolve(plan.host, plan.port, allow_private=allow_private, timeout=timeout)
    except netguard.ResolveError as error:
        session.fail(error.message)
    session.enter(CONNECT)
    session.connect(addresses)
    if plan.ssltls:
        session.enter(TLS)
        session.start_tls(tls_context())
        session.enter(CONNECT)
    hint = "" if plan.ssltls else " (if this port uses implicit TLS, usually 465, turn sslTls on)"
    greeting = session.reply("greeting", hint)
    if greeting.code != 220:
        session.refused(greeting, "The server refused the connection")
    name = _ehlo_name(plan.sender)
    session.enter(EHLO)
    session.ehlo(name)
    if not plan.starttls:
        return
    session.enter(TLS)
    if "STARTTLS" not in session.extensions:
        session.fail(
            "The server does not offer STARTTLS: turn starttls off, or use sslTls if the port "
            "expects TLS from the start (usually 465)"
        )
    reply = session.command("STARTTLS")
    if reply.code != 220:
        session.refused(reply, "The server refused STARTTLS")
    session.start_tls(tls_context())
    session.enter(EHLO)
    session.ehlo(name)


def _deliver(session: Session, at: str) -> Outcome:
    """MAIL, RCPT, DATA, then QUIT."""
    plan = session.plan
    session.enter(MAIL)
    utf8 = _needs_smtputf8(plan)
    if utf8 and "SMTPUTF8" not in session.extensions:
        session.fail("The addresses contain non-ASCII characters and the server does not support SMTPUTF8")
    reply = session.command(f"MAIL FROM:<{plan.sender}>" + (" SMTPUTF8" if utf8 else ""))
    if reply.code != 250:
        hint = ""
        if reply.code == 530 and not session.tls and "STARTTLS" in session.extensions:
            hint = ": the server requires STARTTLS, turn starttls on"
        elif reply.code == 530 and not plan.auth:
            hint = ": the server requires authentication, turn auth on"
        session.refused(reply, f"The server refused the sender {plan.sender}", hint)
    session.enter(RCPT)
    reply = session.command(f"RCPT TO:<{plan.recipient}>")
    if reply.code not in (250, 251):
        hint = ": check the app's testemail" if reply.code in (550, 553) else ""
        session.refused(reply, f"The server refused the recipient {plan.recipient}", hint)
    session.enter(DATA)
    reply = session.command("DATA")
    if reply.code != 354:
        session.refused(reply, "The server refused DATA")
    data = _data_bytes(build_message(plan, at))
    session.send(data, f"<message, {len(data)} bytes>")
    reply = session.reply()
    if reply.code != 250:
        session.refused(reply, "The server did not accept the message")
    accepted = session.scrub(" ".join(reply.lines))
    _quit(session)
    detail = f"{reply.code} {accepted}" if accepted else str(reply.code)
    return Outcome(
        True, None, reply.code, f"The server accepted the test message for {plan.recipient} ({detail})"
    )


def _quit(session: Session) -> None:
    """QUIT politely, but the message is already accepted: no failure here counts, nor waits long."""
    try:
        session.send("QUIT")
        assert session.sock is not None  # nosec B101  # narrows the type; connect() set it (under -O: AttributeError)
        session.sock.settimeout(min(0.5, max(session.deadline.remaining(), 0.01)))
        session.sock.recv(512)
    except (StageFailure, OSError):
        pass


# --- The service ---------------------------------------------------------------------------------

STALE_MESSAGE = (
    "The SMTP server was edited or checked with other settings while this check ran, so its result "
    "was not recorded: check it again"
)


class CheckService:
    """Read, converse, record: at most 3 round trips to AWS around the SMTP session.

    1. GetItem the server (its owner, settings and version).
    2. GetItem its app (testemail, From fallback) and, only when auth is on, GetSecretValue the
       password: the two run concurrently, so they cost one round trip.
    3. One conditional UpdateItem recording the outcome (see SmtpRepository.record_check).
    """

    def __init__(
        self,
        apps: AppRepository,
        smtps: SmtpRepository,
        secrets: SecretRepository,
        *,
        limits: Limits,
        allow_private: bool,
        tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    ) -> None:
        self.apps = apps
        self.smtps = smtps
        self.secrets = secrets
        self.limits = limits
        self.allow_private = allow_private
        self.tls_context = tls_context

    def check(self, owner: str, smtp_id: str) -> None:
        """Send the test message; raises CheckFailed (406) with stage, code and message when it fails."""
        deadline = Deadline(self.limits.total)
        smtp = self.smtps.get_owned(owner, smtp_id)
        app, password = self._app_and_password(owner, smtp)
        plan = plan_for(smtp, app, password)
        at = now_iso()
        outcome = converse(
            plan,
            limits=self.limits,
            deadline=deadline,
            allow_private=self.allow_private,
            tls_context=self.tls_context,
            at=at,
        )
        recorded = "error"
        try:
            self.smtps.record_check(
                smtp.id, owner, smtp.version, ok=outcome.ok, lastcheck=outcome.lastcheck(at)
            )
            recorded = "yes"
        except Conflict:
            recorded = "stale"
            raise Conflict(STALE_MESSAGE) from None
        except SmtpNotFound:
            recorded = "gone"
            raise
        finally:
            report(plan, outcome, recorded=recorded, total_ms=deadline.elapsed_ms())
        if not outcome.ok:
            raise CheckFailed(outcome.message, stage=outcome.stage, code=outcome.code)

    def _app_and_password(self, owner: str, smtp: Smtp) -> tuple[App, str | None]:
        if not (smtp.auth and smtp.has_password):
            return self.apps.get_live(owner, smtp.app_id), None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-check-secret") as pool:
            secret = pool.submit(self.secrets.get, smtp.id)
            app = self.apps.get_live(owner, smtp.app_id)
            return app, secret.result()


def plan_for(smtp: Smtp, app: App, password: str | None) -> Plan:
    """The check of `smtp`; a 400 naming what is missing when there is no one to send to or from."""
    sender: str | None = smtp.defaultfromemail or app.defaultfromemail
    # The name that goes with the address, else the other one's.
    if smtp.defaultfromemail:
        name = smtp.defaultfromname or app.defaultfromname
    else:
        name = app.defaultfromname or smtp.defaultfromname
    missing: dict[str, str] = {}
    if not app.testemail:
        missing["testemail"] = "the app has no testemail to send the test message to: set it with apps/save"
    if not sender:
        missing["defaultfromemail"] = (
            "neither the SMTP server nor its app has a defaultfromemail to send from"
        )
    if missing or not app.testemail or not sender:
        raise BadRequest(missing, "The check needs the app's testemail and a From address")
    return Plan(
        smtp_id=smtp.id,
        app_id=app.id,
        app_name=app.name,
        host=smtp.host,
        port=smtp.port,
        sender=sender,
        sender_name=name,
        recipient=app.testemail,
        ssltls=smtp.ssltls,
        starttls=smtp.starttls,
        auth=smtp.auth,
        username=smtp.username,
        password=password,
        debug=smtp.debug,
    )


def report(plan: Plan, outcome: Outcome, *, recorded: str, total_ms: int) -> None:
    """The check's one log line and one metric (never the password: nothing here holds it)."""
    security = "implicit-tls" if plan.ssltls else "starttls" if plan.starttls else "none"
    extra: dict[str, Any] = {
        "idsmtp": plan.smtp_id,
        "idapp": plan.app_id,
        "host": plan.host,
        "port": plan.port,
        "security": security,
        "auth": plan.auth,
        "ok": outcome.ok,
        "stage": outcome.stage,
        "code": outcome.code,
        "detail": outcome.message,
        "ms": outcome.ms,
        "stages_ms": outcome.timings,
        "total_ms": total_ms,
        "recorded": recorded,
    }
    if outcome.transcript is not None:
        extra["transcript"] = outcome.transcript
    logger.info("smtp check", extra=extra)
    try:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415

        with single_metric(name=METRIC, unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="outcome", value="OK" if outcome.ok else str(outcome.stage))
    except Exception:  # a metric must never turn a check into a 500
        logger.warning("could not emit the check metric", exc_info=True)


def check_service() -> CheckService:
    """The default instance for Lambda: the shared repositories, limits from the environment."""
    from smtphub import services  # noqa: PLC0415 - services' cached repositories, built on first use

    settings = get_settings()
    return CheckService(
        *services._repositories(),  # the one set of repositories per container
        limits=Limits.within(settings.check_deadline_seconds),
        allow_private=settings.allow_private_addresses,
    )
