"""Inputs that must be a 400 naming what is wrong, never a 500, through the real handlers, on moto.

Issue "Stored SMTP credentials that cannot be read back, crossed or leaked": JSON nested deeper than the
parser's stack (on the public login too), and text holding control, format, line/paragraph-separator or
surrogate characters (Unicode categories Cc, Cf, Zl, Zp, Cs: the contract's *Requests*), which would end up
in mail headers, logs, or a boto3 request that cannot encode them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.api import (
    PASSWORD,
    SERVER,
    bad,
    items,
    new_app,
    new_smtp,
    ok,
    pinned_password,
    secret_names,
)
from tests.support.lambdas import ACCOUNT_A, Reply, call

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# One or more of each forbidden category; each goes in the middle of a value (trimming cannot remove it).
FORBIDDEN = {
    "U+2028 line separator (Zl)": "\u2028",
    "U+2029 paragraph separator (Zp)": "\u2029",
    "U+0085 next line (Cc)": "\x85",
    "U+0000 NUL (Cc)": "\x00",
    "U+0007 bell (Cc)": "\x07",
    "U+000D U+000A CRLF (Cc)": "\r\n",
    "U+001B escape (Cc)": "\x1b",
    "U+007F delete (Cc)": "\x7f",
    "U+009B CSI (Cc)": "\x9b",
    "U+00AD soft hyphen (Cf)": "\u00ad",
    "U+200B zero width space (Cf)": "\u200b",
    "U+200E left-to-right mark (Cf)": "\u200e",
    "U+202E right-to-left override (Cf)": "\u202e",
    "U+2066 left-to-right isolate (Cf)": "\u2066",
    "U+FEFF byte order mark (Cf)": "\ufeff",
    "U+E0001 language tag (Cf)": "\U000e0001",
    "U+D800 lone high surrogate (Cs)": "\ud800",
    "U+DFFF lone low surrogate (Cs)": "\udfff",
}
SURROGATES = {name: char for name, char in FORBIDDEN.items() if "(Cs)" in name}


def as_json(function: str, params: dict[str, Any]) -> Reply:
    """A JSON body, non-ASCII as \\u escapes: how a lone surrogate reaches the API ("\\ud800")."""
    return call(function, body=json.dumps(params, ensure_ascii=True), content_type=JSON)


def as_form(function: str, params: dict[str, Any]) -> Reply:
    """A UTF-8 form body; a surrogate goes as the bytes UTF-8 would give it (which are invalid UTF-8)."""
    body = "&".join(
        f"{quote(name)}={quote(str(value).encode('utf-8', 'surrogatepass'), safe='')}"
        for name, value in params.items()
    )
    return call(function, body=body, content_type=FORM)


# --- nesting ------------------------------------------------------------------------------------------


def test_login_with_5000_brackets_in_the_username_is_a_400(aws: Any) -> None:
    """The public endpoint: no token needed to send it."""
    body = '{"username": ' + "[" * 5000 + "]" * 5000 + ', "password": "x"}'
    reply = call("auth_login", body=body, content_type=JSON, account=None)
    assert bad(reply)


@pytest.mark.parametrize("depth", [3000, 9000])  # 9000: as deep as 64 KiB allows
def test_apps_save_with_objects_thousands_deep_is_a_400(aws: Any, depth: int) -> None:
    body = '{"name": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    assert bad(call("apps_save", body=body, content_type=JSON))
    assert ok(call("apps_find_all", {}))["totalElements"] == 0


def test_deep_json_under_an_unknown_name_is_a_400_too(aws: Any) -> None:
    idapp = new_app()
    body = json.dumps({**SERVER, "idapp": idapp})[:-1] + ', "zzz": ' + "[" * 5000 + "]" * 5000 + "}"
    assert bad(call("smtps_save", body=body, content_type=JSON))
    assert items(aws) == []


def test_nesting_the_parser_can_read_is_a_400_naming_the_field(aws: Any) -> None:
    body = json.dumps({"name": json.loads("[" * 200 + "]" * 200)})
    assert bad(call("apps_save", body=body, content_type=JSON)) == {"name": "must be a single value"}


# --- characters a text value may not hold -------------------------------------------------------------

APP_TEXT = {"name": "Sh{}op", "defaultfromname": "Sh{}op"}
APP_EMAILS = {"testemail": "ops{}x@example.net", "defaultfromemail": "no{}reply@example.net"}
SMTP_TEXT = {"username": "us{}er@example.net", "defaultfromname": "In{}fo"}
SMTP_EMAILS = {"defaultfromemail": "in{}fo@example.net"}


@pytest.mark.parametrize("field", [*APP_TEXT, *APP_EMAILS])
def test_app_text_with_a_forbidden_character_is_a_400_naming_the_field(aws: Any, field: str) -> None:
    template = {**APP_TEXT, **APP_EMAILS}[field]
    for label, char in FORBIDDEN.items():
        params = {"name": "Shop", field: template.format(char)}
        senders = [as_json] if char in SURROGATES.values() else [as_json, as_form]
        for send in senders:
            reply = send("apps_save", params)
            assert reply.status == 400, f"{label} via {send.__name__}: {reply.text}"
            assert set(bad(reply)) == {field}, label
    assert ok(call("apps_find_all", {}))["totalElements"] == 0


@pytest.mark.parametrize("field", [*SMTP_TEXT, *SMTP_EMAILS])
def test_smtp_text_with_a_forbidden_character_is_a_400_naming_the_field(aws: Any, field: str) -> None:
    idapp = new_app()
    template = {**SMTP_TEXT, **SMTP_EMAILS}[field]
    for label, char in FORBIDDEN.items():
        params = {**SERVER, "idapp": idapp, field: template.format(char)}
        senders = [as_json] if char in SURROGATES.values() else [as_json, as_form]
        for send in senders:
            reply = send("smtps_save", params)
            assert reply.status == 400, f"{label} via {send.__name__}: {reply.text}"
            assert set(bad(reply)) == {field}, label
    assert items(aws) == []
    assert secret_names(aws) == set()


@pytest.mark.parametrize("char", SURROGATES.values(), ids=list(SURROGATES))
def test_a_lone_surrogate_in_a_password_is_a_400_naming_it(aws: Any, char: str) -> None:
    # given: an app, and a server of it with a password
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    before = items(aws)
    # when: a create, then an edit, sends a password holding a lone surrogate (JSON's "\ud800")
    created = as_json("smtps_save", {**SERVER, "idapp": idapp, "password": f"pass{char}word"})
    edited = as_json("smtps_save", {"idsmtp": idsmtp, "password": f"pass{char}word"})
    # then: both are 400 naming the password, and nothing is written
    assert bad(created) == {"password": "must not contain lone surrogates (it must be valid Unicode)"}
    assert bad(edited) == {"password": "must not contain lone surrogates (it must be valid Unicode)"}
    assert items(aws) == before
    assert pinned_password(aws, idsmtp) == PASSWORD
    # and as the bytes of a form, it is not UTF-8: a 400 naming it too
    assert set(bad(as_form("smtps_save", {"idsmtp": idsmtp, "password": f"pass{char}word"}))) == {"password"}


@pytest.mark.parametrize("char", SURROGATES.values(), ids=list(SURROGATES))
def test_a_lone_surrogate_in_a_name_or_username_is_a_400_naming_it(aws: Any, char: str) -> None:
    # given: an app with a server
    idapp = new_app()
    server = new_smtp(idapp)
    before = items(aws)
    # when / then: an app named with one, a server created with one in its username
    assert set(bad(as_json("apps_save", {"name": f"Sh{char}op"}))) == {"name"}
    assert set(bad(as_json("apps_save", {"idapp": idapp, "name": f"Sh{char}op"}))) == {"name"}
    assert set(bad(as_json("smtps_save", {**SERVER, "idapp": idapp, "username": f"u{char}"}))) == {"username"}
    # when / then: a username edit with one is a 400 (not a 406 CONFLICT, nor a 500), with or without password
    for edit in ({"username": f"u{char}"}, {"username": f"u{char}", "password": PASSWORD}):
        reply = as_json("smtps_save", {"idsmtp": server["_id"], **edit})
        assert reply.status == 400, reply.text
        assert set(bad(reply)) == {"username"}
    # and nothing changed
    assert items(aws) == before
    assert ok(call("smtps_find_by_id", {"idsmtp": server["_id"]})) == server
    assert ok(call("apps_find_by_id", {"idapp": idapp}))["name"] == "Shop"


# --- charsets that are no text encoding (issue 22, defect 1) -------------------------------------------

BOUNDARY = "b0undary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _multipart(name: str, value: str, *, part_charset: str | None = None, field: str | None = None) -> str:
    lines = [f"--{BOUNDARY}"]
    if field is not None:  # the body's `_charset_` field
        lines += ['Content-Disposition: form-data; name="_charset_"', "", field, f"--{BOUNDARY}"]
    lines += [f'Content-Disposition: form-data; name="{name}"']
    if part_charset is not None:
        lines += [f"Content-Type: text/plain; charset={part_charset}"]
    return "\r\n".join([*lines, "", value, f"--{BOUNDARY}--", ""])


# (Content-Type, body): a form, JSON, a multipart part and a multipart body's `_charset_` field, each with
# a charset Python's registry has but that is no character encoding (every one was a 500 before).
NOT_TEXT_BODIES = {
    "form hex_codec": (f"{FORM}; charset=hex_codec", "username=a&password=b"),
    "form rot13": (f"{FORM}; charset=rot13", "username=a&password=b"),
    "json zlib_codec": (f"{JSON}; charset=zlib_codec", '{"username":"a","password":"b"}'),
    "json undefined": (f"{JSON}; charset=undefined", '{"username":"a","password":"b"}'),
    "json unicode_escape": (f"{JSON}; charset=unicode_escape", '{"username":"a","password":"b"}'),
    "part base64_codec": (MULTIPART, _multipart("username", "a", part_charset="base64_codec")),
    "_charset_ hex_codec": (MULTIPART, _multipart("username", "a", field="hex_codec")),
}


@pytest.mark.parametrize("function", ["auth_login", "apps_save", "smtps_save", "smtps_check"])
@pytest.mark.parametrize(("content_type", "body"), NOT_TEXT_BODIES.values(), ids=list(NOT_TEXT_BODIES))
def test_a_charset_that_is_no_text_encoding_is_a_415_not_a_500(
    aws: Any, json_logs: Any, function: str, content_type: str, body: str
) -> None:
    """Without a token too (/auth/login): one such request every few minutes kept the 5xx alarm on."""
    account = None if function == "auth_login" else ACCOUNT_A
    reply = call(function, body=body, content_type=content_type, account=account)
    assert reply.status == 415, reply.text
    assert reply.json["error"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "charset" in reply.json["message"]
    assert not [line for line in json_logs() if line.get("level") == "ERROR"]
