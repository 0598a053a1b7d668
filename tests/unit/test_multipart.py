"""`multipart/form-data` bodies, read like a form (issue 11, part 2).

Spring's `@RequestParam`, which upstream uses, accepts a multipart body as well as a form, so clients send
either. Fields only: a file part (one with a `filename`) is a 400 naming it. The same 64 KiB limit, the same
names (any case, the aliases), empty = absent, repeats, and each part's text in its own charset (its
Content-Type's, else the body's `_charset_` field, RFC 7578 4.6, else UTF-8).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
import requests

from smtphub.http.body import MAX_BODY_BYTES, MAX_FORM_FIELDS
from smtphub.http.errors import PayloadTooLarge, UnsupportedMediaType
from tests.support.bodies import bad_fields, post, raw_params
from tests.support.lambdas import call

BOUNDARY = "----smtphub7MA4YWxkTrZu0gW"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
MALFORMED = {"body": "is not valid multipart/form-data"}


def part(
    name: str, value: bytes | str, *, headers: Sequence[str] = (), disposition: str | None = None
) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    lines = [disposition or f'Content-Disposition: form-data; name="{name}"', *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + raw


def multipart(*parts: bytes, boundary: str = BOUNDARY, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    delimiter = b"--" + boundary.encode()
    body = preamble + b"".join(delimiter + b"\r\n" + p + b"\r\n" for p in parts)
    return body + delimiter + b"--\r\n" + epilogue


def test_fields_are_read_like_a_form() -> None:
    body = multipart(
        part("host", "smtp.example.net"), part("port", "587"), part("defaultfromname", "Info Desk")
    )
    assert raw_params(post(body, MULTIPART)) == {
        "host": "smtp.example.net",
        "port": "587",
        "defaultfromname": "Info Desk",
    }


def test_what_requests_and_curl_send() -> None:
    """requests' `files=` with (None, value) fields: its own boundary, no trailing CRLF after the close."""
    prepared = requests.Request(
        "POST", "http://127.0.0.1/", files={"name": (None, "Caf\u00e9 shop"), "strategy": (None, "PRIORITY")}
    ).prepare()
    assert isinstance(prepared.body, bytes)
    event = post(prepared.body, prepared.headers["Content-Type"])
    assert raw_params(event) == {"name": "Caf\u00e9 shop", "strategy": "PRIORITY"}


def test_names_fold_case_and_aliases_and_empty_is_absent() -> None:
    body = multipart(
        part("IDAPP", "1"), part("sslTls", "true"), part("DefaulFromEmail", "a@b.net"), part("port", "")
    )
    assert raw_params(post(body, MULTIPART), {"idapp", "ssltls", "defaultfromemail", "port"}) == {
        "idapp": "1",
        "ssltls": "true",
        "defaultfromemail": "a@b.net",
    }


def test_the_body_wins_over_the_query() -> None:
    event = post(multipart(part("port", "465")), MULTIPART, query=[("port", "25"), ("host", "h.example.net")])
    assert raw_params(event) == {"port": "465", "host": "h.example.net"}


def test_a_repeat_must_agree() -> None:
    assert raw_params(post(multipart(part("port", "25"), part("Port", "25")), MULTIPART)) == {"port": "25"}
    body = multipart(part("port", "25"), part("port", "587"))
    assert bad_fields(post(body, MULTIPART)) == {"port": "is given more than once with different values"}


def test_values_keep_their_bytes_exactly() -> None:
    """No trimming, line breaks inside a value kept (the models judge them), CRLF only ends the part."""
    body = multipart(part("password", " pass\r\nword "), part("name", "a--b"))
    assert raw_params(post(body, MULTIPART)) == {"password": " pass\r\nword ", "name": "a--b"}


@pytest.mark.parametrize(
    "content_type",
    [
        f'multipart/form-data; boundary="{BOUNDARY}"',
        f"Multipart/Form-Data;BOUNDARY={BOUNDARY}",
        f"multipart/form-data; charset=UTF-8; boundary={BOUNDARY}",
    ],
)
def test_the_media_type_in_any_case_with_a_quoted_boundary(content_type: str) -> None:
    assert raw_params(post(multipart(part("port", "25")), content_type)) == {"port": "25"}


