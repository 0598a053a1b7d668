"""smtphub.serviceaccount: Google service-account key files, read and bounded without a crypto library,
and RS256 signed by OpenSSL through `cryptography`, imported only when a service-account check signs.

RSASSA-PKCS1-v1_5 is deterministic, so every signature must equal, byte for byte, the one `cryptography`
makes with the key as OpenSSL loads it from the PEM; and PyJWT must accept the assertions as Google would
(signature, `alg`, `aud`, `exp`). Keys that would make signing slow (a public exponent other than 65537, a
modulus over 4096 bits: issue 22) are refused when the file is read, at save and again at check time.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from smtphub import serviceaccount as sa
from smtphub.serviceaccount import KeyFileProblem
from tests.support.rsa_keys import (
    GOOGLE_AUDIENCE,
    key_file,
    pem,
    pkcs1_pem,
    private_key,
    with_public_exponent,
)

ROOT = Path(__file__).resolve().parents[2]


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


def tampered_key() -> str:
    """A PKCS#1 key whose q is not a factor of n (a corrupted file): refused, never used to sign."""
    mine, other = private_key().private_numbers(), private_key(2048, 9).private_numbers()
    n, e = mine.public_numbers.n, mine.public_numbers.e
    return pkcs1_pem(n, e, mine.d, mine.p, other.q, mine.dmp1, mine.dmq1, mine.iqmp)


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_key_file_is_refused_with_a_message_that_quotes_nothing(name):
    text = BAD_FILES[name] if BAD_FILES[name] is not None else key_file(tampered_key())
    with pytest.raises(KeyFileProblem) as problem:
        sa.parse(text)
    message = str(problem.value)
    assert message
    for quoted in ("MII", "BEGIN", "checker@"):
        assert quoted not in message


def test_a_signature_that_does_not_verify_never_leaves():
    """Keys reach `sign` only through load_private_key's checks; were a wrong one to get there anyway (here a
    wrong d, its CRT parts made from it, built by hand), the signature is checked with the public key and
    refused rather than posted."""
    good = sa.load_private_key(pem(private_key()))
    d = good.d + (good.p - 1) * (good.q - 1) // 2 + 2  # not an inverse of e
    bad = sa.RsaKey(good.n, good.e, d, good.p, good.q, d % (good.p - 1), d % (good.q - 1), good.qinv)
    with pytest.raises(KeyFileProblem, match="could not sign"):
        sa.sign(bad, b"data")


# --- issue 22: keys that would burn CPU at every check -------------------------------------------------

SLOW_KEYS = {
    "a public exponent thousands of bits long": (lambda: with_public_exponent(2000), "65537"),
    "a public exponent of 3": (lambda: pkcs1_pem(*_numbers_with_exponent_3()), "65537"),
    "another 17-bit public exponent": (lambda: with_public_exponent(17), "65537"),
    "a 4104-bit modulus": (lambda: pem(private_key(4104)), "2048 to 4096 bits"),
}


def _numbers_with_exponent_3() -> tuple[int, ...]:
    """A consistent key with e = 3 (primes chosen so that 3 divides neither p - 1 nor q - 1)."""
    number = 0
    while True:
        numbers = private_key(2048, 100 + number).private_numbers()
        p, q = numbers.p, numbers.q
        if (p - 1) % 3 and (q - 1) % 3:
            break
        number += 1
    lam = math.lcm(p - 1, q - 1)
    d = pow(3, -1, lam)
    return (p * q, 3, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))


@pytest.mark.parametrize("name", list(SLOW_KEYS))
def test_a_key_that_would_make_signing_slow_is_refused_when_read(name):
    """It was accepted, and with a 2000-bit exponent every check's signature took seconds of CPU."""
    make, said = SLOW_KEYS[name]
    with pytest.raises(KeyFileProblem, match=said) as problem:
        sa.parse(key_file(make()))
    assert "BEGIN" not in str(problem.value)


@pytest.mark.parametrize(("bits", "form"), [(2048, "pkcs8"), (4096, "pkcs1")])
def test_the_bounds_themselves_are_accepted(bits, form):
    assert sa.parse(key_file(pem(private_key(bits), form))).key.n.bit_length() == bits


PROGRAM = """
import json, sys
from smtphub import serviceaccount as sa
account = sa.parse(sys.argv[1])
loaded_to_read = "cryptography" in sys.modules
account.assertion(scope="s", audience="a", subject="u", now=1)
print(json.dumps([loaded_to_read, "cryptography" in sys.modules]))
"""


def test_cryptography_is_imported_only_to_sign_never_to_read_a_key_file():
    """Save validates key files without it (its init must not grow); only signing loads it."""
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, key_file(pem(private_key()))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(ROOT / "layers" / "common"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == [False, True]
