"""One HTTPS POST of a form to a token endpoint: resolved once through the SSRF guard, connected to an
address that passed, the certificate verified for the URL's host, every byte under the check's deadline.

Why not urllib.request: it resolves the host itself (the check must connect to what smtphub.netguard
resolved and allowed, as for SMTP hosts), and its only bound is the socket timeout of each read, so an
endpoint that drips its answer keeps it forever. http.client parses the answer (status line, headers,
chunked or sized body, with its own line and header-count limits) from a reader that stops at the deadline
and after `MAX_READ` bytes.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from smtphub import netguard
from smtphub.check.limits import Deadline, Limits

MAX_BODY = 64 * 1024  # a token answer is a few KiB
MAX_READ = 256 * 1024  # status line, headers and body together
USER_AGENT = "smtp-hub-check"


class HttpProblem(Exception):
    """The request did not get an answer; the message is safe to show (it quotes nothing received)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A token endpoint's answer: its status and body (at most `MAX_BODY` bytes)."""

    status: int
    body: bytes


class _TimedReader(io.RawIOBase):
    """Reads the socket until `until` (and the deadline), and `MAX_READ` bytes at most."""

    def __init__(self, sock: socket.socket, until: float) -> None:
        self.sock, self.until, self.total = sock, until, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        left = self.until - time.monotonic()
        if left <= 0:
            raise TimeoutError
        if self.total > MAX_READ:
            raise HttpProblem(f"The token endpoint's answer is longer than {MAX_READ // 1024} KiB")
        self.sock.settimeout(left)
        count = self.sock.recv_into(buffer)
        self.total += count
        return count


class _Answering:
    """What http.client.HTTPResponse needs of a socket: `makefile`, reading through `_TimedReader`."""

    def __init__(self, sock: socket.socket, until: float) -> None:
        self.sock, self.until = sock, until

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_TimedReader(self.sock, self.until))


def post_form(
    url: str,
    form: dict[str, str],
    *,
    deadline: Deadline,
    limits: Limits,
    allow_private: bool,
    context: ssl.SSLContext,
) -> HttpAnswer:
    """POST `form` (form-urlencoded) to the https `url`; HttpProblem when no answer comes."""
    try:  # save refuses anything else; what is stored is judged again here
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
    except ValueError:
        raise HttpProblem("The token endpoint must be an https URL") from None
    if parts.scheme != "https" or not host:
        raise HttpProblem("The token endpoint must be an https URL")
    try:
        addresses = netguard.resolve(
            host, port, allow_private=allow_private, timeout=_left(deadline, limits.dns)
        )
    except netguard.ResolveError as error:
        raise HttpProblem(f"The token endpoint cannot be reached: {error.message}") from None
    sock = _connect(addresses, host, port, deadline, limits)
    try:
        return _exchange(sock, parts.netloc, host, (parts.path or "/") + _query(parts.query), form,
                         deadline=deadline, limits=limits, context=context)  # fmt: skip
    finally:
        sock.close()


def _exchange(
    sock: socket.socket,
    authority: str,
    host: str,
    target: str,
    form: dict[str, str],
    *,
    deadline: Deadline,
    limits: Limits,
    context: ssl.SSLContext,
) -> HttpAnswer:
    until = min(deadline.end, time.monotonic() + limits.reply)
    try:
        sock.settimeout(max(until - time.monotonic(), 0.001))
        tls = context.wrap_socket(sock, server_hostname=host)
        body = urlencode(form).encode("ascii")
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Accept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        tls.sendall(head.encode("ascii") + body)
        response = http.client.HTTPResponse(_Answering(tls, until))  # type: ignore[arg-type]
        response.begin()
        data = response.read(MAX_BODY + 1)
        tls.close()
    except ssl.SSLCertVerificationError as error:
        detail = error.verify_message or error.reason or "verification failed"
        raise HttpProblem(f"The token endpoint's certificate is not valid for {host}: {detail}") from None
    except TimeoutError:
        raise HttpProblem("The token endpoint did not answer in time") from None
    except ssl.SSLError as error:
        raise HttpProblem(
            f"The TLS handshake with the token endpoint failed ({error.reason or 'SSL error'})"
        ) from None
    except (OSError, http.client.HTTPException) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise HttpProblem(f"The token endpoint's answer could not be read ({reason})") from None
    if len(data) > MAX_BODY:
        raise HttpProblem(f"The token endpoint's answer is longer than {MAX_BODY // 1024} KiB")
    return HttpAnswer(response.status, data)


def _connect(
    addresses: list[netguard.Address], host: str, port: int, deadline: Deadline, limits: Limits
) -> socket.socket:
    problems: list[str] = []
    for address in addresses:
        sock = socket.socket(address.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_left(deadline, limits.connect))
            sock.connect(address.sockaddr)
        except OSError as error:
            sock.close()
            problems.append("timed out" if isinstance(error, TimeoutError) else error.strerror or "error")
            if deadline.remaining() <= 0:
                break
        else:
            return sock
    reasons = ", ".join(dict.fromkeys(problems)) or "no address left to try"
    raise HttpProblem(f"Could not connect to the token endpoint {host} port {port} ({reasons})")


def _left(deadline: Deadline, cap: float) -> float:
    left = deadline.remaining()
    if left <= 0:
        raise HttpProblem(f"The check ran out of time ({deadline.seconds:g} s)")
    return min(cap, left)


def _query(query: str) -> str:
    return "?" + query if query else ""
