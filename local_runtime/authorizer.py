"""A Lambda TOKEN authorizer, run as API Gateway runs it.

1. The identity source (a header) must be present and match the validation expression, else 401
   UNAUTHORIZED without invoking anything.
2. A cached policy for the same token (ReauthorizeEvery seconds, 0 = no cache) is reused; otherwise
   the authorizer function is invoked with the TOKEN event.
3. The function raising "Unauthorized" is a 401; any other error or a malformed answer is a 500;
   a policy that denies the method ARN (explicitly, or by not allowing it) is a 403 ACCESS_DENIED.
4. Allowed: the policy's `context` (values as strings) plus `principalId` become
   `requestContext.authorizer` of the event the route's function receives.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local_runtime.events import build_token_authorizer_event
from local_runtime.functions import LocalFunction

ALLOWED_ACTIONS = ("execute-api:Invoke", "execute-api:*", "*")


@dataclass(frozen=True)
class Decision:
    """Either `authorizer` (the requestContext.authorizer to pass on) or a gateway response type."""

    authorizer: dict[str, Any] | None = None
    refusal: str | None = (
        None  # UNAUTHORIZED, ACCESS_DENIED, AUTHORIZER_FAILURE, AUTHORIZER_CONFIGURATION_ERROR
    )
    message: str | None = None
    cold_start_ms: float | None = None  # the authorizer's environment was started for this call


class PolicyError(ValueError):
    """The authorizer's answer is not a valid IAM policy answer (API Gateway's 500)."""


def _as_list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _matches(pattern: str, arn: str) -> bool:
    return fnmatch.fnmatchcase(arn, pattern)


def evaluate(answer: Any, method_arn: str) -> tuple[bool, bool]:
    """(allowed, explicitly denied) for `method_arn` under the authorizer's policy."""
    if not isinstance(answer, Mapping) or not answer.get("principalId"):
        raise PolicyError("the answer needs a principalId")
    document = answer.get("policyDocument")
    if not isinstance(document, Mapping) or not isinstance(document.get("Statement"), list | Mapping):
        raise PolicyError("the answer needs a policyDocument with a Statement")
    statements = document["Statement"]
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = denied = False
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError("every statement needs an Effect of Allow or Deny")
        actions = _as_list(statement.get("Action", []))
        if not any(action in ALLOWED_ACTIONS for action in actions):
            continue
        if not any(_matches(resource, method_arn) for resource in _as_list(statement.get("Resource", []))):
            continue
        if statement["Effect"] == "Deny":
            denied = True
        else:
            allowed = True
    return allowed and not denied, denied


def _context(answer: Mapping[str, Any]) -> dict[str, Any]:
    context = answer.get("context") or {}
    if not isinstance(context, Mapping):
        raise PolicyError("context must be an object")
    passed: dict[str, Any] = {}
    for key, value in context.items():
        if isinstance(value, bool):
            passed[str(key)] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            passed[str(key)] = str(value)
        elif value is not None:
            raise PolicyError("context values must be strings, numbers or booleans")
    return passed


class TokenAuthorizer:
    def __init__(
        self,
        name: str,
        function: LocalFunction,
        *,
        header: str = "Authorization",
        validation: str | None = None,
        ttl: int = 300,
    ) -> None:
        self.name = name
        self.function = function
        self.header = header
        self.validation = re.compile(validation) if validation else None
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Mapping[str, Any]]] = {}
        self._lock = threading.Lock()

    def _token(self, headers: Mapping[str, str]) -> str | None:
        wanted = self.header.lower()
        values = [value for name, value in headers.items() if name.lower() == wanted]
        return values[-1] if values else None

    def _answer(
        self, token: str, method_arn: str
    ) -> tuple[Mapping[str, Any] | None, Decision | None, float | None]:
        """The policy (cached or fresh), or the refusal; and the cold start it took, if any."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(token)
            if cached and cached[0] > now:
                return cached[1], None, None
        outcome = self.function.invoke(build_token_authorizer_event(token, method_arn))
        cold = outcome.cold_start_ms
        if outcome.timed_out or outcome.error is not None:
            if outcome.error == "Unauthorized":
                return None, Decision(refusal="UNAUTHORIZED", cold_start_ms=cold), cold
            return None, Decision(refusal="AUTHORIZER_FAILURE", cold_start_ms=cold), cold
        if not isinstance(outcome.value, Mapping):
            return None, Decision(refusal="AUTHORIZER_CONFIGURATION_ERROR", cold_start_ms=cold), cold
        if self.ttl > 0:
            with self._lock:
                self._cache[token] = (now + self.ttl, outcome.value)
        return outcome.value, None, cold

    def authorize(self, headers: Mapping[str, str], method_arn: str) -> Decision:
        token = self._token(headers)
        if not token or (self.validation is not None and not self.validation.fullmatch(token)):
            return Decision(refusal="UNAUTHORIZED")
        answer, refused, cold = self._answer(token, method_arn)
        if refused is not None or answer is None:
            return refused or Decision(refusal="AUTHORIZER_FAILURE", cold_start_ms=cold)
        try:
            allowed, denied = evaluate(answer, method_arn)
            context = _context(answer)
        except PolicyError:
            return Decision(refusal="AUTHORIZER_CONFIGURATION_ERROR", cold_start_ms=cold)
        if not allowed:
            message = "User is not authorized to access this resource"
            return Decision(
                refusal="ACCESS_DENIED",
                message=message + (" with an explicit deny" if denied else ""),
                cold_start_ms=cold,
            )
        return Decision(
            authorizer={**context, "principalId": str(answer["principalId"]), "integrationLatency": 0},
            cold_start_ms=cold,
        )
