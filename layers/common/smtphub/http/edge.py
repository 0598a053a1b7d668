"""`api(Model)`: the decorator every API handler wears.

It reads the parameters (`smtphub.http.body`), validates them into the endpoint's model, finds the caller's
account in the authorizer's context, calls the handler with a typed `Request`, and turns its result (JSON,
or None for the contract's empty 200) or a domain error into a proxy response, logging one line. A 400's
fields name each parameter as the client spelled it (wherever the InvalidInput was raised: reading, the
model, the service); the log line keeps the canonical names, one name per parameter for an operator.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic_core import PydanticCustomError

from smtphub.errors import DomainError, InvalidInput
from smtphub.http import body
from smtphub.http.errors import (
    INTERNAL,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    describe,
    error_body,
)
from smtphub.http.fields import parse_email, parse_host
from smtphub.http.requests import RequestModel
from smtphub.observability import logger

# The key under requestContext.authorizer where the Lambda authorizer puts the caller's account id
# (the Cognito `sub`). Every /private handler reads the account from here and nowhere else.
ACCOUNT_ID_KEY = "accountId"
# Where it may put the account's e-mail, in order: `email`, else `username` (the e-mail when the pool signs
# in by e-mail). Used for upstream's defaults of a new app; a value that is not an e-mail is none.
ACCOUNT_EMAIL_KEYS = ("email", "username")
JSON = "application/json"
# The contract's empty 200 names a type that is not JSON: with none, API Gateway would add
# `application/json` itself, and a client that trusts it fails to parse the empty body.
EMPTY = "text/plain; charset=utf-8"
# On every response: API answers are not to be cached by browsers or proxies, nor sniffed.
BASE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

M = TypeVar("M", bound=RequestModel)
Event = Mapping[str, Any]
Response = dict[str, Any]
LambdaHandler = Callable[[Event, Any], Response]


@dataclass(frozen=True, slots=True)
class Request(Generic[M]):
    """What a handler needs of an API Gateway event: the validated parameters and who is asking."""

    params: M
    account_id: str
    request_id: str
    source_ip: str | None = None
    account_email: str | None = None  # the caller's e-mail, when the authorizer's context gives one
    origin: str | None = None  # the host of the page that sent it (Origin, else Referer)
    remaining_ms: Callable[[], int] | None = None  # the time left in this invocation (Lambda's context)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A proxy response; None is the contract's empty body, which carries no JSON Content-Type."""
    all_headers = {**BASE_HEADERS, **(headers or {}), "Content-Type": EMPTY}
    text = ""
    if payload is not None:
        all_headers["Content-Type"] = JSON
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return {"statusCode": status, "headers": all_headers, "body": text, "isBase64Encoded": False}


def error_response(error: DomainError, request_id: str) -> Response:
    status, code, extra, headers = describe(error)
    return json_response(status, error_body(status, code, error.message, request_id, **extra), headers)


def request_id_of(event: Event, context: Any) -> str:
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(request_id or getattr(context, "aws_request_id", "") or "unknown")


def account_of(event: Event) -> str:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    account = authorizer.get(ACCOUNT_ID_KEY)
    if not account:
        raise Unauthorized()
    return str(account)


def account_email_of(event: Event) -> str | None:
    """The caller's e-mail from the authorizer's context (ACCOUNT_EMAIL_KEYS), None when it gives none."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    for key in ACCOUNT_EMAIL_KEYS:
        value = authorizer.get(key)
        if isinstance(value, str) and value.strip():
            try:
                return parse_email(value)
            except PydanticCustomError:
                return None
    return None


def source_ip_of(event: Event) -> str | None:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    ip = identity.get("sourceIp")
    return str(ip) if ip else None


def origin_of(event: Event) -> str | None:
    """The host of the page that sent the request: its Origin header's, else its Referer's; None when it
    names none (or not a host name or IP address)."""
    for name in ("origin", "referer"):
        value = (body.header(event, name) or "").strip()
        if not value or value == "null":
            continue
        try:
            host = urlsplit(value).hostname or ""
        except ValueError:
            return None
        try:
            return parse_host(host)
        except PydanticCustomError:
            return None
    return None


def read_params(
    event: Event,
    known: Container[str],
    spellings: dict[str, str] | None = None,
    *,
    max_bytes: int = body.MAX_BODY_BYTES,
    files: dict[str, list[Any]] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The event's raw parameters with names in `known`, and the problems found reading them (a repeated
    or nested parameter); a body that cannot be read at all raises its edge or domain error. `spellings`
    receives the names as the client sent them, `files` the file parts it may take (`body.gather`)."""
    problems: dict[str, str] = {}
    try:
        return body.gather(event, known, problems, spellings, max_bytes=max_bytes, files=files), problems
    except body.BodyTooLarge as large:
        raise PayloadTooLarge.beyond(large.limit) from None
    except body.UnsupportedBody as unsupported:
        raise UnsupportedMediaType(unsupported.message) from None
    except body.BadParameters as bad:
        raise InvalidInput(bad.problems) from None


