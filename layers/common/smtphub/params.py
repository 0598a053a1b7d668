"""Strict parameter parsing, as the contract's *Requests* section says.

A `Spec` declares an endpoint's parameters; `Spec.parse` turns the raw strings of a request (already
merged, lower-cased and de-aliased by `smtphub.http`) into typed values, and reports every bad
parameter at once as a 400 with `fields`. Messages never repeat the value they reject.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from smtphub.errors import BadRequest

# Parameter spellings accepted besides the canonical (lower-case) name.
ALIASES: dict[str, str] = {
    "ssl_tls": "ssltls",
    "defaulfromemail": "defaultfromemail",  # the upstream page's typo
}

MAX_HOST = 253
MAX_USERNAME = 320
MAX_PASSWORD = 1024
MAX_NAME = 200
MAX_EMAIL = 320

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ID = re.compile(r"[0-9a-fA-F]{24}")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# Pragmatic address check: one @, a local part without spaces or controls, a DNS domain with a dot.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f<>()\[\],;:\"]{1,64}@([^@\s]+)")


class Invalid(ValueError):
    """Raised by a parser with the message to show for the field."""


Parser = Callable[[str], Any]
# Problems across an endpoint's parameters: (the good values, the names of the bad ones) -> {name: problem}.
Rules = Callable[[Mapping[str, Any], Collection[str]], dict[str, str]]


def canonical_name(name: str) -> str:
    """Case-insensitive parameter names, with the contract's aliases folded in."""
    lowered = name.lower()
    return ALIASES.get(lowered, lowered)


def boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise Invalid("must be true or false")


def integer(low: int, high: int) -> Parser:
    message = f"must be an integer from {low} to {high}"

    def parse(raw: str) -> int:
        value = raw.strip()
        # Digits only (no sign, no decimal point); the length test keeps int() away from huge inputs.
        if not value.isascii() or not value.isdigit() or len(value) > len(str(high)) + 1:
            raise Invalid(message)
        number = int(value)
        if not low <= number <= high:
            raise Invalid(message)
        return number

    return parse


def text(max_length: int) -> Parser:
    """A trimmed single-line string (no control characters: these values end up in mail headers)."""

    def parse(raw: str) -> str:
        value = raw.strip()
        if len(value) > max_length:
            raise Invalid(f"must be at most {max_length} characters")
        if _CONTROL.search(value):
            raise Invalid("must not contain control characters")
        return value

    return parse


def secret(max_length: int) -> Parser:
    """A password: kept exactly as sent, bounded, never echoed."""

    def parse(raw: str) -> str:
        if len(raw) > max_length:
            raise Invalid(f"must be at most {max_length} characters")
        if "\x00" in raw:
            raise Invalid("must not contain NUL characters")
        return raw

    return parse


def identifier(raw: str) -> str:
    value = raw.strip()
    if not _ID.fullmatch(value):
        raise Invalid("must be a 24-character hexadecimal id")
    return value.lower()


