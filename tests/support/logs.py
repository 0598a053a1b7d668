"""The logs the code writes, for the tests that assert what is (and is not) in them."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest


@pytest.fixture
def captured_logs(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Any:
    """Everything the code logs (Powertools writes JSON lines to stdout), as one string."""
    caplog.set_level(logging.DEBUG)

    def read() -> str:
        out, err = capsys.readouterr()
        return out + err + caplog.text

    return read


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The JSON lines the Powertools logger writes, as Lambda would ship them (parsed, in order).

    Its handler keeps the stdout it found at import time, out of capsys' reach: point it at a buffer.
    """
    import io

    from smtphub.observability import logger

    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    return read
