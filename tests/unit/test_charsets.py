"""Form bodies in the charset their Content-Type declares (issue 11, part 1).

QueueMail's Java client (Apache HttpClient's fluent `bodyForm`) sends
`application/x-www-form-urlencoded; charset=ISO-8859-1` with bytes like `name=Caf%E9+Shop`: percent-escapes
are bytes of the declared charset, decoded in it; UTF-8 when none is declared; an unknown charset is a 415;
bytes that are not valid in the declared charset are a 400 naming the field, never U+FFFD.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from smtphub.http.errors import UnsupportedMediaType
from tests.support.bodies import bad_fields, post, raw_params
from tests.support.lambdas import call
from tests.support.queuemail_client import FORM_CONTENT_TYPE, form_body

FORM = "application/x-www-form-urlencoded"


def test_the_java_clients_latin_1_form_is_decoded_in_latin_1() -> None:
    body = form_body([("name", "Caf\u00e9 Shop"), ("defaultfromname", "S\u00f8ren \u00c5se")])
    assert body == b"name=Caf%E9+Shop&defaultfromname=S%F8ren+%C5se"
    assert raw_params(post(body, FORM_CONTENT_TYPE)) == {
        "name": "Caf\u00e9 Shop",
        "defaultfromname": "S\u00f8ren \u00c5se",
    }


def test_the_java_clients_app_is_stored_with_its_accents(aws: Any) -> None:
    """The reported defect: stored as `Caf\\uFFFD Shop` without an error."""
    reply = call("apps_save", body="name=Caf%E9+Shop", content_type=FORM_CONTENT_TYPE)
    assert reply.status == 200, reply.text
    assert reply.json["name"] == "Caf\u00e9 Shop"
    found = call("apps_find_by_id", {"idapp": reply.json["_id"]})
    assert found.json["name"] == "Caf\u00e9 Shop"
    assert "\ufffd" not in found.text


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (f"{FORM}; charset=iso-8859-1", "name=Caf%E9", "Caf\u00e9"),
        (f'{FORM}; charset="ISO-8859-1"', "name=Caf%E9", "Caf\u00e9"),
        (f"{FORM};CHARSET=latin1", "name=Caf%E9", "Caf\u00e9"),
        (f"{FORM}; charset=windows-1252", "name=%80+sign", "\u20ac sign"),
        (f"{FORM}; charset=ISO-8859-15", "name=%A4", "\u20ac"),
        (f"{FORM}; charset=Shift_JIS", "name=%93%FA%96%7B", "\u65e5\u672c"),
        (f"{FORM}; charset=UTF-8", "name=Caf%C3%A9", "Caf\u00e9"),
        (FORM, "name=Caf%C3%A9", "Caf\u00e9"),  # none declared: UTF-8
        (
            f"{FORM}; boundary=x; charset=koi8-r",
            "name=%F0%D2%C9%D7%C5%D4",
            "\u041f\u0440\u0438\u0432\u0435\u0442",
        ),
    ],
)
def test_escapes_are_bytes_of_the_declared_charset(content_type: str, body: str, expected: str) -> None:
    assert raw_params(post(body, content_type)) == {"name": expected}


def test_names_are_decoded_in_the_charset_too() -> None:
    assert raw_params(post("n%E4me=x", f"{FORM}; charset=ISO-8859-1")) == {"n\u00e4me": "x"}


@pytest.mark.parametrize(
    ("content_type", "body", "charset"),
    [
        (FORM, "name=Caf%E9+Shop", "utf-8"),  # Latin-1 bytes without the charset: not UTF-8
        (f"{FORM}; charset=UTF-8", "name=%C3", "utf-8"),  # a truncated sequence
        (f"{FORM}; charset=us-ascii", "name=Caf%E9", "us-ascii"),
        (f"{FORM}; charset=Shift_JIS", "name=%81", "Shift_JIS"),
    ],
)
def test_bytes_invalid_in_the_charset_are_a_400_naming_the_field(
    content_type: str, body: str, charset: str
) -> None:
    fields = bad_fields(post(f"host=smtp.example.net&{body}", content_type))
    assert list(fields) == ["name"]
    assert charset.lower() in fields["name"].lower()


def test_a_bad_value_is_named_beside_the_models_own_problems(aws: Any) -> None:
    reply = call("apps_save", body="name=Caf%E9&testemail=nope", content_type=FORM)
    assert reply.status == 400, reply.text
    assert set(reply.json["fields"]) == {"name", "testemail"}
    assert "\ufffd" not in reply.text


@pytest.mark.parametrize("charset", ["no-such-charset", "x-unknown", "utf-9", "\u00e9"])
def test_an_unknown_charset_is_a_415(charset: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        raw_params(post("name=Shop", f"{FORM}; charset={charset}"))


def test_an_unknown_charset_through_a_handler(aws: Any) -> None:
    reply = call("apps_save", body="name=Shop", content_type=f"{FORM}; charset=no-such-charset")
    assert reply.status == 415, reply.text
    assert reply.json["error"] == "UNSUPPORTED_MEDIA_TYPE"


def test_a_json_body_is_read_in_its_declared_charset() -> None:
    raw = json.dumps({"name": "Caf\u00e9"}, ensure_ascii=False).encode("latin-1")
    assert raw_params(post(raw, "application/json; charset=ISO-8859-1")) == {"name": "Caf\u00e9"}
    assert bad_fields(post(raw, "application/json")) == {"body": "must be UTF-8"}