def test_preamble_and_epilogue_are_ignored() -> None:
    body = multipart(part("port", "25"), preamble=b"This is a preamble.\r\n", epilogue=b"trailing words")
    assert raw_params(post(body, MULTIPART)) == {"port": "25"}


def test_quoted_names_with_escapes_and_extra_parameters() -> None:
    disposition = 'content-disposition: Form-Data; foo=bar; name="de\\"fault"; other="x;y"'
    body = multipart(part("", "v", disposition=disposition))
    assert raw_params(post(body, MULTIPART)) == {'de"fault': "v"}


# --- charsets -----------------------------------------------------------------------------------------


def test_a_parts_own_charset() -> None:
    body = multipart(
        part("name", "Caf\u00e9".encode("latin-1"), headers=["Content-Type: text/plain; charset=ISO-8859-1"])
    )
    assert raw_params(post(body, MULTIPART)) == {"name": "Caf\u00e9"}


def test_the_charset_field_sets_the_default_for_parts_without_one() -> None:
    body = multipart(
        part("_charset_", "windows-1252"),
        part("name", "\u20ac".encode("cp1252")),
        part("host", "h\u00e9".encode(), headers=["Content-Type: text/plain; charset=utf-8"]),
    )
    assert raw_params(post(body, MULTIPART), {"name", "host"}) == {"name": "\u20ac", "host": "h\u00e9"}


def test_utf_8_by_default_and_invalid_bytes_name_the_field() -> None:
    assert raw_params(post(multipart(part("name", "Caf\u00e9")), MULTIPART)) == {"name": "Caf\u00e9"}
    fields = bad_fields(post(multipart(part("name", b"Caf\xe9"), part("port", "25")), MULTIPART))
    assert list(fields) == ["name"]
    assert "utf-8" in fields["name"].lower()


def test_an_unknown_part_charset_is_a_415() -> None:
    body = multipart(part("name", "x", headers=["Content-Type: text/plain; charset=no-such-charset"]))
    with pytest.raises(UnsupportedMediaType):
        raw_params(post(body, MULTIPART))


@pytest.mark.parametrize("charset", ["hex_codec", "base64_codec", "zlib_codec", "rot13", "undefined", "utf7"])
def test_a_part_in_a_charset_that_is_no_text_encoding_is_a_415(charset: str) -> None:
    """Issue 22, defect 1: a 500 (bytes.decode's LookupError, or `undefined`'s UnicodeError) before."""
    body = multipart(part("name", "x", headers=[f"Content-Type: text/plain; charset={charset}"]))
    with pytest.raises(UnsupportedMediaType):
        raw_params(post(body, MULTIPART))


@pytest.mark.parametrize("charset", ["hex_codec", "zlib_codec", "rot_13", "undefined", "punycode", "u8\x00"])
def test_a_charset_field_that_is_no_text_encoding_is_a_415(charset: str) -> None:
    body = multipart(part("_charset_", charset.encode("latin-1")), part("name", "x"))
    with pytest.raises(UnsupportedMediaType):
        raw_params(post(body, MULTIPART))


@pytest.mark.parametrize("charset", ["hex_codec", "undefined", "unicode_escape"])
def test_a_multipart_content_type_charset_that_is_no_text_encoding_is_a_415(charset: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        raw_params(post(multipart(part("name", "x")), f"{MULTIPART}; charset={charset}"))


def test_a_part_may_be_utf_16_its_syntax_is_the_bodys() -> None:
    """Only a form needs its charset to write `&` and `=` in ASCII: a part's text is its content alone."""
    body = multipart(
        part("name", "Caf\u00e9".encode("utf-16"), headers=["Content-Type: text/plain; charset=UTF-16"]),
        part("_charset_", "cp037"),
        part("host", "smtp.example.net".encode("cp037")),
    )
    expected = {"name": "Caf\u00e9", "host": "smtp.example.net"}
    assert raw_params(post(body, MULTIPART), {"name", "host"}) == expected


# --- refused ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "disposition",
    [
        'Content-Disposition: form-data; name="name"; filename="shop.txt"',
        'Content-Disposition: form-data; name="name"; filename=""',
        "Content-Disposition: form-data; name=name; filename*=UTF-8''shop.txt",
    ],
)
def test_a_file_part_is_a_400_naming_it(disposition: str) -> None:
    body = multipart(part("", "contents", disposition=disposition), part("port", "25"))
    assert bad_fields(post(body, MULTIPART)) == {"name": "must be a form field, not a file"}


