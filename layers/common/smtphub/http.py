"""The HTTP edge: API Gateway REST proxy events in, proxy responses out.

`api(spec)` wraps a handler: it reads the parameters as the contract's *Requests* section says,
finds the caller's account, calls the handler with a `Request`, and turns its result (or a domain
exception) into a response. This is the one place where errors become HTTP.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import time
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.logging import correlation_paths

from smtphub.errors import (
    ApiError,
    BadRequest,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    error_body,
)
from smtphub.observability import logger
from smtphub.params import Rules, Spec, canonical_name

# The key under requestContext.authorizer where the Lambda authorizer puts the caller's account id
# (the Cognito `sub`). Every /private handler reads the account from here and nowhere else.
ACCOUNT_ID_KEY = "accountId"
MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 1000  # far more than any endpoint has; bounds the work a form body can cause
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# On every response: API answers are not to be cached by browsers or proxies, nor sniffed.
BASE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

Event = Mapping[str, Any]
Response = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler needs of an API Gateway event."""

    params: dict[str, Any]
    account_id: str
    request_id: str
    source_ip: str | None = None


def json_response(status: int, body: Any) -> Response:
    headers = {**BASE_HEADERS}
    if body is None:
        text = ""
    else:
        headers["Content-Type"] = JSON
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return {"statusCode": status, "headers": headers, "body": text, "isBase64Encoded": False}


def error_response(error: ApiError, request_id: str) -> Response:
    return json_response(
        error.status, error_body(error.status, error.code, error.message, request_id, **error.extra)
    )


def request_id_of(event: Event, context: Any) -> str:
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(request_id or getattr(context, "aws_request_id", "") or "unknown")


def header(event: Event, name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value) if value is not None else None
    return None


def _collect(
    pairs: Iterable[tuple[str, Any]], known: Container[str], problems: dict[str, str]
) -> dict[str, str]:
    """The endpoint's parameters under their canonical names; unknown names are ignored, empty values
    are absent, and a parameter given twice with different values is recorded in `problems`."""
    values: dict[str, str] = {}
    for name, value in pairs:
        key = canonical_name(name)
        if key not in known or value is None or value == "":
            continue
        if isinstance(value, Nested):
            problems[key] = "must be a single value"
        elif key in values and values[key] != value:
            problems[key] = "is given more than once with different values"
        values[key] = value
    return values


class Nested(str):
    """A JSON member that is an object or array: only a problem when the endpoint has that parameter."""

    __slots__ = ()


def _query_pairs(event: Event) -> Iterable[tuple[str, str]]:
    multi = event.get("multiValueQueryStringParameters")
    if multi:
        return ((name, value) for name, values in multi.items() for value in values or ())
    return (event.get("queryStringParameters") or {}).items()


def _json_pairs(text: str) -> list[tuple[str, str]]:
    try:
        document = json.loads(text)
    except ValueError:
        raise BadRequest({"body": "must be a JSON object"}) from None
    if not isinstance(document, dict):
        raise BadRequest({"body": "must be a JSON object"})
    pairs: list[tuple[str, str]] = []
    for name, value in document.items():
        if isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, str | int | float):
            pairs.append((name, str(value)))
        elif value is not None:
            pairs.append((name, Nested("nested")))
    return pairs


def _body_pairs(event: Event) -> list[tuple[str, str]]:
    body = event.get("body")
    if not body:
        return []
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest({"body": "is not valid base64"}) from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    media_type = (header(event, "content-type") or "").split(";", 1)[0].strip().lower()
    if media_type not in (FORM, JSON):
        raise UnsupportedMediaType()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest({"body": "must be UTF-8"}) from None
    if media_type == JSON:
        return _json_pairs(text)
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # more fields than max_num_fields: the client's fault, not a 500
        raise BadRequest({"body": "has too many parameters"}) from None


class _Everything:
    def __contains__(self, name: object) -> bool:
        return True


def gather(event: Event, known: Container[str], problems: dict[str, str]) -> dict[str, str]:
    """The endpoint's parameters (names in `known`): query values, overridden by body values for POST.

    A known parameter given twice with different values, or as a JSON object or array, is recorded
    in `problems`, so that the 400 names it beside every other bad parameter."""
    params = _collect(_query_pairs(event), known, problems)
    if event.get("httpMethod", "GET").upper() == "POST":
        params.update(_collect(_body_pairs(event), known, problems))
    return params


def raw_params(event: Event, known: Container[str] | None = None) -> dict[str, str]:
    """`gather` on its own (every name, unless `known` is given): its problems raise a 400 at once."""
    problems: dict[str, str] = {}
    params = gather(event, _Everything() if known is None else known, problems)
    if problems:
        raise BadRequest(problems)
    return params


def account_of(event: Event) -> str:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    account = authorizer.get(ACCOUNT_ID_KEY)
    if not account:
        raise Unauthorized()
    return str(account)


Handler = Callable[[Request], Any]
LambdaHandler = Callable[[Event, Any], Response]


def parse(event: Event, spec: Spec, rules: Rules | None = None) -> dict[str, Any]:
    """The request's typed parameters; one 400 names every bad one, the rules' findings included."""
    problems: dict[str, str] = {}
    values, errors = spec.check(gather(event, spec.names, problems))
    errors.update(problems)
    if rules is not None:
        errors = {**rules(values, errors.keys()), **errors}  # a parameter's own problem comes first
    if errors:
        raise BadRequest(errors)
    return values


def api(
    spec: Spec, *, public: bool = False, rules: Rules | None = None
) -> Callable[[Handler], LambdaHandler]:
    """Turn `handler(Request) -> JSON-able | None` into a Lambda handler for an API Gateway route.

    `rules(values, bad_names)` reports problems across parameters (a create's required fields, two
    settings that exclude each other) in the same 400 as the parameters' own.
    """

    def wrap(handler: Handler) -> LambdaHandler:
        @functools.wraps(handler)
        def lambda_handler(event: Event, context: Any) -> Response:
            started = time.perf_counter()
            request_id = request_id_of(event, context)
            error: ApiError | None = None
            try:
                account = "" if public else account_of(event)
                params = parse(event, spec, rules)
                result = handler(Request(params, account, request_id, _source_ip(event)))
                response = json_response(200, result)
            except ApiError as expected:
                error = expected
                response = error_response(expected, request_id)
            except Exception:
                logger.exception("unexpected error")
                response = error_response(ApiError(), request_id)
            logger.info(
                "request",
                extra={
                    "route": f"{event.get('httpMethod')} {event.get('resource')}",
                    "status": response["statusCode"],
                    "error": error.code if error else None,
                    "fields": sorted(error.extra.get("fields", ())) if error else None,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response

        return logger.inject_lambda_context(
            lambda_handler, correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False
        )

    return wrap


def _source_ip(event: Event) -> str | None:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    ip = identity.get("sourceIp")
    return str(ip) if ip else None