def is_dns_name(value: str) -> bool:
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > MAX_HOST:
        return False
    labels = name.split(".")
    # An all-numeric last label would be an IPv4 literal in disguise (e.g. 127.1): not a DNS name.
    return all(_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


def host(raw: str) -> str:
    """A DNS name or an IP literal: no scheme, path, port, user info or spaces."""
    value = raw.strip()
    if len(value) > MAX_HOST:
        raise Invalid(f"must be at most {MAX_HOST} characters")
    literal = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    if is_dns_name(value):
        return value.lower()
    raise Invalid("must be a host name or IP address (no scheme, port or path)")


def email(raw: str) -> str:
    value = raw.strip()
    if len(value) > MAX_EMAIL:
        raise Invalid(f"must be at most {MAX_EMAIL} characters")
    match = _EMAIL.fullmatch(value)
    if not match or not is_dns_name(match.group(1)) or "." not in match.group(1).strip("."):
        raise Invalid("must be an e-mail address")
    return value


def choice(*options: str) -> Parser:
    message = "must be one of " + ", ".join(options)

    def parse(raw: str) -> str:
        value = raw.strip().upper()
        if value not in options:
            raise Invalid(message)
        return value

    return parse


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    parse: Parser
    required: bool = False
    verbatim: bool = False  # whitespace is part of the value (passwords); otherwise blank = absent


REQUIRED_WITH_AUTH = "is required when auth is true"
SMTP_CREATE_REQUIRED = ("idapp", "host", "port")


def smtp_settings_problems(
    *, auth: bool, username: str | None, has_password: bool, starttls: bool, ssltls: bool
) -> dict[str, str]:
    """The rules across an SMTP server's fields, on the values it will have once saved."""
    problems: dict[str, str] = {}
    if starttls and ssltls:
        problems["ssltls"] = "cannot be true together with starttls"
    if auth and not username:
        problems["username"] = REQUIRED_WITH_AUTH
    if auth and not has_password:
        problems["password"] = REQUIRED_WITH_AUTH
    return problems


def smtp_save_rules(values: Mapping[str, Any], bad: Collection[str]) -> dict[str, str]:
    """smtps/save's rules that the request alone decides: all of them on create (no idsmtp).

    An edit is checked on the server as it will be stored (smtphub.services); here only a request that
    contradicts itself (starttls and ssltls both true) is certain to be refused. A parameter in `bad` has
    a problem of its own, which `smtphub.http.parse` reports instead of any found here.
    """
    if "idsmtp" in values or "idsmtp" in bad:
        both = values.get("starttls") is True and values.get("ssltls") is True
        return {"ssltls": "cannot be true together with starttls"} if both else {}
    problems = {name: "is required" for name in SMTP_CREATE_REQUIRED if name not in values}
    problems.update(
        smtp_settings_problems(
            auth=values.get("auth", False),
            username=values.get("username"),
            has_password="password" in values,
            starttls=values.get("starttls", False),
            ssltls=values.get("ssltls", False),
        )
    )
    return problems


def app_save_rules(values: Mapping[str, Any], bad: Collection[str]) -> dict[str, str]:
    """apps/save: a create (no idapp) needs a name."""
    if "idapp" in values or "idapp" in bad or "name" in values:
        return {}
    return {"name": "is required"}


def smtp_target(values: Mapping[str, Any]) -> str:
    """The SMTP id of a remove or check request (parsed with SMTP_TARGET)."""
    target = values.get("idsmtp") or values.get("idapp")
    if target is None:
        raise BadRequest({"idsmtp": "is required"})
    return str(target)


class Spec:
    """The parameters of one endpoint."""

    def __init__(self, *params: Param) -> None:
        self.params = params
        self.names = frozenset(param.name for param in params)

    def parse(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """Typed values of the parameters present; raises BadRequest naming every bad one."""
        values, errors = self.check(raw)
        if errors:
            raise BadRequest(errors)
        return values

    def check(self, raw: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """The typed values of the good parameters, and the problem of each bad or missing one."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for param in self.params:
            value = raw.get(param.name)
            if value is None or value == "" or (not param.verbatim and not value.strip()):
                if param.required:
                    errors[param.name] = "is required"
                continue
            try:
                values[param.name] = param.parse(value)
            except Invalid as problem:
                errors[param.name] = str(problem)
        return values, errors


# The endpoints' parameters, named as in the contract's tables.
IDAPP = Param("idapp", identifier, required=True)
IDSMTP = Param("idsmtp", identifier, required=True)

SMTP_FIELDS = (
    Param("idapp", identifier),
    Param("priority", integer(0, 1_000_000)),
    Param("host", host),
    Param("port", integer(1, 65535)),
    Param("username", text(MAX_USERNAME)),
    Param("password", secret(MAX_PASSWORD), verbatim=True),
    Param("auth", boolean),
    Param("starttls", boolean),
    Param("ssltls", boolean),
    Param("debug", boolean),
    Param("defaultfromemail", email),
    Param("defaultfromname", text(MAX_NAME)),
)
SMTP_SAVE = Spec(Param("idsmtp", identifier), *SMTP_FIELDS)
SMTP_BY_ID = Spec(IDSMTP)
# remove and check: the upstream page calls the SMTP id `idapp`; read it so when `idsmtp` is absent.
SMTP_TARGET = Spec(Param("idsmtp", identifier), Param("idapp", identifier))
SMTP_BY_APP = Spec(IDAPP)

APP_SAVE = Spec(
    Param("idapp", identifier),
    Param("name", text(MAX_NAME)),
    Param("testemail", email),
    Param("defaultfromemail", email),
    Param("defaultfromname", text(MAX_NAME)),
    Param("strategy", choice("RANDOM", "PRIORITY")),
)
APP_BY_ID = Spec(IDAPP)
APP_PAGE = Spec(Param("page", integer(0, 1_000_000)), Param("size", integer(1, 100)))

# POST /auth/login. A wrong username is Cognito's to refuse (403), so it is not checked as an e-mail here;
# passwords are bounded by Cognito's own limit of 256 characters.
MAX_LOGIN_PASSWORD = 256
LOGIN = Spec(
    Param("username", text(MAX_EMAIL), required=True),
    Param("password", secret(MAX_LOGIN_PASSWORD), required=True, verbatim=True),
)
