"""An HTTPS webhook receiver on 127.0.0.1 for the webhooks' tests (tests/support/file_server.py's server,
its certificate from the `ca` fixture for hooks.example): each POST's signature is verified with the
README's own snippet ("Webhooks and outcome events", the block after `<!-- webhook-verify -->`), each
request kept, each delivery counted by its `idevent`; it answers the statuses it is told, in order, then
200 (`answers`), and a path in `redirects` answers 302 to another path of its own."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import trustme

from tests.support.file_server import serving_https

README = Path(__file__).resolve().parents[2] / "README.md"
HOST = "hooks.example"


def readme_verify() -> Callable[..., bool]:
    """The README's `verify(secret, header, body, now=None)`, executed as a receiver would copy it."""
    text = README.read_text(encoding="utf-8").split("<!-- webhook-verify -->", 1)[1]
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md (webhook-verify)", "exec"), namespace)  # our own README's code
    verify: Callable[..., bool] = namespace["verify"]
    return verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool  # the README's verify() accepted it
    status: int  # what the receiver answered

    @property
    def form(self) -> dict[str, str]:
        return {
            name: values[0]
            for name, values in parse_qs(self.body.decode("ascii"), strict_parsing=True).items()
        }


@dataclass
class Receiver:
    secret: str
    port: int = 0
    answers: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    redirects: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    slow: float = 0.0  # seconds to wait before answering
    # the receiver's clock for the replay window (None: the real one)
    clock: Callable[[], float] | None = None

    def url(self, path: str = "/hook") -> str:
        return f"https://{HOST}:{self.port}{path}"

    def delivered(self) -> dict[str, int]:
        """idevent -> how many signed POSTs of it were answered 2xx."""
        counts: dict[str, int] = {}
        for request in self.received:
            if request.signed and 200 <= request.status < 300:
                counts[request.form["idevent"]] = counts.get(request.form["idevent"], 0) + 1
        return counts


class _Handler(BaseHTTPRequestHandler):
    state: Receiver
    verify: Callable[..., bool]

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.state.slow)
        now = self.state.clock() if self.state.clock else None
        signed = type(self).verify(self.state.secret, self.headers.get("Smtp-Hub-Signature", ""), body, now)
        path = self.path
        if path in self.state.redirects:
            status = 302
        elif not signed:
            status = 401
        else:
            status = self.state.answers.pop(0) if self.state.answers else 200
        self.state.received.append(Received(path, dict(self.headers.items()), body, signed, status))
        self.send_response(status)
        if status == 302:
            self.send_header("Location", self.state.url("/moved"))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@contextlib.contextmanager
def running_receiver(ca: trustme.CA, secret: str) -> Iterator[Receiver]:
    state = Receiver(secret)
    handler = type("Handler", (_Handler,), {"state": state, "verify": staticmethod(readme_verify())})
    with serving_https(handler, ca, (HOST,)) as server:
        state.port = server.server_address[1]
        yield state
