"""The edge of the public routes a recipient's mail client reaches (no authorizer, no JSON): the open
pixel, a tracked link, the unsubscribe page and its one-click POST (smtphub.tracking).

`public(handler)` wraps `handler(Visit, event) -> Response`: the token from the query (`t`), the source IP;
one log line per request (route, status, ms; never the token, which names the recipient); any failure a
fallback answer the handler module gives (the pixel stays a pixel), never a stack trace.

Answers: `pixel()` (a 1x1 transparent GIF, base64 for API Gateway, which turns it back into bytes: the
API's BinaryMediaTypes is `*/*`), `redirect(url)` (302), `page(...)` (a small HTML page, no external
resource, a strict Content-Security-Policy that allows no script, style or frame).
"""

from __future__ import annotations

import base64
import functools
import html
import time
from collections.abc import Callable, Mapping
from typing import Any

from smtphub.observability import logger
from smtphub.tracking.models import Visit

Event = Mapping[str, Any]
Response = dict[str, Any]
# GIF89a, 1x1, one transparent colour (the smallest image every mail client shows as nothing).
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


def pixel() -> Response:
    headers = {**NO_CACHE, "Content-Type": "image/gif"}
    body = base64.b64encode(GIF).decode("ascii")
    return {"statusCode": 200, "headers": headers, "body": body, "isBase64Encoded": True}


def redirect(url: str) -> Response:
    headers = {**NO_CACHE, "Location": url, "Content-Type": "text/plain; charset=utf-8"}
    return {"statusCode": 302, "headers": headers, "body": "", "isBase64Encoded": False}


def page(status: int, title: str, text: str, button: str | None = None) -> Response:
    """A plain page: a heading, a paragraph, and (when `button`) a form that POSTs RFC 8058's one-click body
    to the same URL."""
    form = ""
    if button:
        form = (
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit">{html.escape(button)}</button></form>'
        )
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p>{form}</main></body></html>"
    )
    headers = {
        **NO_CACHE,
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
    }
    return {"statusCode": status, "headers": headers, "body": document, "isBase64Encoded": False}


def visit_of(event: Event) -> Visit:
    """The request's token (`t`, from the query: a form body's own fields are ignored) and source IP."""
    token = (event.get("queryStringParameters") or {}).get("t")
    identity = (event.get("requestContext") or {}).get("identity") or {}
    ip = identity.get("sourceIp")
    return Visit(token if isinstance(token, str) else "", str(ip) if ip else None)


def public(
    fallback: Callable[[], Response],
) -> Callable[[Callable[[Visit, Event], Response]], Callable[[Event, Any], Response]]:
    """The Lambda handler of a public route: `handler(visit, event)`, or `fallback()` when it fails."""

    def wrap(handler: Callable[[Visit, Event], Response]) -> Callable[[Event, Any], Response]:
        @functools.wraps(handler)
        def lambda_handler(event: Event, context: Any) -> Response:
            started = time.perf_counter()
            try:
                response = handler(visit_of(event), event)
            except Exception:  # logged; the recipient gets the route's plain answer
                logger.exception("unexpected error")
                response = fallback()
            logger.info(
                "request",
                extra={
                    "route": f"{event.get('httpMethod')} {event.get('resource')}",
                    "status": response["statusCode"],
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response

        wrapped: Any = logger.inject_lambda_context(lambda_handler, log_event=False)
        wrapped.public_page = True  # for the OpenAPI generator: no request model, not JSON
        return wrapped  # type: ignore[no-any-return]

    return wrap