def parse(event: Event, model: type[M], spellings: dict[str, str] | None = None) -> M:
    """The event's parameters as `model`; one InvalidInput names every bad one (by canonical name). The
    model says how large its body may be, which parameters may be files and which are headers."""
    spelled: dict[str, str] = {} if spellings is None else spellings
    files: dict[str, list[Any]] | None = {name: [] for name in model.FILES} if model.FILES else None
    known = model.request_names() - model.HEADERS
    raw, problems = read_params(event, known, spelled, max_bytes=model.MAX_BODY_BYTES, files=files)
    for name in model.HEADERS:
        sent = next((key for key in event.get("headers") or {} if key.lower() == name), None)
        value = body.header(event, name)
        if sent is not None and value:
            raw[name], spelled[name] = value, sent
    return model.parse(raw, problems, files)


def named_as_sent(error: DomainError, spellings: Mapping[str, str]) -> DomainError:
    """`error`, an InvalidInput's fields named as the client spelled them (`body.as_sent`)."""
    if isinstance(error, InvalidInput) and spellings:
        return InvalidInput(body.as_sent(error.fields, spellings), error.message)
    return error


def api(model: type[M], *, public: bool = False) -> Callable[[Callable[[Request[M]], Any]], LambdaHandler]:
    """Turn `handler(Request[Model]) -> JSON-able | None` into the Lambda handler of an API Gateway route.

    The route's model is built here, at import: in the init phase (which SnapStart and provisioned
    concurrency take off the request path), not on the first request. Models a module declares for other
    routes may defer their build (`defer_build`) and are then never built by this function."""
    model.model_rebuild()

    def wrap(handler: Callable[[Request[M]], Any]) -> LambdaHandler:
        @functools.wraps(handler)
        def lambda_handler(event: Event, context: Any) -> Response:
            started = time.perf_counter()
            request_id = request_id_of(event, context)
            # The logs' correlation id is the requestId every error body gives (read here rather than by
            # Powertools' correlation_id_path: a JMESPath search per request, and cyclic garbage for the GC).
            logger.set_correlation_id(request_id)
            error: DomainError | None = None
            spellings: dict[str, str] = {}
            try:
                account = "" if public else account_of(event)
                email = None if public else account_email_of(event)
                params = parse(event, model, spellings)
                remaining = getattr(context, "get_remaining_time_in_millis", None)
                request = Request(
                    params, account, request_id, source_ip_of(event), email, origin_of(event), remaining
                )
                response = json_response(200, handler(request))
            except DomainError as expected:
                error = expected
                response = error_response(named_as_sent(expected, spellings), request_id)
            except Exception:  # the catch-all: any other failure is a logged 500, never a stack trace out
                logger.exception("unexpected error")
                status, code, message = INTERNAL
                response = json_response(status, error_body(status, code, message, request_id))
            logger.info(
                "request",
                extra={
                    "route": f"{event.get('httpMethod')} {event.get('resource')}",
                    "status": response["statusCode"],
                    "error": describe(error)[1] if error else None,
                    "fields": sorted(error.fields) if isinstance(error, InvalidInput) else None,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response

        wrapped: Any = logger.inject_lambda_context(lambda_handler, log_event=False)
        wrapped.request_model = model  # for the OpenAPI generator and the tests: the route's parameters
        wrapped.public = public
        return wrapped  # type: ignore[no-any-return]

    return wrap
