"""Form bodies in the charset their Content-Type declares (issue 11, part 1).

QueueMail's Java client (Apache HttpClient's fluent `bodyForm`) sends
`application/x-www-form-urlencoded; charset=ISO-8859-1` with bytes like `name=Caf%E9+Shop`: percent-escapes
are bytes of the declared charset, decoded in it; UTF-8 when none is declared; an unknown charset is a 415;
bytes that are not valid in the declared charset are a 400 naming the field, never U+FFFD.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtphub.errors import InvalidInput
from smtphub.http.body import UnsupportedBody, text_charset
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


# --- issue 22, defect 1: a charset that does not decode bytes to text is a 415, never a 500 ---------------

# Codecs Python's registry finds that are no character encoding of a body: bytes-to-bytes and str-to-str
# transforms (bytes.decode refuses them with a LookupError), Python's own encodings (escapes, domain-name
# transforms, `undefined`, which fails every decode, the platform's code pages) and UTF-7 (many byte
# spellings of the same text; dropped by the WHATWG Encoding Standard). Some do not exist on this platform
# (`mbcs`, `oem`: Windows only) and must be refused all the same.
NOT_TEXT = [
    "hex_codec",
    "hex",
    "base64_codec",
    "base64",
    "zlib_codec",
    "zip",
    "bz2_codec",
    "quopri_codec",
    "uu_codec",
    "rot13",
    "rot_13",
    "undefined",
    "unicode_escape",
    "raw_unicode_escape",
    "punycode",
    "idna",
    "utf-7",
    "UTF7",
    "unicode-1-1-utf-7",
    "palmos",
    "charmap",
    "mbcs",
    "oem",
]
# Names no registry has, and names that break the lookup itself (a NUL: ValueError; a lone surrogate:
# UnicodeEncodeError), or that are no charset token at all (RFC 2978: at most 40 of its characters).
JUNK = ["utf-8\x00", "\x00", "\udc80", "utf 8", "utf-8 ", "latin\u0131", "u" * 41, "encodings.utf_8", ""]


@pytest.mark.parametrize("charset", NOT_TEXT + JUNK[:-1])
def test_a_form_in_a_charset_that_is_no_text_encoding_is_a_415(charset: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        raw_params(post("name=Shop", f'{FORM}; charset="{charset}"'))


@pytest.mark.parametrize("charset", NOT_TEXT + JUNK[:-1])
def test_a_json_body_in_a_charset_that_is_no_text_encoding_is_a_415(charset: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        raw_params(post('{"name":"Shop"}', f'application/json; charset="{charset}"'))


def test_an_empty_charset_is_none_declared() -> None:
    assert raw_params(post("name=Caf%C3%A9", f"{FORM}; charset=")) == {"name": "Caf\u00e9"}


@pytest.mark.parametrize(
    ("charset", "text", "codec"),
    [
        ("utf-16", '{"name":"Caf\u00e9"}', "utf-16"),
        ("UTF-16BE", '{"name":"Caf\u00e9"}', "utf-16-be"),
        ("utf-32", '{"name":"Caf\u00e9"}', "utf-32"),
        ("utf-8-sig", '\ufeff{"name":"Caf\u00e9"}', "utf-8"),
        ("cp037", '{"name":"Caf\u00e9"}', "cp037"),  # EBCDIC: a charset, not ASCII-compatible
        ("ISO-2022-JP", '{"name":"\u65e5\u672c"}', "iso2022_jp"),
        ("GB18030", '{"name":"\u4e2d"}', "gb18030"),
    ],
)
def test_json_is_read_in_any_character_encoding(charset: str, text: str, codec: str) -> None:
    expected = json.loads(text.lstrip("\ufeff"))
    assert raw_params(post(text.encode(codec), f"application/json; charset={charset}")) == expected


@pytest.mark.parametrize("charset", ["utf-16", "UTF-16LE", "utf-32", "cp037", "cp500"])
def test_a_form_in_a_charset_that_does_not_write_its_syntax_in_ascii_is_a_415(charset: str) -> None:
    """A form's `&`, `=`, `+` and `%XX` are ASCII bytes: in UTF-16 or EBCDIC there is no form to read."""
    with pytest.raises(UnsupportedMediaType):
        raw_params(post("name=Shop".encode(charset), f"{FORM}; charset={charset}"))


