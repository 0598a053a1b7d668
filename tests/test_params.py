"""smtphub.params: the contract's parameter rules, one parser at a time, and Spec reporting every bad one."""

from __future__ import annotations

import pytest

from smtphub import params as p
from smtphub.errors import BadRequest
from smtphub.params import Invalid, Param, Spec

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
    assert p.canonical_name(sent) == canonical


# --- booleans ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["true", "TRUE", "True", "1", "yes", "YES", "Yes", " true "])
def test_true_spellings(raw: str) -> None:
    assert p.boolean(raw) is True


@pytest.mark.parametrize("raw", ["false", "FALSE", "False", "0", "no", "NO", "nO"])
def test_false_spellings(raw: str) -> None:
    assert p.boolean(raw) is False


@pytest.mark.parametrize("raw", ["on", "off", "y", "n", "t", "f", "2", "-1", "truee", "ja", "1.0", "null"])
def test_anything_else_is_not_a_boolean(raw: str) -> None:
    with pytest.raises(Invalid, match="must be true or false"):
        p.boolean(raw)


# --- integers ---------------------------------------------------------------------------------------

PORT = p.integer(1, 65535)
PRIORITY = p.integer(0, 1_000_000)


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
    name = p.text(p.MAX_NAME)
    assert name("  Info  ") == "Info"
    assert name("x" * 200) == "x" * 200
    with pytest.raises(Invalid, match="at most 200"):
        name("x" * 201)


@pytest.mark.parametrize("raw", ["a\r\nBcc: victim@example.net", "a\nb", "a\x00b", "tab\there", "del\x7f"])
def test_text_refuses_control_characters(raw: str) -> None:
    """These values end up in mail headers: no line breaks, no controls."""
    with pytest.raises(Invalid, match="control characters"):
        p.text(p.MAX_NAME)(raw)


def test_passwords_are_kept_verbatim_and_bounded() -> None:
    secret = p.secret(p.MAX_PASSWORD)
    assert secret("  spaced pass\t ") == "  spaced pass\t "
    assert secret("x" * 1024) == "x" * 1024
    with pytest.raises(Invalid, match="at most 1024") as error:
        secret("y" * 1025)
    assert "yyy" not in str(error.value)
    with pytest.raises(Invalid, match="NUL"):
        secret("a\x00b")


def test_contract_bounds() -> None:
    assert (p.MAX_HOST, p.MAX_USERNAME, p.MAX_PASSWORD, p.MAX_NAME) == (253, 320, 1024, 200)


def test_identifiers_are_24_hex_characters_lower_cased() -> None:
    assert p.identifier("6741F0A2C3D4E5F6A7B8C9D0") == "6741f0a2c3d4e5f6a7b8c9d0"
    for bad in ("6741f0a2c3d4e5f6a7b8c9d", "6741f0a2c3d4e5f6a7b8c9d0a", "g741f0a2c3d4e5f6a7b8c9d0", "x"):
        with pytest.raises(Invalid, match="24-character hexadecimal id"):
            p.identifier(bad)


def test_choice_is_case_insensitive_and_closed() -> None:
    strategy = p.choice("RANDOM", "PRIORITY")
    assert strategy("priority") == "PRIORITY"
    with pytest.raises(Invalid, match="RANDOM, PRIORITY"):
        strategy("ROUND_ROBIN")


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
    assert p.host(raw) == stored


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
        p.host(raw)
    assert raw.strip() not in str(error.value)  # messages never repeat the value


# --- e-mail addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["info@example.net", "first.last+tag@mail.example.co.uk", "UPPER@EXAMPLE.NET", " a@example.net "]
)
def test_email_accepts_addresses(raw: str) -> None:
    assert p.email(raw) == raw.strip()


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
        p.email(raw)


# --- Spec -------------------------------------------------------------------------------------------


def test_spec_types_the_parameters_present_and_ignores_others() -> None:
    spec = Spec(Param("port", PORT, required=True), Param("auth", p.boolean), Param("name", p.text(10)))
    assert spec.parse({"port": "587", "auth": "yes", "unknown": "x"}) == {"port": 587, "auth": True}


def test_spec_empty_and_blank_values_are_absent_except_for_verbatim_ones() -> None:
    spec = Spec(Param("name", p.text(10)), Param("password", p.secret(10), verbatim=True))
    assert spec.parse({"name": "", "password": ""}) == {}
    assert spec.parse({"name": "   ", "password": "   "}) == {"password": "   "}


def test_spec_names_every_bad_and_missing_parameter_at_once() -> None:
    spec = p.SMTP_SAVE
    with pytest.raises(BadRequest) as error:
        spec.parse(
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
            }
        )
    assert set(error.value.fields) == {
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
    assert "p" * 20 not in str(error.value.extra)


def test_spec_required_parameters() -> None:
    with pytest.raises(BadRequest) as error:
        p.SMTP_BY_ID.parse({})
    assert error.value.fields == {"idsmtp": "is required"}
    with pytest.raises(BadRequest) as error:
        p.APP_BY_ID.parse({"idapp": "  "})
    assert error.value.fields == {"idapp": "is required"}


def test_bad_request_fields_are_sorted_in_the_body() -> None:
    error = BadRequest({"port": "x", "host": "y"})
    assert list(error.extra["fields"]) == ["host", "port"]


# --- remove and check: idapp read as the SMTP id when idsmtp is absent ------------------------------

SMTP_ID = "6741f0b7d1e2f3a4b5c6d7e8"
OTHER_ID = "6741f0a2c3d4e5f6a7b8c9d0"


def test_smtp_target_prefers_idsmtp() -> None:
    values = p.SMTP_TARGET.parse({"idsmtp": SMTP_ID, "idapp": OTHER_ID})
    assert p.smtp_target(values) == SMTP_ID


def test_smtp_target_reads_idapp_as_the_smtp_id_when_idsmtp_is_absent() -> None:
    assert p.smtp_target(p.SMTP_TARGET.parse({"idapp": SMTP_ID.upper()})) == SMTP_ID
    assert p.smtp_target(p.SMTP_TARGET.parse({"idsmtp": "", "idapp": SMTP_ID})) == SMTP_ID


def test_smtp_target_needs_one_of_them() -> None:
    with pytest.raises(BadRequest) as error:
        p.smtp_target(p.SMTP_TARGET.parse({}))
    assert error.value.fields == {"idsmtp": "is required"}
