"""API Gateway (REST, Lambda proxy integration) on 127.0.0.1: HTTP in, proxy event, the function's answer out.

What happens to a request, in API Gateway's order:
1. a body over 10 MB: REQUEST_TOO_LARGE (413);
2. the stage, resource and method must be declared in the template, else MISSING_AUTHENTICATION_TOKEN;
3. the method's throttle (MethodSettings): THROTTLED (429);
4. the route's TOKEN authorizer, if any (401 / 403 / 500, see `authorizer.py`);
5. the proxy event goes to the function; a raised error or malformed answer is a 502, a timeout a 504.
Every answer of API Gateway's own goes through the template's gateway responses.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local_runtime import docs, say
from local_runtime.authorizer import TokenAuthorizer
from local_runtime.cfn import ACCOUNT_ID, REGION
from local_runtime.events import build_event, is_binary, method_arn
from local_runtime.functions import LocalFunction
from local_runtime.gateway import GatewayResponses, Reply, Throttle

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's limit
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload: the whole event, as JSON
_DRAIN_LIMIT = 64 * 1024 * 1024  # past this a too-large body is not even read: the connection is closed
MAX_CONNECTIONS = 256  # connections served at once (a thread each)
LISTEN_BACKLOG = 1024  # connections waiting to be accepted
KEEP_ALIVE_SECONDS = 60  # an idle connection is closed after this long
BODY_IDLE_SECONDS = 10  # a body that stops arriving for this long: 408, connection closed
BODY_SECONDS = 60  # the most a whole body may take
_MAX_CHUNK_LINE = 4096
_MAX_TRAILERS = 100
API_ID = "local"
INTEGRATION_TIMEOUT_SECONDS = 29  # API Gateway gives up on an integration after 29 s


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query as sent
    headers: Sequence[tuple[str, str]]
    body: bytes | None
    source_ip: str = "127.0.0.1"
    too_large: bool = False


@dataclass
class ApiRoute:
    method: str  # or ANY
    resource: str  # /private/smtps/{id}
    function: LocalFunction
    authorizer: TokenAuthorizer | None = None
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        parts = []
        for segment in self.resource.strip("/").split("/"):
            greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
            named = re.fullmatch(r"\{(\w+)\}", segment)
            if greedy:
                parts.append(f"(?P<{greedy.group(1)}>.+)")
            elif named:
                parts.append(f"(?P<{named.group(1)}>[^/]+)")
            else:
                parts.append(re.escape(segment))
        self.pattern = re.compile("/" + "/".join(parts) if parts != [""] else "/")

    @property
    def specificity(self) -> tuple[int, int]:
        segments = self.resource.strip("/").split("/")
        return (sum(not s.startswith("{") for s in segments), -sum(s.endswith("+}") for s in segments))


class Stage:
    """One API's stage: its routes, gateway responses, throttle and (fallback) authorizer context."""

    def __init__(
        self,
        name: str,
        routes: Sequence[ApiRoute],
        responses: GatewayResponses,
        throttle: Throttle,
        *,
        fallback_identity: Mapping[str, Any] | None = None,
        public: Iterable[tuple[str, str]] = (),
        binary_media_types: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.routes = sorted(routes, key=lambda route: route.specificity, reverse=True)
        self.responses = responses
        self.throttle = throttle
        # Routes without an authorizer get this context, when the template declares no authorizer at all
        # (except the routes declared public with `Authorizer: NONE`, given as (method, resource)).
        self.fallback_identity = dict(fallback_identity) if fallback_identity is not None else None
        self.public = set(public)
        self.binary_media_types = tuple(binary_media_types)

    def match(self, method: str, path: str) -> tuple[ApiRoute | None, dict[str, str]]:
        path = "/" + path.strip("/")  # API Gateway ignores a trailing slash
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found and route.method in (method, "ANY"):
                return route, {name: unquote(value) for name, value in found.groupdict().items()}
        return None, {}

    def handle(self, request: HttpRequest, path: str, query: str) -> tuple[Reply, str]:  # noqa: PLR0911, PLR0912
        """The answer, and the name of the function that gave it (or "gateway")."""
        request_id = str(uuid.uuid4())
        header_map = dict(request.headers)
        context: dict[str, Any] = {
            "requestId": request_id,
            "extendedRequestId": request_id.replace("-", "")[:16] + "=",
            "httpMethod": request.method,
            "path": f"/{self.name}{path}",
            "stage": self.name,
            "apiId": API_ID,
            "accountId": ACCOUNT_ID,
            "domainName": header_map.get("Host", "127.0.0.1"),
            "identity": {"sourceIp": request.source_ip},
        }

        notes: list[str] = []  # cold starts, for the request line

        def refuse(kind: str, message: str | None = None) -> tuple[Reply, str]:
            reply = self.responses.reply(kind, context, header_map, message=message)
            return _with_ids(reply, request_id), ", ".join(["gateway", *notes])

        if request.too_large:
            return refuse("REQUEST_TOO_LARGE")
        route, path_parameters = self.match(request.method, path)
        if route is None:
            return refuse("MISSING_AUTHENTICATION_TOKEN")
        context["resourcePath"] = route.resource
        if not self.throttle.allow(route.resource, request.method):
            return refuse("THROTTLED")
        authorizer_context: dict[str, Any] | None = None
        if route.authorizer is not None:
            arn = method_arn(
                request.method, path, stage=self.name, region=REGION, account=ACCOUNT_ID, api_id=API_ID
            )
            decision = route.authorizer.authorize(header_map, arn)
            if decision.cold_start_ms is not None:
                notes.append(f"authorizer cold start {decision.cold_start_ms:.0f} ms")
            if decision.refusal is not None:
                return refuse(decision.refusal, decision.message)
            authorizer_context = decision.authorizer
            context["authorizer"] = authorizer_context
        elif self.fallback_identity is not None and (route.method, route.resource) not in self.public:
            authorizer_context = self.fallback_identity
        headers = list(request.headers)
        names = {name.lower() for name, _ in headers}
        for name, value in (
            ("X-Forwarded-For", request.source_ip),
            ("X-Forwarded-Proto", "http"),
            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"),
        ):
            if name.lower() not in names:
                headers.append((name, value))
        event = build_event(
            request.method,
            route.resource,
            stage=self.name,
            headers=headers,
            query=parse_qsl(query, keep_blank_values=True),
            body=request.body,
            authorizer=authorizer_context,
            source_ip=request.source_ip,
            request_id=request_id,
            binary=is_binary(_header(headers, "content-type"), self.binary_media_types),
        )
        if len(json.dumps(event)) > LAMBDA_PAYLOAD_BYTES:
            # Lambda refuses an event over its synchronous payload limit before the function runs; API
            # Gateway then answers 413 itself, without its gateway responses (README, "Sending", Limits; as
            # observed in koki-develop/lgtm-generator#10: this body, x-amzn-ErrorType BadRequestException).
            too_long = Reply(
                413,
                [("Content-Type", "application/json"), ("x-amzn-ErrorType", "BadRequestException")],
                b'{"message": "Request Too Long"}',
            )
            return _with_ids(too_long, request_id), "gateway (Lambda's payload limit)"
        event["path"] = path
        event["requestContext"]["path"] = f"/{self.name}{path}"
        event["pathParameters"] = path_parameters or None
        outcome = route.function.invoke(event, limit=INTEGRATION_TIMEOUT_SECONDS)
        reply = proxy_reply(outcome.value) if outcome.ok else None
        if reply is None:
            if outcome.cold_start_ms is not None:
                notes.append(f"{route.function.name} cold start {outcome.cold_start_ms:.0f} ms")
            if outcome.timed_out:
                return refuse("INTEGRATION_TIMEOUT")
            if outcome.ok:
                print(f"{route.function.name}: malformed Lambda proxy response", file=sys.stderr)
            return refuse("LAMBDA_ERROR")
        if outcome.cold_start_ms is not None:
            notes.insert(0, f"cold start {outcome.cold_start_ms:.0f} ms")
        return _with_ids(reply, request_id), ", ".join([route.function.name, *notes])


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _with_ids(reply: Reply, request_id: str) -> Reply:
    extra = [("x-amzn-RequestId", request_id), ("x-amz-apigw-id", request_id.replace("-", "")[:16] + "=")]
    return Reply(reply.status, [*reply.headers, *extra], reply.body)


def proxy_reply(value: Any) -> Reply | None:
    """API Gateway's reading of a Lambda proxy response; None when it would call it malformed (502)."""
    if not isinstance(value, Mapping):
        return None
    status = value.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    body = value.get("body")
    if body is not None and not isinstance(body, str):
        return None
    raw = (body or "").encode("utf-8")
    if value.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    headers: list[tuple[str, str]] = []
    single = value.get("headers") or {}
    multi = value.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        return None
    for name, values in multi.items():
        headers += [(str(name), str(item)) for item in (values if isinstance(values, list) else [values])]
    taken = {name.lower() for name, _ in headers}
    headers += [(str(name), str(item)) for name, item in single.items() if str(name).lower() not in taken]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Reply(status, headers, raw)


class Gateway:
    """Every stage of every API in the template, behind one listening socket."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = {stage.name: stage for stage in stages}

    def handle(self, request: HttpRequest) -> tuple[Reply, str]:
        split = urlsplit(request.target)
        stage_name, _, rest = split.path.lstrip("/").partition("/")
        stage = self.stages.get(stage_name)
        if stage is None:
            body = b'{"message":"Forbidden"}'
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ForbiddenException")]
            return Reply(403, headers, body), "gateway"
        # The API description (/<stage>/openapi.yaml, /<stage>/docs), unless the template routes the path.
        if request.method == "GET" and stage.match("GET", "/" + rest)[0] is None:
            described = docs.reply_for("/" + rest)
            if described is not None:
                return described, "docs"
        return stage.handle(request, "/" + rest, split.query)


class FramingError(Exception):
    """A request whose framing cannot be trusted: answered `status` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LENGTH = re.compile(r"[0-9]{1,19}")


def _content(line: bytes) -> bytes:
    """A line without its terminator (CRLF, or a lone LF as servers commonly accept)."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith(b"\n") else line


def head_problem(request_line: bytes, header_lines: Sequence[bytes]) -> str | None:
    """What is wrong with a request's head as received (None: nothing). http.client's parser would split
    a header at a bare CR and read on past a folded or nameless line: here they are refused."""
    if b"\r" in _content(request_line) or b"\0" in request_line:
        return "a control character in the request line"
    for line in header_lines:
        content = _content(line)
        if not content:
            break
        if b"\r" in content:
            return "a bare CR in a header"
        if b"\0" in content:
            return "a NUL in a header"
        if content[:1] in (b" ", b"\t"):
            return "an obsolete folded header line"
        name, colon, _ = content.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            return "a malformed header line"
    return None


class _RecordingReader:
    """The connection's reader, keeping the raw lines of a request's head while `recording`."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.lines: list[bytes] = []
        self.recording = False

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self.raw.readline(limit)
        if self.recording:
            self.lines.append(line)
        return line

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.raw.read(size)
        return data

    def read1(self, size: int = -1) -> bytes:
        data: bytes = self.raw.read1(size)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalHttpServer
    timeout = KEEP_ALIVE_SECONDS  # an idle connection, or a request line and headers, wait this long
    rfile: Any

    def setup(self) -> None:
        super().setup()
        self.rfile = _RecordingReader(self.rfile)

    # --- the head ------------------------------------------------------------------------------------
    def parse_request(self) -> bool:
        self.rfile.lines, self.rfile.recording = [], True
        try:
            parsed = super().parse_request()
        finally:
            self.rfile.recording = False
        if not parsed:
            return False
        problem = head_problem(self.raw_requestline, self.rfile.lines)
        if problem is not None:
            self.send_error(400, f"Bad Request: {problem}")
            return False
        return True

    def handle_expect_100(self) -> bool:
        if head_problem(self.raw_requestline, self.rfile.lines) is not None:
            return True  # no 100 Continue for a request about to be refused
        return super().handle_expect_100()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The server's own refusals (bad framing, a line or headers too long...): JSON, and the
        connection closed, since what follows on it cannot be trusted."""
        self.close_connection = True
        text = message or self.responses.get(code, ("Error",))[0]
        body = json.dumps({"message": text}).encode()
        self._write(Reply(code, [("Content-Type", "application/json")], body))
        self.server.log(f"{self.requestline or '-'} -> {code} (HTTP: {text})")

    # --- the body ------------------------------------------------------------------------------------
    def _read_body(self) -> tuple[bytes | None, bool]:
        """The body (None when empty) and whether it is over API Gateway's limit. Every read of it
        waits at most BODY_IDLE_SECONDS, the whole body BODY_SECONDS."""
        deadline = time.monotonic() + BODY_SECONDS
        self.connection.settimeout(BODY_IDLE_SECONDS)
        try:
            return self._body(deadline)
        except TimeoutError:
            raise FramingError(408, "Request Timeout: the body did not arrive in time") from None
        finally:
            self.connection.settimeout(self.timeout)

    def _body(self, deadline: float) -> tuple[bytes | None, bool]:
        codings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if codings:
            if [c.strip().lower() for c in ",".join(codings).split(",")] != ["chunked"]:
                raise FramingError(400, "Bad Request: unsupported Transfer-Encoding")
            if lengths:
                raise FramingError(400, "Bad Request: both Transfer-Encoding and Content-Length")
            return self._chunked(deadline)
        values = {value.strip() for value in lengths}
        if len(values) > 1 or not all(_LENGTH.fullmatch(value) for value in values):
            raise FramingError(400, "Bad Request: invalid Content-Length")
        length = int(values.pop()) if values else 0
        if length > MAX_PAYLOAD_BYTES:
            if length > _DRAIN_LIMIT:
                self.close_connection = True
            else:
                self._exact(length, deadline, keep=False)
            return None, True
        return (self._exact(length, deadline) or None), False

    def _exact(self, length: int, deadline: float, *, keep: bool = True) -> bytes:
        parts, remaining = [], length
        while remaining > 0:
            if time.monotonic() > deadline:
                raise TimeoutError
            part = self.rfile.read1(min(remaining, 1 << 16))  # what has come, so the deadline is seen
            if not part:
                raise FramingError(400, "Bad Request: the body ended before its length")
            remaining -= len(part)
            if keep:
                parts.append(part)
        return b"".join(parts)

    def _chunked(self, deadline: float) -> tuple[bytes | None, bool]:
        chunks, size = [], 0
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            content = _content(line)
            if not line.endswith(b"\n") or b"\r" in content:
                raise FramingError(400, "Bad Request: invalid chunk size line")
            size_text = content.split(b";", 1)[0].strip(b" \t")
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise FramingError(400, "Bad Request: invalid chunk size")
            length = int(size_text, 16)
            if length == 0:
                self._trailers()
                break
            size += length
            if size > _DRAIN_LIMIT:
                self.close_connection = True
                return None, True
            chunk = self._exact(length, deadline, keep=size <= MAX_PAYLOAD_BYTES)
            if size <= MAX_PAYLOAD_BYTES:
                chunks.append(chunk)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise FramingError(400, "Bad Request: a chunk longer than its size")
        return (b"".join(chunks) or None), size > MAX_PAYLOAD_BYTES

    def _trailers(self) -> None:
        for _ in range(_MAX_TRAILERS):
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            if not line.endswith(b"\n"):
                raise FramingError(400, "Bad Request: invalid trailer")
            if line in (b"\r\n", b"\n"):
                return
        raise FramingError(400, "Bad Request: too many trailers")

    # --- the request ---------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        started = time.perf_counter()
        try:
            body, too_large = self._read_body()
        except FramingError as error:
            self.send_error(error.status, error.message)
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            too_large=too_large,
        )
        try:
            reply, answered_by = self.server.gateway.handle(request)
        except Exception:
            import traceback  # noqa: PLC0415

            traceback.print_exc(file=sys.stderr)
            reply = Reply(500, [("Content-Type", "application/json")], b'{"message":"Internal server error"}')
            answered_by = "local runtime error"
        self._write(reply)
        ms = (time.perf_counter() - started) * 1000
        path = urlsplit(self.path).path
        self.server.log(f"{self.command} {path} -> {reply.status} ({answered_by}, {ms:.0f} ms)")

    def _write(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except OSError:  # the client went away: nobody to answer
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, QUERY, ...) goes to the gateway too, which finds no route for it."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line per request is written by `_dispatch` instead."""

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):
            return  # an idle keep-alive connection closed after KEEP_ALIVE_SECONDS: nothing to report
        self.server.log("HTTP error: " + format % args)


class LocalHttpServer(ThreadingHTTPServer):
    """A thread per connection, up to MAX_CONNECTIONS at once; more wait in a backlog of LISTEN_BACKLOG."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self, address: tuple[str, int], gateway: Gateway | None = None, *, quiet: bool = False
    ) -> None:
        super().__init__(address, _Handler)
        self.gateway = gateway or Gateway([])
        self.quiet = quiet
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def log(self, line: str) -> None:
        if not self.quiet:
            say(f"[api] {line}")

    def process_request(self, request: Any, client_address: Any) -> None:
        while not self._slots.acquire(timeout=0.5):
            if self._stopping.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()
