"""Reading a request's parameters the way every handler does (smtphub.http.edge.read_params), on events
built as API Gateway builds them: for the tests of body formats and charsets."""

from __future__ import annotations

from typing import Any

import pytest

from local_runtime.events import build_event
from smtphub.errors import InvalidInput
from smtphub.http.edge import read_params

SAVE = "/private/smtps/save"


def post(body: str | bytes | None, content_type: str | None, **kwargs: Any) -> dict[str, Any]:
    """A POST event; a body that is not UTF-8 arrives base64-encoded, as API Gateway sends it."""
    headers = [("Content-Type", content_type)] if content_type else []
    encoded = body.encode() if isinstance(body, str) else body
    return build_event("POST", SAVE, headers=headers, body=encoded, **kwargs)


class _Every:
    def __contains__(self, name: object) -> bool:
        return True


def raw_params(event: dict[str, Any], known: Any = None) -> dict[str, str]:
    """What the edge reads before any model (every name unless `known` is given); its problems raise."""
    params, problems = read_params(event, _Every() if known is None else known)
    if problems:
        raise InvalidInput(problems)
    return params


def bad_fields(event: dict[str, Any], known: Any = None) -> dict[str, str]:
    with pytest.raises(InvalidInput) as error:
        raw_params(event, known)
    return error.value.fields
