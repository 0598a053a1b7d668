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

from local_runtime import docs
from local_runtime.authorizer import TokenAuthorizer
from local_runtime.cfn import ACCOUNT_ID, REGION
from local_runtime.events import build_event, method_arn
from local_runtime.functions import LocalFunction
from local_runtime.gateway import GatewayResponses, Reply, Throttle

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's limit
_DRAIN_LIMIT = 64 * 1024 * 1024  # past this a too-large body is not even read: the connection is closed
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
    ) -> None:
        self.name = name
        self.routes = sorted(routes, key=lambda route: route.specificity, reverse=True)
        self.responses = responses
        self.throttle = throttle
        # Routes without an authorizer get this context, when the template declares no authorizer at all
        # (except the routes declared public with `Authorizer: NONE`, given as (method, resource)).
        self.fallback_identity = dict(fallback_identity) if fallback_identity is not None else None
        self.public = set(public)

    def match(self, method: str, path: str) -> tuple[ApiRoute | None, dict[str, str]]:
        path = "/" + path.strip("/")  # API Gateway ignores a trailing slash
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found and route.method in (method, "ANY"):
                return route, {name: unquote(value) for name, value in found.groupdict().items()}
        return None, {}

    def handle(self, request: HttpRequest, path: str, query: str) -> tuple[Reply, str]:  # noqa: PLR0911
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

        def refuse(kind: str, message: str | None = None) -> tuple[Reply, str]:
            reply = self.responses.reply(kind, context, header_map, message=message)
            return _with_ids(reply, request_id), "gateway"

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
        )
        event["path"] = path
        event["requestContext"]["path"] = f"/{self.name}{path}"
        event["pathParameters"] = path_parameters or None
        outcome = route.function.invoke(event, limit=INTEGRATION_TIMEOUT_SECONDS)
        if outcome.timed_out:
            return refuse("INTEGRATION_TIMEOUT")
        reply = proxy_reply(outcome.value) if outcome.ok else None
        if reply is None:
            if outcome.ok:
                print(f"{route.function.name}: malformed Lambda proxy response", file=sys.stderr)
            return refuse("LAMBDA_ERROR")
        return _with_ids(reply, request_id), route.function.name


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalHttpServer

    def _read_body(self) -> tuple[bytes | None, bool]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                size += length
                if size > _DRAIN_LIMIT:
                    self.close_connection = True
                    return None, True
                chunk = self.rfile.read(length)
                self.rfile.readline()
                if size <= MAX_PAYLOAD_BYTES:
                    chunks.append(chunk)
            return (b"".join(chunks) or None), size > MAX_PAYLOAD_BYTES
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            if length > _DRAIN_LIMIT:
                self.close_connection = True
            else:
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            return None, True
        return (self.rfile.read(length) if length else None), False

    def _dispatch(self) -> None:
        started = time.perf_counter()
        body, too_large = self._read_body()
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
        ms = (time.perf_counter() - started) * 1000
        path = urlsplit(self.path).path
        self.server.log(f"{self.command} {path} -> {reply.status} ({answered_by}, {ms:.0f} ms)")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, QUERY, ...) goes to the gateway too, which finds no route for it."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line per request is written by `_dispatch` instead."""

    def log_error(self, format: str, *args: Any) -> None:
        self.server.log("HTTP error: " + format % args)


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], gateway: Gateway | None = None, *, quiet: bool = False
    ) -> None:
        super().__init__(address, _Handler)
        self.gateway = gateway or Gateway([])
        self.quiet = quiet
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def log(self, line: str) -> None:
        if not self.quiet:
            print(f"[api] {line}", flush=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()
