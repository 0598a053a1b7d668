"""An HTTPS file server on 127.0.0.1 for the URL attachments' tests: each path answers as its `Route` says
(status, headers, body, a drip between bytes, chunked); every request is kept (`requests`). The certificate
comes from the `ca` fixture (tests/support/smtp_peers.py) for the names given (by default files.example,
127.0.0.1 and localhost); `trust_test_ca` makes clients trust it."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip: float = 0.0  # seconds between the body's bytes
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length


@dataclass
class FileServer:
    port: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, headers)

    def url(self, path: str, host: str = "files.example") -> str:
        return f"https://{host}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server_state: FileServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server_state.requests.append((self.path, dict(self.headers.items())))
        route = self.server_state.routes.get(self.path.split("?", 1)[0], Route(404, b"not found"))
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self._body(route)

    def _body(self, route: Route) -> None:
        if route.drip:
            for byte in route.body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(route.drip)
        elif route.chunked:
            for start in range(0, len(route.body), 65536):
                chunk = route.body[start : start + 65536]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(route.body)


@contextlib.contextmanager
def serving_https(
    handler: type[BaseHTTPRequestHandler], ca: trustme.CA, names: tuple[str, ...]
) -> Iterator[ThreadingHTTPServer]:
    """A threaded HTTP server on 127.0.0.1 behind TLS (a certificate from `ca` for `names`), serving until the
    block ends (also the token endpoint's, tests/support/oauth_peers.py)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def running_file_server(ca: trustme.CA, *names: str) -> Iterator[FileServer]:
    state = FileServer()
    handler = type("Handler", (_Handler,), {"server_state": state})
    with serving_https(handler, ca, names or ("files.example", "127.0.0.1", "localhost")) as server:
        state.port = server.server_address[1]
        yield state
