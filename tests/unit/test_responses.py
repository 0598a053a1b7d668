"""The response bodies are their TypedDicts (smtphub.http.responses), member for member and in order.

mypy checks that each serializer writes every member of its TypedDict with its type and no other; what it
cannot check is the order of the JSON's members, which the Java client's parsers and the tests rely on and
which openapi.yaml lists as the TypedDict declares them. Each serializer's JSON of the description's samples
(tools/openapi/prose.py, the same objects openapi.yaml's examples are made of), and of a page, a server
without a check and an empty history, is walked against its type: every object's members in the
TypedDict's order.
"""

from __future__ import annotations

import typing
from typing import Any

import pytest
from typing_extensions import is_typeddict

from smtphub.apps.models import AppPage
from smtphub.http.errors import ErrorJson, describe, error_body
from smtphub.http.responses.apps import AppPageJson, app_page_json
from smtphub.http.responses.checks import CheckResultJson, history_json
from smtphub.http.responses.smtps import SmtpJson, smtp_json
from smtphub.smtps.models import Smtp
from tools.openapi import prose


def members_in_order(value: Any, kind: Any, where: str = "") -> list[str]:
    """Where `value` is not `kind`'s JSON with the members in the TypedDict's order (empty: it is)."""
    if is_typeddict(kind):
        declared = list(typing.get_type_hints(kind))
        required = [name for name in declared if name in kind.__required_keys__]
        present = list(value)
        problems = [] if [n for n in declared if n in present] == present else [f"{where}: {present}"]
        problems += [f"{where}.{name} missing" for name in required if name not in value]
        hints = typing.get_type_hints(kind)
        for name in present:
            problems += members_in_order(value[name], hints[name], f"{where}.{name}")
        return problems
    if value is None:
        return []
    args = [arg for arg in typing.get_args(kind) if arg is not type(None)]
    if typing.get_origin(kind) is list:
        return [p for n, item in enumerate(value) for p in members_in_order(item, args[0], f"{where}[{n}]")]
    return members_in_order(value, args[0], where) if len(args) == 1 else []


@pytest.mark.parametrize("kind", list(prose.examples()), ids=str)
def test_every_serializer_writes_its_typeddicts_members_in_order(kind: Any) -> None:
    assert members_in_order(prose.examples()[kind], kind) == []


def test_the_other_forms_too() -> None:
    app = prose.sample_app()
    plain = Smtp(id="6741f0b7d1e2f3a4b5c6d7e8", app_id=app.id, account_id="a", created="", modified="",
                 host="smtp.example.net", port=25)  # fmt: skip
    assert members_in_order(smtp_json(plain), SmtpJson) == []
    assert smtp_json(plain)["lastcheck"] is None
    assert members_in_order(app_page_json(AppPage((app, app), 7, 1, 2)), AppPageJson) == []
    assert members_in_order(history_json([]), list[CheckResultJson]) == []
    for error in prose.OPERATIONS["/private/smtps/check"].errors:
        status, code, extra, _ = describe(error)
        assert members_in_order(error_body(status, code, error.message, "r", **extra), ErrorJson) == []


def test_a_member_out_of_order_is_found() -> None:
    body: Any = dict(reversed(list(prose.examples()[SmtpJson].items())))
    assert members_in_order(body, SmtpJson) != []
    body = {key: value for key, value in prose.examples()[SmtpJson].items() if key != "port"}
    assert ".port missing" in members_in_order(body, SmtpJson)
