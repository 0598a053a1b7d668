"""What the scrubbing suites share: a secret in each encoding a hostile peer may echo, the logger's lines
while a block runs, and every string of a JSON-like value."""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

from smtphub.observability import logger


def encodings(secret: str) -> dict[str, str]:
    """The secret raw, base64, hex (both cases) and URL-encoded (both ways)."""
    data = secret.encode("utf-8")
    return {
        "raw": secret,
        "base64": base64.b64encode(data).decode(),
        "hex": data.hex(),
        "HEX": data.hex().upper(),
        "quote": quote(data, safe=""),
        "quote_plus": quote_plus(data),
    }


@contextlib.contextmanager
def log_lines() -> Iterator[io.StringIO]:
    """The Powertools logger's JSON lines, written to a buffer while the block runs."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    saved = handler.stream
    handler.stream = buffer
    try:
        yield buffer
    finally:
        handler.stream = saved


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)
