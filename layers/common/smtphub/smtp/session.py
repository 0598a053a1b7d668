"""One SMTP conversation over one socket: every read and write under the check's deadline.

`Session` moves bytes and replies and knows which stage it is in; the SMTP commands built on it are in
smtphub.smtp.commands, their order in smtphub.check.conversation.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from smtphub import netguard
from smtphub.smtp.endpoint import Endpoint
from smtphub.smtp.limits import Deadline, Limits
from smtphub.smtp.scrub import Scrubber
from smtphub.smtp.stages import AUTH, DNS, StageFailure
from smtphub.smtp.tls import describe
from smtphub.smtps.results import TlsFacts

MAX_TRANSCRIPT = 60
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNEXPECTED_EOF_WHILE_READING")
_OLD_TLS = (
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "WRONG_SSL_VERSION",
)


@dataclass(frozen=True, slots=True)
class SmtpReply:
    """One complete reply: its code and the text of each line (after the code), as received."""

    code: int
    lines: tuple[str, ...]


class Session:
    """The socket, the stage, the timings and the transcript of one check."""

    def __init__(self, plan: Endpoint, limits: Limits, deadline: Deadline, scrub: Scrubber) -> None:
        self.plan = plan
        self.limits = limits
        self.deadline = deadline
        self.scrub = scrub
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.stage = DNS
        self.tls = False
        self.extensions: dict[str, str] = {}
        self.ehlo_name = ""  # what the last EHLO said (EHLO again after STARTTLS)
        self.timings: dict[str, int] = {}
        self.codes: dict[str, int] = {}  # the last reply code of each stage
        self.tls_info: TlsFacts | None = None  # smtphub.smtp.tls.describe, once encrypted
        self.transcript: list[str] = []
        self.heard: list[str] = []  # the text of every line the server sent, in order
        self.xoauth2_status = ""
        self.tls_context: Callable[[], ssl.SSLContext] = (
            ssl.create_default_context
        )  # what an XOAUTH2 error challenge said, for the AUTH failure's message
        self._stage_started = time.monotonic()

    # stages and failures

    def enter(self, stage: str) -> None:
        now = time.monotonic()
        self.timings[self.stage] = self.timings.get(self.stage, 0) + round((now - self._stage_started) * 1000)
        self.stage, self._stage_started = stage, now

    def fail(self, message: str, code: int | None = None, *, timeout: bool = False) -> NoReturn:
        raise StageFailure(self.stage, message, code, timeout=timeout)

    def refused(self, reply: SmtpReply, what: str, hint: str = "") -> NoReturn:
        """Fail quoting the reply's text, scrubbed (never call this with a reply to AUTH)."""
        text = self.quote(reply)
        self.fail(f"{what} ({reply.code}{' ' + text if text else ''}){hint}", reply.code)

    def quote(self, reply: SmtpReply) -> str:
        """The reply's text, scrubbed, on one line; "" when a secret hides in what the server has said so far
        taken together (its pieces across lines or replies: smtphub.smtp.scrub)."""
        if self.hiding():
            return ""
        return self.scrub(" ".join(reply.lines))

    def hiding(self) -> bool:
        """Whether a secret hides in everything the server has said so far, taken together."""
        return self.scrub.hides("\n".join(self.heard))

    def note(self, line: str) -> None:
        if self.plan.debug and len(self.transcript) < MAX_TRANSCRIPT:
            self.transcript.append(line)

    def _hear(self, lines: list[bytes]) -> None:
        """One reply heard; in the transcript, its lines each scrubbed, or only their codes when a secret
        hides in its lines taken together, and always during AUTH (a server could echo what it was sent)."""
        texts = [line.decode("utf-8", "replace") for line in lines]
        self.heard += [text[4:] for text in texts]
        if not self.plan.debug or len(self.transcript) >= MAX_TRANSCRIPT:
            return
        coded = self.stage == AUTH or self.scrub.hides("\n".join(text[4:] for text in texts))
        for text in texts:
            self.note("S: " + (text[:4] + "..." if coded else self.scrub(text)))

    def codes_only(self) -> None:
        """The transcript's server lines reduced to their codes (when `hiding`)."""
        self.transcript = [line[:7] + "..." if line.startswith("S: ") else line for line in self.transcript]

    def wait(self, cap: float) -> float:
        """A socket timeout: `cap`, cut to what is left of the deadline (failing when nothing is)."""
        left = self.deadline.remaining()
        if left <= 0:
            self.fail(f"The {self.deadline.name} ran out of time ({self.limits.total:g} s)", timeout=True)
        return min(cap, left)

    def _socket(self) -> socket.socket:
        if self.sock is None:
            raise RuntimeError("the session is not connected")
        return self.sock

    # bytes

    def connect(self, addresses: list[netguard.Address]) -> None:
        """Connect to the first of `addresses` (checked ones) that answers, each within the limits."""
        problems: list[str] = []
        for address in addresses:
            sock = socket.socket(address.family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.wait(self.limits.connect))
                sock.connect(address.sockaddr)
            except StageFailure:
                sock.close()
                raise
            except OSError as error:
                sock.close()
                problems.append(_connect_problem(error))
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
        timed_out = bool(problems) and all(problem == "timed out" for problem in problems)
        self.fail(
            f"Could not connect to {self.plan.host} port {self.plan.port} ({reasons}){hint}",
            timeout=timed_out,
        )

    def start_tls(self, context: ssl.SSLContext, mode: str) -> None:
        """The TLS handshake on the connected socket, verifying the certificate for `plan.host`; `mode` is
        how TLS came about (`lastcheck.tls.mode`: smtphub.smtp.commands)."""
        self._socket().settimeout(self.wait(self.limits.reply))
        try:
            self.sock = context.wrap_socket(self._socket(), server_hostname=self.plan.host)
        except ssl.SSLCertVerificationError as error:
            detail = error.verify_message or error.reason or "verification failed"
            trusted = "the CAs in cacert" if self.plan.cacert else "a public CA"
            self.fail(
                f"The server's certificate is not valid for {self.plan.host}: {detail}. "
                f"Use a certificate from {trusted} that names this host (a private CA: set cacert; "
                "or tlsverify=false to skip verification)"
            )
        except TimeoutError:
            self.fail("The TLS handshake did not finish in time", timeout=True)
        except ssl.SSLError as error:
            reason = error.reason or "SSL error"
            self.fail(f"The TLS handshake failed ({reason}){_tls_hint(self.plan, error)}")
        except OSError as error:
            self.fail(f"The connection was lost during the TLS handshake ({error.strerror or 'error'})")
        self.tls = True
        if isinstance(self.sock, ssl.SSLSocket):
            self.tls_info = describe(self.sock, self.scrub, mode)
        self.buffer.clear()  # nothing sent in clear before the handshake may be trusted after it

    def send(self, line: str | bytes, shown: str | None = None) -> None:
        """Send a command (CRLF added) or raw bytes; the transcript shows `shown` instead when given."""
        data = line if isinstance(line, bytes) else line.encode("utf-8") + b"\r\n"
        self.note(
            "C: " + self.scrub.mask(shown if shown is not None else data.decode("utf-8", "replace").rstrip())
        )
        sock = self._socket()
        sock.settimeout(self.wait(self.limits.reply))
        try:
            sock.sendall(data)
        except TimeoutError:
            self.fail("The server stopped accepting data", timeout=True)
        except OSError as error:
            self.fail(f"The connection was lost ({error.strerror or type(error).__name__})")

    def _line(self, until: float) -> bytes:
        """One reply line without its end, by `until` and the deadline (TimeoutError when not)."""
        sock = self._socket()
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
            sock.settimeout(left)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                raise
            except OSError as error:
                reason = getattr(error, "reason", None) or error.strerror or type(error).__name__
                self.fail(f"The connection was lost ({reason})")
            if not chunk:
                self.fail("The server closed the connection")
            self.buffer += chunk

    def reply(self, what: str = "answer", hint: str = "", *, record: bool = True) -> SmtpReply:
        """One complete reply (all its lines), within `limits.reply` and the deadline; its code becomes the
        stage's (`codes`) unless `record` is False."""
        started = time.monotonic()
        until = started + self.wait(self.limits.reply)
        lines: list[bytes] = []
        try:
            while True:
                line = self._line(until)
                if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
                    self.fail("The server's answer is not SMTP: check the host and port")
                lines.append(line)
                if line[3:4] != b"-":
                    break
                if len(lines) >= self.limits.max_reply_lines:
                    self.fail(f"The server sent a reply of more than {self.limits.max_reply_lines} lines")
        except TimeoutError:
            waited = time.monotonic() - started
            if lines or self.buffer:
                self.fail(f"The server did not finish its {what} within {waited:.1f} s{hint}", timeout=True)
            self.fail(f"The server sent no {what} within {waited:.1f} s{hint}", timeout=True)
        finally:  # what was read, even of a reply that failed, judged as a whole
            self._hear(lines)
        text = tuple(line[4:].decode("utf-8", "replace") for line in lines)
        reply = SmtpReply(int(lines[-1][:3]), text)
        if record:
            self.codes[self.stage] = reply.code
        return reply

    def command(self, line: str, shown: str | None = None, *, record: bool = True) -> SmtpReply:
        self.send(line, shown)
        return self.reply(record=record)


def _tls_hint(plan: Endpoint, error: ssl.SSLError) -> str:
    """What a failed handshake may mean: a version below `tlsmin` (some servers just hang up), or a port
    that does not speak implicit TLS."""
    hints = []
    if error.reason in _OLD_TLS:
        hints.append(f"the server does not offer TLS {plan.tls_min} or later (tlsmin={plan.tls_min})")
    elif plan.tls_min == "1.3":
        hints.append("the server may not offer TLS 1.3 (tlsmin=1.3)")
    if error.reason in _NOT_TLS and plan.ssltls:
        hints.append("this port may not speak implicit TLS; use starttls instead of sslTls")
    return ": " + "; or ".join(hints) if hints else ""


def _connect_problem(error: OSError) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return error.strerror or type(error).__name__
