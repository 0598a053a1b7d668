"""A Google service account's JSON key file, and the RS256 assertion it signs, with the standard library.

Google's service-account grant (XOAUTH2 with `oauthprovider=google`) posts a JWT signed RS256 =
RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2, RFC 7518 3.3). The layer has no crypto library, and
`cryptography` would add about 14 MB to a layer whose budget is 15 (make bench, "Size") for the one
check that uses a service account. Signing alone, with a key read from the file, is small with Python's
integers: the key's DER is read here (PKCS#8 or PKCS#1, RSA only, 2048 bits or more, its numbers checked
against each other), and a signature is

- the padded digest (EMSA-PKCS1-v1_5: 00 01 FF.. 00, SHA-256's DigestInfo, the hash), deterministic, so
  tests/unit/test_serviceaccount.py proves every signature equal, byte for byte, to OpenSSL's;
- computed with the CRT, blinded by a fresh random factor (so its timing does not follow the message),
  and verified with the public exponent before it is used (a faulty CRT result would disclose a factor).

Who can make this code sign: only the account that stored the key, by checking its own server; no other
input reaches the signature than the claims built here. Nothing here logs, and no error quotes the file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

MIN_BITS = 2048
MAX_BITS = 8192
ASSERTION_SECONDS = 3600  # Google accepts an assertion valid for at most one hour
# SHA-256's DigestInfo prefix (RFC 8017 9.2, note 1).
_SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END \1-----")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}")
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class KeyFileProblem(ValueError):
    """The key file cannot be used; the message names what is wrong and never quotes the file."""


@dataclass(frozen=True, slots=True)
class RsaKey:
    """An RSA private key's numbers (PKCS#1), which `load_private_key` checks against each other; no repr
    shows them."""

    n: int = field(repr=False)
    e: int = field(repr=False)
    d: int = field(repr=False)
    p: int = field(repr=False)
    q: int = field(repr=False)
    dp: int = field(repr=False)
    dq: int = field(repr=False)
    qinv: int = field(repr=False)

    @property
    def size(self) -> int:
        """The modulus's length in bytes (a signature's length)."""
        return (self.n.bit_length() + 7) // 8


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A service account's key file, read: its e-mail (the assertion's issuer) and its key."""

    client_email: str
    private_key_id: str | None
    private_key_pem: str = field(repr=False)
    key: RsaKey = field(repr=False)

    def assertion(self, *, scope: str, audience: str, subject: str, now: int) -> str:
        """The signed JWT of the JWT-bearer grant: this account (`iss`) acting as `subject` (`sub`)."""
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        if self.private_key_id:
            header["kid"] = self.private_key_id
        claims = {
            "iss": self.client_email,
            "scope": scope,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        }
        signing_input = _b64url(_json(header)) + "." + _b64url(_json(claims))
        return signing_input + "." + _b64url(sign(self.key, signing_input.encode("ascii")))


def parse(text: str) -> ServiceAccount:
    """The key file's account; KeyFileProblem naming what is wrong."""
    try:
        values = json.loads(text)
    except (ValueError, RecursionError):
        raise KeyFileProblem("must be the service account's JSON key file") from None
    if not isinstance(values, dict):
        raise KeyFileProblem("must be the service account's JSON key file")
    if values.get("type") != "service_account":
        raise KeyFileProblem('must be a key file of "type": "service_account"')
    email = values.get("client_email")
    if not isinstance(email, str) or not _EMAIL.fullmatch(email):
        raise KeyFileProblem("must hold the account's client_email")
    key_id = values.get("private_key_id")
    if key_id is not None and (not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id)):
        raise KeyFileProblem("has a private_key_id that is not a key id")
    key_pem = values.get("private_key")
    if not isinstance(key_pem, str):
        raise KeyFileProblem("must hold the account's private_key")
    return ServiceAccount(email, key_id, key_pem, load_private_key(key_pem))


