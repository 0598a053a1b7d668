"""One HTTPS request to a user-supplied URL: resolved once through the SSRF guard, connected to an address
that passed, the certificate verified for the URL's host, every byte under a deadline and a size bound.

Used by the check (XOAUTH2's token endpoints, smtphub.smtp.https), by the sender (URL attachments,
smtphub.sending.attachments) and by the webhooks' sender (smtphub.webhooks.sender); none follows redirects
here (a redirect is an answer like another: the caller decides, and a URL it follows goes through
`request`, and so through the guard, again).

Why not urllib.request: it resolves the host itself (the caller must connect to what smtphub.netguard
resolved and allowed), it follows redirects to wherever they point, and its only bound is the socket timeout
of each read, so a server that drips its answer keeps it forever. http.client parses the answer (status
line, headers, chunked or sized body, with its own line and header-count limits) from a reader that stops
at the deadline and after `Bounds.max_read` bytes.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from smtphub import netguard

Resolve = Callable[..., list[netguard.Address]]
# What went wrong, for callers that say it in their own words: the URL itself, DNS or the guard, the TCP
# connection, TLS, time, size, or an answer that could not be read.
KINDS = ("url", "dns", "connect", "tls", "time", "size", "read")


class HttpProblem(Exception):
    """The request did not get an answer; the message is safe to show (it quotes nothing received)."""

    def __init__(self, message: str, kind: str = "read") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Bounds:
    """How long and how much: everything by `until` (time.monotonic), each step also within its cap."""

    until: float
    out_of_time: str  # the message when `until` has passed before a step could start
    dns: float = 5.0
    connect: float = 5.0  # each TCP connect (one per address tried)
    reply: float = 10.0  # the whole answer, however it trickles in
    max_read: int = 256 * 1024  # status line, headers and body together
    max_body: int = 64 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """A server's answer: its status, headers (names in any case) and body (at most `Bounds.max_body`)."""

    status: int
    headers: http.client.HTTPMessage = field(repr=False)
    body: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Request:
    """What to send; `peer` names the server in messages ("token endpoint": "The token endpoint did not
    answer in time")."""

    url: str
    peer: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    user_agent: str = "smtp-hub"
    # False: only the status and headers count; the answer's body is not read (a webhook receiver's page of
    # any length after its 200), and the Answer's is empty.
    read_body: bool = True


def size(count: int) -> str:
    """A byte count as the messages say it: 1000 bytes, 64 KiB, 10 MiB, 1.5 MiB."""
    if count < 1024:
        return f"{count} bytes"
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MiB"
    return f"{count / 1024:g} KiB"


def request(
    request: Request,
    *,
    bounds: Bounds,
    allow_private: bool,
    context: ssl.SSLContext,
    resolve: Resolve = netguard.resolve,
) -> Answer:
    """Send `request` to its https URL; HttpProblem (with its `kind`) when no answer comes."""
    peer = request.peer
    try:
        parts = urlsplit(request.url)
        host, port = parts.hostname or "", parts.port or 443
    except ValueError:
        raise HttpProblem(f"The {peer} must be an https URL", "url") from None
    if parts.scheme.lower() != "https" or not host:
        raise HttpProblem(f"The {peer} must be an https URL", "url")
    try:
        addresses = resolve(host, port, allow_private=allow_private, timeout=_left(bounds, bounds.dns))
    except netguard.ResolveError as error:
        raise HttpProblem(f"The {peer} cannot be reached: {error.message}", "dns") from None
    sock = _connect(addresses, peer, host, port, bounds)
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    try:
        return _exchange(
            sock, request, authority=parts.netloc, host=host, target=target, bounds=bounds, context=context
        )
    finally:
        sock.close()


def _exchange(
    sock: socket.socket,
    request: Request,
    *,
    authority: str,
    host: str,
    target: str,
    bounds: Bounds,
    context: ssl.SSLContext,
) -> Answer:
    peer = request.peer
    until = min(bounds.until, time.monotonic() + bounds.reply)
    try:
        sock.settimeout(max(until - time.monotonic(), 0.001))
        tls = context.wrap_socket(sock, server_hostname=host)
        tls.sendall(_head(request, authority, target) + request.body)
        answering = _Answering(tls, until, peer, bounds.max_read)
        response = http.client.HTTPResponse(answering, method=request.method)  # type: ignore[arg-type]
        response.begin()
        if not request.read_body:
            tls.close()
            return Answer(response.status, response.msg, b"")
        if response.length is not None and response.length > bounds.max_body:
            raise HttpProblem(f"The {peer}'s answer is longer than {size(bounds.max_body)}", "size")
        data = response.read(bounds.max_body + 1)
        tls.close()
    except ssl.SSLCertVerificationError as error:
        detail = error.verify_message or error.reason or "verification failed"
        raise HttpProblem(f"The {peer}'s certificate is not valid for {host}: {detail}", "tls") from None
    except TimeoutError:
        raise HttpProblem(f"The {peer} did not answer in time", "time") from None
    except ssl.SSLError as error:
        reason = error.reason or "SSL error"
        raise HttpProblem(f"The TLS handshake with the {peer} failed ({reason})", "tls") from None
    except (OSError, http.client.HTTPException) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise HttpProblem(f"The {peer}'s answer could not be read ({reason})") from None
    if len(data) > bounds.max_body:
        raise HttpProblem(f"The {peer}'s answer is longer than {size(bounds.max_body)}", "size")
    return Answer(response.status, response.msg, data)


def _head(request: Request, authority: str, target: str) -> bytes:
    lines = [
        f"{request.method} {target} HTTP/1.1",
        f"Host: {authority}",
        f"User-Agent: {request.user_agent}",
        *(f"{name}: {value}" for name, value in request.headers.items()),
    ]
    if request.body or request.method == "POST":
        lines.append(f"Content-Length: {len(request.body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class _TimedReader(io.RawIOBase):
    """Reads the socket until `until`, and `max_read` bytes at most."""

    def __init__(self, sock: socket.socket, until: float, peer: str, max_read: int) -> None:
        self.sock, self.until, self.peer, self.max_read, self.total = sock, until, peer, max_read, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        left = self.until - time.monotonic()
        if left <= 0:
            raise TimeoutError
        if self.total > self.max_read:
            raise HttpProblem(f"The {self.peer}'s answer is longer than {size(self.max_read)}", "size")
        self.sock.settimeout(left)
        count = self.sock.recv_into(buffer)
        self.total += count
        return count


class _Answering:
    """What http.client.HTTPResponse needs of a socket: `makefile`, reading through `_TimedReader`."""

    def __init__(self, sock: socket.socket, until: float, peer: str, max_read: int) -> None:
        self.reader = _TimedReader(sock, until, peer, max_read)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self.reader)


def _connect(
    addresses: list[netguard.Address], peer: str, host: str, port: int, bounds: Bounds
) -> socket.socket:
    problems: list[str] = []
    for address in addresses:
        timeout = _left(bounds, bounds.connect)
        sock = socket.socket(address.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address.sockaddr)
        except OSError as error:
            sock.close()
            problems.append("timed out" if isinstance(error, TimeoutError) else error.strerror or "error")
            if bounds.until - time.monotonic() <= 0:
                break
        else:
            return sock
    reasons = ", ".join(dict.fromkeys(problems)) or "no address left to try"
    raise HttpProblem(f"Could not connect to the {peer} {host} port {port} ({reasons})", "connect")


def _left(bounds: Bounds, cap: float) -> float:
    left = bounds.until - time.monotonic()
    if left <= 0:
        raise HttpProblem(bounds.out_of_time, "time")
    return min(cap, left)
