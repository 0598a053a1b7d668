"""The contract's parameter types, for the request models: each parses the string a client sent.

Strict on purpose (the contract's *Requests* section): booleans are true/false, 1/0, yes/no in any case;
integers are decimal digits only; text is trimmed and may not hold characters of the Unicode categories
Cc, Cf, Zl, Zp or Cs (they end up in mail headers and log lines). A message never repeats the value.
Each type also carries its JSON Schema, from which `make openapi` writes openapi.yaml.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from smtphub.addresses import MAX_EMAIL, MAX_HOST, is_address, is_dns_name

MAX_USERNAME = 320
MAX_PASSWORD = 1024
MAX_NAME = 200
MAX_LOGIN_PASSWORD = 256  # Cognito's own limit

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_ID = re.compile(r"[0-9a-fA-F]{24}")


def invalid(message: str) -> PydanticCustomError:
    """The one kind of error a parser raises: its message is what the 400 says about the field."""
    return PydanticCustomError("invalid", message)


def text_of(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid("must be text")
    return value


def forbidden_character(value: str) -> bool:
    """Whether `value` holds a control, format, line/paragraph separator or surrogate character."""
    if value.isprintable():  # the fast path: printable text holds none of them
        return False
    return any(unicodedata.category(character) in _FORBIDDEN_CATEGORIES for character in value)


def _boolean(value: Any) -> bool:
    text = text_of(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid("must be true or false")


def integer(low: int, high: int) -> Callable[[Any], int]:
    message = f"must be an integer from {low} to {high}"

    def parse(value: Any) -> int:
        text = text_of(value).strip()
        # Digits only (no sign, no decimal point); the length test keeps int() away from huge inputs.
        if not text.isascii() or not text.isdigit() or len(text) > len(str(high)) + 1:
            raise invalid(message)
        number = int(text)
        if not low <= number <= high:
            raise invalid(message)
        return number

    return parse


def at_most(max_length: int, text: str) -> str:
    """`text`, when it has at most `max_length` characters."""
    if len(text) > max_length:
        raise invalid(f"must be at most {max_length} characters")
    return text


def _text(max_length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = at_most(max_length, text_of(value).strip())
        if forbidden_character(text):
            raise invalid("must not contain control, format or line separator characters")
        return text

    return parse


def secret(max_length: int) -> Callable[[Any], str]:
    """A password: kept exactly as sent (spaces included), bounded, never echoed."""

    def parse(value: Any) -> str:
        text = at_most(max_length, text_of(value))
        if "\x00" in text:
            raise invalid("must not contain NUL characters")
        if any("\ud800" <= character <= "\udfff" for character in text):
            raise invalid("must not contain lone surrogates (it must be valid Unicode)")
        return text

    return parse


def _identifier(value: Any) -> str:
    text = text_of(value).strip()
    if not _ID.fullmatch(text):
        raise invalid("must be a 24-character hexadecimal id")
    return text.lower()


def parse_host(value: Any) -> str:
    """A DNS name or an IP literal: no scheme, path, port, user info or spaces."""
    text = at_most(MAX_HOST, text_of(value).strip())
    literal = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    if is_dns_name(text):
        return text.lower()
    raise invalid("must be a host name or IP address (no scheme, port or path)")


def parse_email(value: Any) -> str:
    text = at_most(MAX_EMAIL, text_of(value).strip())
    if forbidden_character(text) or not is_address(text):
        raise invalid("must be an e-mail address")
    return text


def one_of(*options: str) -> Callable[[Any], str]:
    """One of `options`, in any ASCII case, stored as the option is spelled. No Unicode case mapping: a
    dotless i upper-cases to I, and a word spelled with it is not a spelling of an option."""
    message = "must be one of " + ", ".join(options)
    spelled = {option.lower(): option for option in options}

    def parse(value: Any) -> str:
        text = text_of(value).strip()
        if not text.isascii() or text.lower() not in spelled:
            raise invalid(message)
        return spelled[text.lower()]

    return parse


def integer_schema(low: int, high: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "integer", "minimum": low, "maximum": high})


def text_schema(max_length: int, **extra: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "maxLength": max_length, **extra})


SECRET_SCHEMA = {"writeOnly": True, "format": "password"}

Boolean = Annotated[bool, PlainValidator(_boolean), WithJsonSchema({"type": "boolean"})]
Id = Annotated[
    str, PlainValidator(_identifier), WithJsonSchema({"type": "string", "pattern": "^[0-9a-fA-F]{24}$"})
]
Host = Annotated[str, PlainValidator(parse_host), text_schema(MAX_HOST)]
Email = Annotated[str, PlainValidator(parse_email), text_schema(MAX_EMAIL, format="email")]
Port = Annotated[int, PlainValidator(integer(1, 65535)), integer_schema(1, 65535)]
Priority = Annotated[int, PlainValidator(integer(0, 1_000_000)), integer_schema(0, 1_000_000)]
# maxperminute, maxperday: 1 to 1,000,000 messages; 0 lifts the limit (a blank value would keep it)
SendLimit = Annotated[int, PlainValidator(integer(0, 1_000_000)), integer_schema(0, 1_000_000)]
PageNumber = Annotated[int, PlainValidator(integer(0, 1_000_000)), integer_schema(0, 1_000_000)]
PageSize = Annotated[int, PlainValidator(integer(1, 100)), integer_schema(1, 100)]
Name = Annotated[str, PlainValidator(_text(MAX_NAME)), text_schema(MAX_NAME)]
Username = Annotated[str, PlainValidator(_text(MAX_USERNAME)), text_schema(MAX_USERNAME)]
LoginName = Annotated[str, PlainValidator(_text(MAX_EMAIL)), text_schema(MAX_EMAIL)]
Password = Annotated[str, PlainValidator(secret(MAX_PASSWORD)), text_schema(MAX_PASSWORD, **SECRET_SCHEMA)]
LoginPassword = Annotated[
    str, PlainValidator(secret(MAX_LOGIN_PASSWORD)), text_schema(MAX_LOGIN_PASSWORD, **SECRET_SCHEMA)
]
Strategy = Annotated[
    str,
    PlainValidator(one_of("RANDOM", "PRIORITY")),
    WithJsonSchema({"type": "string", "enum": ["RANDOM", "PRIORITY"]}),
]
