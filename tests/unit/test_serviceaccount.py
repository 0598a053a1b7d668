"""smtphub.serviceaccount: Google service-account key files, and RS256 with the standard library only.

RSASSA-PKCS1-v1_5 is deterministic, so every signature must equal, byte for byte, the one `cryptography`
(OpenSSL; a development dependency only, never in the layer) makes with the same key; and PyJWT must
accept the assertions as Google would (signature, `alg`, `aud`, `exp`).
"""

from __future__ import annotations

import json
from functools import cache

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from smtphub import serviceaccount as sa
from smtphub.serviceaccount import KeyFileProblem

GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"


@cache
def private_key(bits: int = 2048, number: int = 0) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pem(key: rsa.RSAPrivateKey, form: str = "pkcs8") -> str:
    encoding = {
        "pkcs8": serialization.PrivateFormat.PKCS8,
        "pkcs1": serialization.PrivateFormat.TraditionalOpenSSL,
    }
    return key.private_bytes(
        serialization.Encoding.PEM, encoding[form], serialization.NoEncryption()
    ).decode()


def key_file(key_pem: str, **changes: object) -> str:
    values: dict[str, object] = {
        "type": "service_account",
        "project_id": "smtp-hub-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": key_pem,
        "client_email": "checker@smtp-hub-test.iam.gserviceaccount.com",
        "client_id": "101234567890123456789",
        "token_uri": GOOGLE_AUDIENCE,
    }
    values.update(changes)
    return json.dumps({k: v for k, v in values.items() if v is not None})


def reference_signature(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(
    ("bits", "form"), [(2048, "pkcs8"), (2048, "pkcs1"), (3072, "pkcs8"), (4096, "pkcs1")]
)
def test_signatures_equal_openssl_s_for_pkcs8_and_pkcs1_keys(bits, form):
    key = private_key(bits)
    loaded = sa.load_private_key(pem(key, form))
    for data in (b"", b"header.claims", bytes(range(256)) * 9):
        assert sa.sign(loaded, data) == reference_signature(key, data)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=600), which=st.integers(0, 2))
def test_any_message_is_signed_exactly_as_openssl_does(data, which):
    key = private_key(2048, which)
    assert sa.sign(sa.load_private_key(pem(key)), data) == reference_signature(key, data)


def test_the_assertion_is_a_jwt_google_accepts():
    key = private_key()
    account = sa.parse(key_file(pem(key)))
    assertion = account.assertion(
        scope="https://mail.google.com/",
        audience=GOOGLE_AUDIENCE,
        subject="mailer@example.net",
        now=1_800_000_000,
    )
    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "0123456789abcdef0123456789abcdef01234567"}
    claims = jwt.decode(
        assertion,
        key.public_key(),
        algorithms=["RS256"],
        audience=GOOGLE_AUDIENCE,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "iss": "checker@smtp-hub-test.iam.gserviceaccount.com",
        "scope": "https://mail.google.com/",
        "aud": GOOGLE_AUDIENCE,
        "sub": "mailer@example.net",
        "iat": 1_800_000_000,
        "exp": 1_800_000_000 + 3600,  # Google accepts at most one hour
    }


def test_the_key_file_s_fields_are_read_and_its_key_never_shown():
    key_pem = pem(private_key())
    account = sa.parse(key_file(key_pem))
    assert account.client_email == "checker@smtp-hub-test.iam.gserviceaccount.com"
    assert account.private_key_id == "0123456789abcdef0123456789abcdef01234567"
    assert account.private_key_pem == key_pem
    shown = repr(account) + str(account)
    assert "PRIVATE KEY" not in shown
    assert str(account.key.d) not in shown


BAD_FILES = {
    "not JSON": "{not json",
    "not an object": "[1, 2]",
    "another type": key_file(pem(private_key()), type="authorized_user"),
    "no client_email": key_file(pem(private_key()), client_email=None),
    "a client_email that is not an address": key_file(pem(private_key()), client_email="checker"),
    "no private_key": key_file("", private_key=None),
    "a private_key that is not PEM": key_file("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
    "an encrypted key": key_file(
        private_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass"),
        )
        .decode()
    ),
    "an EC key": key_file(
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    ),
    "a short RSA key": key_file(pem(private_key(1024))),
    "a key with a wrong factor": None,  # built below
}


def der(tag: int, content: bytes) -> bytes:
    size = len(content)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | 2]) + size.to_bytes(2, "big")
    return bytes([tag]) + length + content


def der_integer(value: int) -> bytes:
    return der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def tampered_key() -> str:
    """A PKCS#1 key whose q is not a factor of n (a corrupted file): refused, never used to sign."""
    mine, other = private_key().private_numbers(), private_key(2048, 9).private_numbers()
    values = (
        0,
        mine.public_numbers.n,
        mine.public_numbers.e,
        mine.d,
        mine.p,
        other.q,
        mine.dmp1,
        mine.dmq1,
        mine.iqmp,
    )
    body = der(0x30, b"".join(der_integer(value) for value in values))
    lines = __import__("textwrap").wrap(__import__("base64").b64encode(body).decode(), 64)
    return "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *lines, "-----END RSA PRIVATE KEY-----", ""])


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_key_file_is_refused_with_a_message_that_quotes_nothing(name):
    text = BAD_FILES[name] if BAD_FILES[name] is not None else key_file(tampered_key())
    with pytest.raises(KeyFileProblem) as problem:
        sa.parse(text)
    message = str(problem.value)
    assert message
    for quoted in ("MII", "BEGIN", "checker@"):
        assert quoted not in message


def test_the_signature_is_checked_before_it_is_used(monkeypatch):
    """A fault in the CRT computation (Bellcore) would leak a factor: a wrong signature never leaves."""
    loaded = sa.load_private_key(pem(private_key()))
    monkeypatch.setattr(sa, "_crt", lambda key, value: 12345)
    with pytest.raises(ArithmeticError):
        sa.sign(loaded, b"data")
