"""The local runtime's HTTP server (local_runtime/server.py) on malformed framing, slow bodies and many
connections at once: raw bytes over loopback sockets to a server whose gateway echoes what it got."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_runtime import server as server_module
from local_runtime.gateway import Reply
from local_runtime.server import HttpRequest, LocalHttpServer, head_problem


class EchoGateway:
    """Answers 200 with what it was given (method, body length, body), after `delay` seconds."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def handle(self, request: HttpRequest) -> tuple[Reply, str]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)
        finally:
            with self.lock:
                self.active -= 1
        body = request.body or b""
        answer = {"method": request.method, "length": len(body), "body": body.decode("latin-1")}
        return Reply(200, [("Content-Type", "application/json")], json.dumps(answer).encode()), "echo"


@pytest.fixture
def running() -> Iterator[tuple[LocalHttpServer, EchoGateway]]:
    gateway = EchoGateway()
    http = LocalHttpServer(("127.0.0.1", 0), gateway, quiet=True)  # type: ignore[arg-type]
    http.start()
    yield http, gateway
    http.stop()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def read_answer(sock: socket.socket) -> Answer:
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    try:
        closed = sock.recv(1) == b""
    except TimeoutError:
        closed = False
    return Answer(response.status, dict(response.getheaders()), body, closed)


def exchange(port: int, data: bytes, *, half_close: bool = False, timeout: float = 5) -> Answer:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_answer(sock)


def post(headers: str, body: bytes = b"") -> bytes:
    return f"POST /api/x HTTP/1.1\r\nHost: local\r\n{headers}\r\n".encode("latin-1") + body


def refused(answer: Answer, status: int, words: str) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    assert words in answer.json["message"]
    assert answer.headers["Connection"] == "close"
    assert answer.closed


# --- what is accepted ------------------------------------------------------------------------------------


def test_a_body_by_content_length_and_a_second_request_on_the_same_connection(running: Any) -> None:
    http, _ = running
    with socket.create_connection(("127.0.0.1", http.port), timeout=5) as sock:
        sock.sendall(post("Content-Length: 5\r\n", b"hello"))
        first = read_answer_keep(sock)
        sock.sendall(post("Content-Length: 0\r\n"))
        second = read_answer_keep(sock)
    assert (first.status, first.json["body"]) == (200, "hello")
    assert (second.status, second.json["length"]) == (200, 0)


def read_answer_keep(sock: socket.socket) -> Answer:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return Answer(response.status, dict(response.getheaders()), response.read(), False)


def test_a_chunked_body_with_extensions_and_trailers(running: Any) -> None:
    http, _ = running
    body = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    answer = exchange(http.port, post("Transfer-Encoding: chunked\r\nConnection: close\r\n", body))
    assert (answer.status, answer.json["body"]) == (200, "hello world")


# --- malformed framing: 400, and the connection closed ------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "words"),
    [
        ("Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        ("Transfer-Encoding: chunked\r\n", b"-5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        ("Transfer-Encoding: chunked\r\n", b"0x5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        ("Transfer-Encoding: chunked\r\n", b"\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        ("Transfer-Encoding: chunked\r\n", b"3\r\nhello\r\n0\r\n\r\n", "a chunk longer than its size"),
        ("Transfer-Encoding: gzip\r\n", b"", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n", "both Transfer-Encoding"),
        ("Content-Length: -5\r\n", b"hello", "invalid Content-Length"),
        ("Content-Length: abc\r\n", b"hello", "invalid Content-Length"),
        ("Content-Length: +5\r\n", b"hello", "invalid Content-Length"),
        ("Content-Length: 5_0\r\n", b"hello", "invalid Content-Length"),
        ("Content-Length: 5, 5\r\n", b"hello", "invalid Content-Length"),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!", "invalid Content-Length"),
        ("Content-Length: \xef\xbc\x95\r\n", b"hello", "invalid Content-Length"),  # a full-width 5, UTF-8
    ],
)
def test_malformed_body_framing(running: Any, headers: str, body: bytes, words: str) -> None:
    http, _ = running
    refused(exchange(http.port, post(headers, body)), 400, words)


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ("X-One: a\rX-Two: b\r\n", "a bare CR in a header"),
        ("Authorization: Bearer abc\rX-Account: someone-else\r\n", "a bare CR in a header"),
        ("X-One: a\r\n continued\r\n", "an obsolete folded header line"),
        ("no colon here\r\n", "a malformed header line"),
        ("Bad Name: x\r\n", "a malformed header line"),
        ("X-Null: a\x00b\r\n", "a NUL in a header"),
    ],
)
def test_malformed_headers(running: Any, headers: str, words: str) -> None:
    http, gateway = running
    refused(exchange(http.port, post(headers + "Content-Length: 0\r\n")), 400, words)
    assert gateway.peak == 0  # nothing reached the gateway


