"""smtphub.http.fields and requests: the contract's parameter rules, one type at a time, and a request
model reporting every bad parameter at once."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter
from pydantic import ValidationError as Invalid

from smtphub.errors import InvalidInput
from smtphub.http import fields as p
from smtphub.http import requests as r
from smtphub.http.body import canonical_name
from smtphub.http.errors import describe
from smtphub.http.requests import apps as r_apps
from smtphub.http.requests import smtps as r_smtps


def parser(kind: Any) -> Any:
    """The type's parser as a function of the raw string (raises pydantic's ValidationError)."""
    return TypeAdapter(kind).validate_python


# --- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        ("idapp", "idapp"),
        ("IDAPP", "idapp"),
        ("IdSmtp", "idsmtp"),
        ("sslTls", "ssltls"),
        ("SSLTLS", "ssltls"),
        ("ssl_tls", "ssltls"),
        ("SSL_TLS", "ssltls"),
        ("defaulfromemail", "defaultfromemail"),
        ("DefaulFromEmail", "defaultfromemail"),
        ("defaultFromEmail", "defaultfromemail"),
    ],
)
def test_names_are_case_insensitive_with_the_contracts_aliases(sent: str, canonical: str) -> None:
    assert canonical_name(sent) == canonical


# --- booleans ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["true", "TRUE", "True", "1", "yes", "YES", "Yes", " true "])
def test_true_spellings(raw: str) -> None:
    assert parser(p.Boolean)(raw) is True


@pytest.mark.parametrize("raw", ["false", "FALSE", "False", "0", "no", "NO", "nO"])
def test_false_spellings(raw: str) -> None:
    assert parser(p.Boolean)(raw) is False


@pytest.mark.parametrize("raw", ["on", "off", "y", "n", "t", "f", "2", "-1", "truee", "ja", "1.0", "null"])
def test_anything_else_is_not_a_boolean(raw: str) -> None:
    with pytest.raises(Invalid, match="must be true or false"):
        parser(p.Boolean)(raw)


# --- integers ---------------------------------------------------------------------------------------

PORT = parser(p.Port)
PRIORITY = parser(p.Priority)


@pytest.mark.parametrize(
    ("raw", "value"), [("1", 1), ("587", 587), ("65535", 65535), (" 25 ", 25), ("0465", 465)]
)
def test_port_accepts_decimal_digits_in_range(raw: str, value: int) -> None:
    assert PORT(raw) == value


@pytest.mark.parametrize(
    "raw",
    ["0", "65536", "-1", "+587", "587.0", "5e2", "0x1bb", "587a", "five", "5 87", "٥٨٧", "²", "9" * 40],
)
def test_port_refuses_anything_but_digits_in_range(raw: str) -> None:
    with pytest.raises(Invalid, match="must be an integer from 1 to 65535"):
        PORT(raw)


def test_priority_bounds() -> None:
    assert PRIORITY("0") == 0
    assert PRIORITY("1000000") == 1_000_000
    for bad in ("1000001", "-5", "10.5"):
        with pytest.raises(Invalid, match="from 0 to 1000000"):
            PRIORITY(bad)


# --- strings ----------------------------------------------------------------------------------------


def test_text_is_trimmed_and_bounded() -> None:
    name = parser(p.Name)
    assert name("  Info  ") == "Info"
    assert name("x" * 200) == "x" * 200
    with pytest.raises(Invalid, match="at most 200"):
        name("x" * 201)


@pytest.mark.parametrize(
    "raw",
    [
        "a\r\nBcc: victim@example.net", "a\nb", "a\x00b", "tab\there", "del\x7f",
        # Unicode line and paragraph separators, NEL, format characters, a lone surrogate
        "Shop\u2028Two", "Shop\u2029Two", "Shop\x85Two", "bidi\u202eevil", "zero\u200bwidth", "lone\ud800",
    ],
)  # fmt: skip
def test_text_refuses_control_format_separator_and_surrogate_characters(raw: str) -> None:
    """These values end up in mail headers and log lines: no line breaks, controls or invisible tricks."""
    with pytest.raises(Invalid, match="control, format or line separator characters"):
        parser(p.Name)(raw)


def test_passwords_are_kept_verbatim_and_bounded() -> None:
    secret = parser(p.Password)
    assert secret("  spaced pass\t ") == "  spaced pass\t "
    assert secret("x" * 1024) == "x" * 1024
    with pytest.raises(Invalid, match="at most 1024") as error:
        secret("y" * 1025)
    assert "yyy" not in error.value.errors()[0]["msg"]
    with pytest.raises(Invalid) as error:  # nor in a model's error text, wherever that might end up
        r_smtps.SmtpSave.model_validate({"password": "y" * 1025})
    assert "yyy" not in str(error.value)
    with pytest.raises(Invalid, match="NUL"):
        secret("a\x00b")
    with pytest.raises(Invalid, match="surrogate"):
        secret("a\ud800b")
    assert secret("tab\tand\u2028separator") == "tab\tand\u2028separator"  # kept exactly as sent


def test_contract_bounds() -> None:
    assert (p.MAX_HOST, p.MAX_USERNAME, p.MAX_PASSWORD, p.MAX_NAME) == (253, 320, 1024, 200)


def test_identifiers_are_24_hex_characters_lower_cased() -> None:
    assert parser(p.Id)("6741F0A2C3D4E5F6A7B8C9D0") == "6741f0a2c3d4e5f6a7b8c9d0"
    for bad in ("6741f0a2c3d4e5f6a7b8c9d", "6741f0a2c3d4e5f6a7b8c9d0a", "g741f0a2c3d4e5f6a7b8c9d0", "x"):
        with pytest.raises(Invalid, match="24-character hexadecimal id"):
            parser(p.Id)(bad)


def test_choice_is_case_insensitive_and_closed() -> None:
    strategy = parser(p.Strategy)
    assert strategy("priority") == "PRIORITY"
    with pytest.raises(Invalid, match="RANDOM, PRIORITY"):
        strategy("ROUND_ROBIN")


@pytest.mark.parametrize("raw", ["pr\u0131or\u0131ty", "\u0280andom", "PR\u0130OR\u0130TY"])
def test_choice_folds_ascii_case_only(raw: str) -> None:
    """Unicode case mappings are not a spelling of an option: with dotless i's, "priority".upper() is
    "PRIORITY" all the same."""
    with pytest.raises(Invalid, match="RANDOM, PRIORITY"):
        parser(p.Strategy)(raw)


# --- hosts ------------------------------------------------------------------------------------------

LONGEST_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("smtp.example.net", "smtp.example.net"),
        ("SMTP.Example.NET", "smtp.example.net"),
        (" smtp.example.net ", "smtp.example.net"),
        ("smtp.example.net.", "smtp.example.net."),
        ("localhost", "localhost"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("mail-1.eu-west.example.com", "mail-1.eu-west.example.com"),
        ("192.0.2.10", "192.0.2.10"),
        ("2001:db8::25", "2001:db8::25"),
        ("[2001:DB8::25]", "2001:db8::25"),
        (LONGEST_NAME, LONGEST_NAME),
    ],
)
def test_host_accepts_dns_names_and_ip_literals(raw: str, stored: str) -> None:
    assert len(LONGEST_NAME) == 253
    assert parser(p.Host)(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "smtp://smtp.example.net",  # scheme
        "smtps://smtp.example.net:465",
        "smtp.example.net:587",  # port
        "[2001:db8::25]:587",
        "smtp.example.net/path",  # path
        "smtp.example.net?x=1",
        "smtp example.net",  # spaces
        "smtp.\texample.net",
        "smtp..example.net",  # empty label
        ".example.net",
        "example.net..",
        "user@smtp.example.net",  # user info
        "-smtp.example.net",  # label edges
        "smtp-.example.net",
        "smtp_relay.example.net",
        "a" * 64 + ".example.net",  # label over 63
        "1.2.3",  # all-numeric last label: an IPv4 literal in disguise
        "256.1.1.1",
        "127.1",
        "x" + LONGEST_NAME,  # 254 characters
    ],
)
def test_host_refuses_urls_ports_paths_spaces_and_bad_labels(raw: str) -> None:
    with pytest.raises(Invalid) as error:
        parser(p.Host)(raw)
    assert raw.strip() not in error.value.errors()[0]["msg"]  # messages never repeat the value


# --- e-mail addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["info@example.net", "first.last+tag@mail.example.co.uk", "UPPER@EXAMPLE.NET", " a@example.net "]
)
def test_email_accepts_addresses(raw: str) -> None:
    assert parser(p.Email)(raw) == raw.strip()


@pytest.mark.parametrize(
    "raw",
    [
        "info",
        "info@",
        "@example.net",
        "info@localhost",  # no dot in the domain
        "info@@example.net",
        "in fo@example.net",
        "Info <info@example.net>",
        "info@example..net",
        "info@-example.net",
        "info@example.net\r\nBcc: x@example.net",
        "a,b@example.net",
        "x" * 65 + "@example.net",
        "a@" + "b" * 320 + ".net",
    ],
)
def test_email_refuses_what_is_not_one_address(raw: str) -> None:
    with pytest.raises(Invalid):
        parser(p.Email)(raw)


# --- request models ---------------------------------------------------------------------------------


def fields_of(model: type[r.RequestModel], raw: dict[str, str]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as error:
        model.parse(raw)
    return error.value.fields


def test_a_model_types_the_parameters_present_and_ignores_others() -> None:
    parsed = r_smtps.SmtpSave.parse(
        {"idsmtp": "6741f0a2c3d4e5f6a7b8c9d0", "port": "587", "auth": "yes", "unknown": "x"}
    )
    assert parsed.given("smtp_id") == {"port": 587, "auth": True}


def test_blank_values_are_absent_except_for_verbatim_ones() -> None:
    edit = {"idsmtp": "6741f0a2c3d4e5f6a7b8c9d0"}
    assert r_smtps.SmtpSave.parse({**edit, "defaultfromname": "   ", "password": "   "}).given("smtp_id") == {
        "password": "   "
    }


def test_a_model_names_every_bad_and_missing_parameter_at_once() -> None:
    fields = fields_of(
        r_smtps.SmtpSave,
        {
            "idapp": "nope",
            "port": "0",
            "priority": "high",
            "host": "smtp://x",
            "auth": "maybe",
            "starttls": "on",
            "ssltls": "2",
            "debug": "debug",
            "defaultfromemail": "not-an-address",
            "defaultfromname": "x\ny",
            "username": "u" * 321,
            "password": "p" * 1025,
            "idsmtp": "123",
        },
    )
    assert set(fields) == {
        "idapp",
        "port",
        "priority",
        "host",
        "auth",
        "starttls",
        "ssltls",
        "debug",
        "defaultfromemail",
        "defaultfromname",
        "username",
        "password",
        "idsmtp",
    }
    assert "p" * 20 not in str(fields)


def test_required_parameters() -> None:
    assert fields_of(r_smtps.SmtpById, {}) == {"idsmtp": "is required"}
    assert fields_of(r_apps.AppById, {"idapp": "  "}) == {"idapp": "is required"}


def test_bad_request_fields_are_sorted_in_the_body() -> None:
    _, _, extra, _ = describe(InvalidInput({"port": "x", "host": "y"}))
    assert list(extra["fields"]) == ["host", "port"]


# --- remove and check: idapp read as the SMTP id when idsmtp is absent ------------------------------

SMTP_ID = "6741f0b7d1e2f3a4b5c6d7e8"
OTHER_ID = "6741f0a2c3d4e5f6a7b8c9d0"
ACCOUNT = "account"


def test_smtp_target_prefers_idsmtp() -> None:
    target = r_smtps.SmtpTarget.parse({"idsmtp": SMTP_ID, "idapp": OTHER_ID})
    assert target.command(ACCOUNT).smtp_id == SMTP_ID


def test_smtp_target_reads_idapp_as_the_smtp_id_when_idsmtp_is_absent() -> None:
    assert r_smtps.SmtpTarget.parse({"idapp": SMTP_ID.upper()}).command(ACCOUNT).smtp_id == SMTP_ID
    assert r_smtps.SmtpTarget.parse({"idsmtp": "", "idapp": SMTP_ID}).command(ACCOUNT).smtp_id == SMTP_ID


def test_smtp_target_needs_one_of_them() -> None:
    assert fields_of(r_smtps.SmtpTarget, {}) == {"idsmtp": "is required"}


def test_an_empty_value_is_absent_even_for_a_verbatim_parameter() -> None:
    """The contract: an empty value counts as absent (a password of spaces is kept, an empty one is none)."""
    edit = {"idsmtp": "6741f0a2c3d4e5f6a7b8c9d0"}
    assert r_smtps.SmtpSave.parse({**edit, "password": ""}).given("smtp_id") == {}