def test_a_file_part_of_an_unknown_name_is_refused_too() -> None:
    disposition = 'Content-Disposition: form-data; name="attachment"; filename="a.pdf"'
    body = multipart(part("", "%PDF", disposition=disposition, headers=["Content-Type: application/pdf"]))
    assert bad_fields(post(body, MULTIPART), {"name"}) == {"attachment": "must be a form field, not a file"}


@pytest.mark.parametrize(
    "body",
    [
        b"port=25",  # no boundary at all
        multipart(part("port", "25"))[: -len(b"--\r\n")],  # never closed
        multipart(part("port", "25")).replace(b"\r\n\r\n25", b"\r\n25"),  # no blank line after the headers
        multipart(part("", "25", disposition='Content-Disposition: attachment; name="port"')),
        multipart(part("", "25", disposition="Content-Disposition: form-data")),  # no name
        multipart(part("", "25", disposition="Content-Type: text/plain")),  # no disposition
        multipart(part("port", "25", headers=["Content-Transfer-Encoding: base64"])),
        multipart(part("port", "25", headers=["no colon here"])),
        multipart(part("port", "25"), boundary="other"),  # another boundary than the header's
    ],
)
def test_malformed_bodies_are_a_400(body: bytes) -> None:
    assert bad_fields(post(body, MULTIPART)) == MALFORMED


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + "b" * 71,  # RFC 2046: 1 to 70 characters
    ],
)
def test_a_missing_or_invalid_boundary_is_a_400(content_type: str) -> None:
    assert bad_fields(post(multipart(part("port", "25")), content_type)) == MALFORMED


def test_a_form_body_sent_as_multipart_is_a_400_not_a_415() -> None:
    """What tests/unit/test_http_edge.py used to expect as a 415: multipart is a form now."""
    assert bad_fields(post("port=25", "multipart/form-data; boundary=x")) == MALFORMED


@pytest.mark.parametrize("content_type", ["multipart/mixed; boundary=x", "multipart/related; boundary=x"])
def test_other_multipart_types_stay_415(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        raw_params(post(multipart(part("port", "25"), boundary="x"), content_type))


def test_the_same_64_kib_limit() -> None:
    overhead = len(multipart(part("x", "")))
    exactly = multipart(part("x", "a" * (MAX_BODY_BYTES - overhead)))
    assert len(exactly) == MAX_BODY_BYTES
    assert raw_params(post(exactly, MULTIPART))["x"] == "a" * (MAX_BODY_BYTES - overhead)
    with pytest.raises(PayloadTooLarge):
        raw_params(post(multipart(part("x", "a" * (MAX_BODY_BYTES - overhead + 1))), MULTIPART))


def test_too_many_parts_is_a_400() -> None:
    body = multipart(*(part(f"f{i}", "1") for i in range(MAX_FORM_FIELDS + 1)), boundary="b")
    assert len(body) < MAX_BODY_BYTES
    assert bad_fields(post(body, "multipart/form-data; boundary=b")) == {"body": "has too many parameters"}


def test_a_base64_encoded_event_body() -> None:
    event = post(None, MULTIPART)
    event["body"] = base64.b64encode(multipart(part("name", b"Caf\xc3\xa9"))).decode()
    event["isBase64Encoded"] = True
    assert raw_params(event) == {"name": "Caf\u00e9"}


# --- through the handlers -----------------------------------------------------------------------------


def test_an_app_saved_from_a_multipart_body(aws: Any) -> None:
    body = multipart(part("name", "Caf\u00e9 shop"), part("strategy", "priority"), part("retaindata", "true"))
    reply = call("apps_save", body=body.decode("utf-8"), content_type=MULTIPART)
    assert reply.status == 200, reply.text
    assert (reply.json["name"], reply.json["strategy"]) == ("Caf\u00e9 shop", "PRIORITY")
    assert reply.json["retaindata"] is True


def test_a_file_through_a_handler_is_a_400(aws: Any) -> None:
    disposition = 'Content-Disposition: form-data; name="name"; filename="name.txt"'
    reply = call(
        "apps_save",
        body=multipart(part("", "Shop", disposition=disposition)).decode(),
        content_type=MULTIPART,
    )
    assert reply.status == 400, reply.text
    assert json.loads(reply.text)["fields"] == {"name": "must be a form field, not a file"}