@pytest.mark.parametrize("charset", ["Shift_JIS", "EUC-JP", "ISO-2022-JP", "GB18030", "Big5", "utf-8-sig"])
def test_a_form_in_an_ascii_compatible_multibyte_charset_is_read(charset: str) -> None:
    body = "name=" + "".join(f"%{byte:02X}" for byte in "\u65e5\u672c".encode(charset))
    assert raw_params(post(body, f"{FORM}; charset={charset}")) == {"name": "\u65e5\u672c"}


def _registry_names() -> list[str]:
    """Every name Python's codec registry knows: each module of the `encodings` package, every alias."""
    import encodings
    import encodings.aliases
    import pkgutil

    names = {module.name for module in pkgutil.iter_modules(encodings.__path__)}
    names |= set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values())
    return sorted(names)


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


REGISTRY = _registry_names()
# The registry's codecs that are refused, by the name the registry gives them: every one is decided here,
# so a codec a new Python adds to this list's kinds is seen by this test, not by a client.
REFUSED = {
    # bytes-to-bytes and str-to-str transforms
    "base64",
    "bz2",
    "hex",
    "quopri",
    "rot-13",
    "uu",
    "zlib",
    # Python's own encodings, and UTF-7
    "charmap",
    "idna",
    "palmos",
    "punycode",
    "raw-unicode-escape",
    "undefined",
    "unicode-escape",
    "utf-7",
}


def _accepts(name: str, *, form: bool = False) -> bool:
    try:
        text_charset(name, form=form)
    except UnsupportedBody:
        return False
    return True


def test_every_codec_of_the_registry_is_decided() -> None:
    found = {name: _codec(name) for name in REGISTRY}
    refused = {codec for name, codec in found.items() if codec and not _accepts(name)}
    assert refused == REFUSED
    accepted = {codec for name, codec in found.items() if codec and _accepts(name)}
    assert len(accepted) > 90  # the character encodings: everything else the registry has
    assert {"utf-8", "utf-16", "utf-32", "ascii", "iso8859-1", "cp1252", "shift_jis", "gb18030"} <= accepted
    # Names the registry does not know here are refused too (mbcs and oem exist on Windows only).
    assert not any(_accepts(name) for name, codec in found.items() if codec is None)


def test_a_forms_charsets_are_those_that_write_its_syntax_in_ascii() -> None:
    refused = {_codec(name) for name in REGISTRY if _accepts(name) and not _accepts(name, form=True)}
    assert refused == {
        *("utf-16", "utf-16-be", "utf-16-le", "utf-32", "utf-32-be", "utf-32-le"),
        *("cp037", "cp1026", "cp1140", "cp273", "cp424", "cp500", "cp875"),  # EBCDIC
    }


ACCEPTED = sorted({name for name in REGISTRY if _accepts(name)})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    charset=st.sampled_from(ACCEPTED),
    raw=st.binary(max_size=64),
    media=st.sampled_from(["form", "json", "part", "_charset_"]),
)
def test_any_bytes_in_an_accepted_charset_are_read_or_a_400(charset: str, raw: bytes, media: str) -> None:
    """Whatever the bytes, a readable charset answers parameters, a 400 or (a form's) a 415: never an
    exception of the codec's own (a 500)."""
    if media == "form":
        event = post(b"name=" + raw + b"&host=%" + raw.hex().encode(), f"{FORM}; charset={charset}")
    elif media == "json":
        event = post(b'{"name":"' + raw + b'"}', f"application/json; charset={charset}")
    else:
        boundary = "b0undary"
        headers = f"Content-Type: text/plain; charset={charset}\r\n" if media == "part" else ""
        lead = f'--{boundary}\r\nContent-Disposition: form-data; name="_charset_"\r\n\r\n{charset}\r\n'
        field = f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n{headers}\r\n'
        body = (lead if media == "_charset_" else "").encode() + field.encode() + raw
        event = post(body + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}")
    try:
        params = raw_params(event)
    except (InvalidInput, UnsupportedMediaType):
        return
    assert all(isinstance(value, str) for value in params.values())
