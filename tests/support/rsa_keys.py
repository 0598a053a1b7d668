"""RSA private keys for the service-account tests, including ones no key generator makes: a public exponent
other than 65537 (thousands of bits long: issue 22's key that burns CPU), numbers that do not belong
together. Written as PKCS#1 DER by hand (RFC 8017 A.1.2), so any numbers can be put in a PEM."""

from __future__ import annotations

import base64
import json
import math
import secrets
import textwrap
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"


@cache
def private_key(bits: int = 2048, number: int = 0) -> rsa.RSAPrivateKey:
    """A key made by OpenSSL (e = 65537); `number` tells apart keys of the same size."""
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
    """A Google service account's JSON key file holding `key_pem` (`changes`: None drops a field)."""
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


def der(tag: int, content: bytes) -> bytes:
    size = len(content)
    length = bytes([size]) if size < 0x80 else bytes([0x80 | 2]) + size.to_bytes(2, "big")
    return bytes([tag]) + length + content


def der_integer(value: int) -> bytes:
    return der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def pkcs1_pem(n: int, e: int, d: int, p: int, q: int, dp: int, dq: int, qinv: int) -> str:  # noqa: PLR0917
    """An `RSA PRIVATE KEY` PEM of exactly these numbers, whatever they are."""
    body = der(0x30, b"".join(der_integer(value) for value in (0, n, e, d, p, q, dp, dq, qinv)))
    lines = textwrap.wrap(base64.b64encode(body).decode(), 64)
    return "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *lines, "-----END RSA PRIVATE KEY-----", ""])


def with_public_exponent(exponent_bits: int, bits: int = 2048) -> str:
    """A consistent RSA key (its primes OpenSSL's) whose public exponent is a random odd number of
    `exponent_bits` bits (17 bits and a value other than 65537 when asked for 17)."""
    numbers = private_key(bits).private_numbers()
    p, q = numbers.p, numbers.q
    lam = math.lcm(p - 1, q - 1)
    while True:
        e = secrets.randbits(exponent_bits) | 1 | (1 << (exponent_bits - 1))
        if e != 65537 and math.gcd(e, lam) == 1:
            break
    d = pow(e, -1, lam)
    return pkcs1_pem(p * q, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))