def load_private_key(pem: str) -> RsaKey:
    """An unencrypted RSA private key, PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`)."""
    match = _PEM.search(pem)
    if match is None:
        raise KeyFileProblem("has a private_key that is not a PEM private key")
    kind = match.group(1)
    if kind == "ENCRYPTED PRIVATE KEY":
        raise KeyFileProblem("has an encrypted private_key: use the file as Google issues it")
    if kind not in ("PRIVATE KEY", "RSA PRIVATE KEY"):
        raise KeyFileProblem("has a private_key that is not a PEM private key")
    try:
        der = base64.b64decode("".join(match.group(2).split()), validate=True)
        if kind == "PRIVATE KEY":
            der = _pkcs8_rsa(der)
        key = _pkcs1(der)
    except (IndexError, ValueError, binascii.Error):
        raise KeyFileProblem("has a private_key that cannot be read") from None
    if not MIN_BITS <= key.n.bit_length() <= MAX_BITS:
        raise KeyFileProblem(f"has an RSA key that is not {MIN_BITS} to {MAX_BITS} bits long")
    if not _consistent(key):
        raise KeyFileProblem("has a private_key whose numbers do not belong together")
    return key


def sign(key: RsaKey, data: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 of `data`; ArithmeticError if the result does not verify."""
    digest_info = _SHA256_INFO + hashlib.sha256(data).digest()
    padding = key.size - len(digest_info) - 3
    encoded = b"\x00\x01" + b"\xff" * padding + b"\x00" + digest_info
    message = int.from_bytes(encoded, "big")
    blind = secrets.randbelow(key.n - 3) + 2
    while _gcd(blind, key.n) != 1:  # only if a factor were found: never in practice
        blind = secrets.randbelow(key.n - 3) + 2
    blinded = _crt(key, message * pow(blind, key.e, key.n) % key.n)
    signature = blinded * pow(blind, -1, key.n) % key.n
    if pow(signature, key.e, key.n) != message:
        raise ArithmeticError("the RSA signature did not verify: not used")
    return signature.to_bytes(key.size, "big")


def _crt(key: RsaKey, value: int) -> int:
    """value ** d mod n, by the Chinese remainder theorem."""
    m1 = pow(value % key.p, key.dp, key.p)
    m2 = pow(value % key.q, key.dq, key.q)
    return m2 + key.q * (key.qinv * (m1 - m2) % key.p)


def _consistent(key: RsaKey) -> bool:
    p, q = key.p, key.q
    return (
        p > 1
        and q > 1
        and p * q == key.n
        and 3 <= key.e < key.n
        and key.e * key.d % ((p - 1) * (q - 1) // _gcd(p - 1, q - 1)) == 1
        and key.dp == key.d % (p - 1)
        and key.dq == key.d % (q - 1)
        and key.qinv * q % p == 1
    )


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


# --- DER, as much as an RSA private key needs ----------------------------------------------------------


def _element(data: bytes, at: int, tag: int) -> tuple[bytes, int]:
    """The content of the DER element of `tag` at `at`, and where the next one starts."""
    if data[at] != tag:
        raise ValueError("unexpected DER tag")
    length, at = data[at + 1], at + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("unsupported DER length")
        length, at = int.from_bytes(data[at : at + count], "big"), at + count
    end = at + length
    if end > len(data):
        raise ValueError("truncated DER")
    return data[at:end], end


def _integer(data: bytes, at: int) -> tuple[int, int]:
    content, at = _element(data, at, 0x02)
    if not content or content[0] & 0x80:
        raise ValueError("not a positive integer")
    return int.from_bytes(content, "big"), at


def _pkcs8_rsa(der: bytes) -> bytes:
    """The RSAPrivateKey inside a PKCS#8 PrivateKeyInfo (RFC 5208), which must be an RSA one."""
    info, _ = _element(der, 0, 0x30)
    version, at = _integer(info, 0)
    algorithm, at = _element(info, at, 0x30)
    oid, _ = _element(algorithm, 0, 0x06)
    if version != 0 or oid != _RSA_OID:
        raise ValueError("not an RSA key")
    key, _ = _element(info, at, 0x04)
    return key


def _pkcs1(der: bytes) -> RsaKey:
    """RFC 8017 A.1.2 RSAPrivateKey, two primes (version 0)."""
    body, _ = _element(der, 0, 0x30)
    numbers: list[int] = []
    at = 0
    for _ in range(9):
        number, at = _integer(body, at)
        numbers.append(number)
    if numbers[0] != 0:
        raise ValueError("multi-prime keys are not supported")
    return RsaKey(*numbers[1:])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")
