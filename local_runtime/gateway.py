"""What API Gateway answers by itself: gateway responses (from the template) and method throttling."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Response type -> (default status, default message, x-amzn-ErrorType), as API Gateway has them.
RESPONSE_TYPES: dict[str, tuple[int, str | None, str]] = {
    "ACCESS_DENIED": (403, "User is not authorized to access this resource", "AccessDeniedException"),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "AUTHORIZER_FAILURE": (500, None, "AuthorizerConfigurationException"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, None, "AuthorizerConfigurationException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLargeException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
    "INTEGRATION_FAILURE": (504, "Internal server error", "InternalServerErrorException"),
    # A Lambda error or a malformed proxy response: API Gateway's 502, from the 5XX default.
    "LAMBDA_ERROR": (502, "Internal server error", "InternalServerErrorException"),
    "DEFAULT_4XX": (400, "Bad Request", "BadRequestException"),
    "DEFAULT_5XX": (500, "Internal server error", "InternalServerErrorException"),
}
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][\w.]*)\}|([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*))")


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # name -> mapping expression ('literal', ...)
    templates: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _lookup(variables: Mapping[str, Any], path: str) -> Any:
    value: Any = variables
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def render(template: str, variables: Mapping[str, Any]) -> str:
    """The subset of API Gateway's VTL that gateway responses use: `$context.x.y` and `${context.x}`."""

    def replace(match: re.Match[str]) -> str:
        path = match.group(1) or match.group(2)
        if not path.startswith(("context.", "stageVariables.")):
            return match.group(0)
        value = _lookup(variables, path)
        return "" if value is None else str(value)

    return _VARIABLE.sub(replace, template)


class GatewayResponses:
    def __init__(self, configured: Mapping[str, GatewayResponse] | None = None) -> None:
        self.configured = dict(configured or {})

    @classmethod
    def from_api(cls, responses: Mapping[str, Any] | None) -> GatewayResponses:
        """From a resolved `GatewayResponses` property of an AWS::Serverless::Api."""
        configured = {}
        for kind, spec in (responses or {}).items():
            params = spec.get("ResponseParameters") or {}
            configured[kind] = GatewayResponse(
                status=int(spec["StatusCode"]) if spec.get("StatusCode") else None,
                headers={str(k): str(v) for k, v in (params.get("Headers") or {}).items()},
                templates={str(k): str(v) for k, v in (spec.get("ResponseTemplates") or {}).items()},
            )
        return cls(configured)

    @classmethod
    def from_resources(cls, resources: Sequence[Mapping[str, Any]]) -> GatewayResponses:
        """From resolved AWS::ApiGateway::GatewayResponse properties."""
        configured = {}
        for props in resources:
            headers = {
                key.removeprefix("gatewayresponse.header."): str(value)
                for key, value in (props.get("ResponseParameters") or {}).items()
                if key.startswith("gatewayresponse.header.")
            }
            configured[props["ResponseType"]] = GatewayResponse(
                status=int(props["StatusCode"]) if props.get("StatusCode") else None,
                headers=headers,
                templates={str(k): str(v) for k, v in (props.get("ResponseTemplates") or {}).items()},
            )
        return cls(configured)

    def merged(self, other: GatewayResponses) -> GatewayResponses:
        return GatewayResponses({**self.configured, **other.configured})

    def reply(
        self,
        kind: str,
        context: Mapping[str, Any],
        request_headers: Mapping[str, str],
        *,
        message: str | None = None,
    ) -> Reply:
        """API Gateway's own answer of type `kind`: its customisation, else DEFAULT_4XX/5XX's, else AWS's."""
        default_status, default_message, error_type = RESPONSE_TYPES[kind]
        message = message if message is not None else default_message
        fallback = "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX"
        spec = self.configured.get(kind)
        status = default_status
        if spec is not None:
            status = spec.status or default_status
        else:
            spec = self.configured.get(fallback)
            if spec is not None and spec.status:
                status = spec.status
        templates = spec.templates if spec and spec.templates else {"application/json": DEFAULT_TEMPLATE}
        media_type = "application/json" if "application/json" in templates else next(iter(templates))
        variables = {
            "context": {
                **context,
                "error": {
                    "message": "" if message is None else message,
                    "messageString": json.dumps(message),
                    "responseType": kind if kind != "LAMBDA_ERROR" else "DEFAULT_5XX",
                    "validationErrorString": "",
                },
            }
        }
        body = render(templates[media_type], variables)
        headers: dict[str, str] = {"Content-Type": media_type, "x-amzn-ErrorType": error_type}
        lowered = {name.lower(): value for name, value in request_headers.items()}
        for name, expression in (spec.headers if spec else {}).items():
            value = _header_value(expression, lowered)
            if value is not None:
                headers = {key: item for key, item in headers.items() if key.lower() != name.lower()}
                headers[name] = value
        return Reply(status, list(headers.items()), body.encode("utf-8"))


def _header_value(expression: str, request_headers: Mapping[str, str]) -> str | None:
    if len(expression) >= 2 and expression[0] == expression[-1] == "'":
        return expression[1:-1]
    if expression.startswith("method.request.header."):
        return request_headers.get(expression.removeprefix("method.request.header.").lower())
    return None


# --- Throttling -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    rate: float
    burst: int


class Throttle:
    """API Gateway's per-method token buckets: MethodSettings "/*" "*" is each method's default."""

    def __init__(self, method_settings: Sequence[Mapping[str, Any]] | None) -> None:
        self.limits: dict[tuple[str, str], Limit] = {}
        for setting in method_settings or ():
            if "ThrottlingRateLimit" not in setting and "ThrottlingBurstLimit" not in setting:
                continue
            path = str(setting.get("ResourcePath", "/*"))
            if path.startswith("/~1"):  # "/~1auth~1login" is /auth/login: "/" then the path, "/" as "~1"
                path = path[1:].replace("~1", "/")
            method = str(setting.get("HttpMethod", "*")).upper()
            self.limits[path, method] = Limit(
                rate=float(setting.get("ThrottlingRateLimit", 10000)),
                burst=int(setting.get("ThrottlingBurstLimit", 5000)),
            )
        self._buckets: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def limit(self, resource: str, method: str) -> Limit | None:
        for key in ((resource, method), (resource, "*"), ("/*", method), ("/*", "*")):
            if key in self.limits:
                return self.limits[key]
        return None

    def allow(self, resource: str, method: str) -> bool:
        limit = self.limit(resource, method)
        if limit is None:
            return True
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get((resource, method), [float(limit.burst), now])
            tokens = min(float(limit.burst), tokens + (now - last) * limit.rate)
            allowed = tokens >= 1
            self._buckets[resource, method] = [tokens - 1 if allowed else tokens, now]
        return allowed