def test_no_100_continue_for_a_request_about_to_be_refused(running: Any) -> None:
    http, _ = running
    request = post("Expect: 100-continue\r\nX-One: a\rX-Two: b\r\nContent-Length: 5\r\n")
    answer = exchange(http.port, request)
    refused(answer, 400, "bare CR")


def test_the_head_checks_on_their_own() -> None:
    assert head_problem(b"GET / HTTP/1.1\r\n", [b"Host: x\r\n", b"\r\n"]) is None
    assert head_problem(b"GET / HTTP/1.1\n", [b"Host: x\n", b"\n"]) is None  # bare LF line ends
    assert head_problem(b"GET /\r HTTP/1.1\r\n", []) == "a control character in the request line"
    assert head_problem(b"GET / HTTP/1.1\r\n", [b"A: b\rC: d\r\n"]) == "a bare CR in a header"


# --- bodies that do not arrive ---------------------------------------------------------------------------


def test_a_body_that_stops_arriving_is_a_408_after_the_idle_time(
    running: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, gateway = running
    monkeypatch.setattr(server_module, "BODY_IDLE_SECONDS", 0.3)
    started = time.monotonic()
    answer = exchange(http.port, post("Content-Length: 10\r\n", b"abc"))
    refused(answer, 408, "did not arrive in time")
    assert time.monotonic() - started < 3
    chunked = exchange(http.port, post("Transfer-Encoding: chunked\r\n", b"a\r\nabc"))
    refused(chunked, 408, "did not arrive in time")
    assert gateway.peak == 0


def test_a_body_cut_short_is_a_400(running: Any) -> None:
    http, _ = running
    answer = exchange(http.port, post("Content-Length: 10\r\n", b"abc"), half_close=True)
    refused(answer, 400, "the body ended before its length")


def test_a_trickling_body_is_cut_at_the_whole_bodys_limit(
    running: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, _ = running
    monkeypatch.setattr(server_module, "BODY_SECONDS", 0.5)
    with socket.create_connection(("127.0.0.1", http.port), timeout=5) as sock:
        sock.sendall(post("Content-Length: 100000\r\n"))
        started = time.monotonic()
        answer = None
        for _ in range(100):  # a byte every 0.05 s, never idle long enough for the idle limit
            try:
                sock.sendall(b"x")
            except OSError:
                break
            time.sleep(0.05)
            if time.monotonic() - started > 1.5:
                break
        answer = read_answer(sock)
    refused(answer, 408, "did not arrive in time")


# --- many connections at once ----------------------------------------------------------------------------


def test_150_concurrent_connections_are_all_answered(running: Any) -> None:
    http, gateway = running
    gateway.delay = 0.5
    assert http.request_queue_size >= 100
    count = 150
    answers: list[Answer | BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def client(number: int) -> None:
        try:
            start.wait()
            result: Answer | BaseException = exchange(
                http.port, post("Content-Length: 3\r\nConnection: close\r\n", b"abc"), timeout=20
            )
        except BaseException as error:
            result = error
        with lock:
            answers.append(result)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    errors = [answer for answer in answers if isinstance(answer, BaseException)]
    assert errors == []
    assert [a.status for a in answers if isinstance(a, Answer)] == [200] * count
    assert gateway.peak >= 100  # served side by side, not one after another
