"""A Google service account's JSON key file, read and bounded here; the RS256 assertion it signs, by OpenSSL.

Google's service-account grant (XOAUTH2 with `oauthprovider=google`) posts a JWT signed RS256 =
RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2, RFC 7518 3.3).

Reading (save's validation, and the check before it signs) needs no crypto library: the key's DER is read
here (PKCS#8 or PKCS#1, RSA only, two primes) and refused unless it is a key Google issues and OpenSSL signs
with quickly: public exponent 65537, modulus 2048 to 4096 bits (issue 22: a public exponent thousands of
bits long was accepted, and every check then spent seconds of CPU), its numbers checked against each other
(n = pq, ed = 1 mod lcm(p-1, q-1), the CRT values). That costs well under a millisecond, and keeps
`cryptography` out of save's and every other function's init.

Signing (`sign`) is OpenSSL's, through `cryptography`, imported only then: it ships in the signing layer
(layers/signing), attached only to the functions that may sign (smtps/check, smtps/save for verify=true,
the health worker). The key is handed over as the numbers read here, without OpenSSL's own key check (its
primality tests cost 60 ms for 2048 bits and 780 ms for 4096 on this machine, several times that on a
256 MB Lambda, at every token fetch); what that check guards against, a key whose numbers do not belong
together (a faulty CRT signature discloses a factor), is refused when the file is read, and every signature
is verified with the public key before it is used.

Who can make this code sign: only the account that stored the key, by checking its own server; no other
input reaches the signature than the claims built here. Nothing here logs, and no error quotes the file.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

MIN_BITS = 2048
MAX_BITS = 4096
EXPONENT = 65537  # what Google's keys (and every usual key generator) use
ASSERTION_SECONDS = 3600  # Google accepts an assertion valid for at most one hour
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
    # The bounds first: they are what keeps signing cheap, and they cost nothing to check.
    if key.e != EXPONENT:
        raise KeyFileProblem(
            f"has an RSA key whose public exponent is not {EXPONENT} (Google's keys use {EXPONENT})"
        )
    if not MIN_BITS <= key.n.bit_length() <= MAX_BITS:
        raise KeyFileProblem(f"has an RSA key that is not {MIN_BITS} to {MAX_BITS} bits long")
    if not _consistent(key):
        raise KeyFileProblem("has a private_key whose numbers do not belong together")
    return key


def sign(key: RsaKey, data: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 of `data`, by OpenSSL; `key` as `load_private_key` returns it (its
    bounds and numbers checked). KeyFileProblem when the signature does not verify: it is never used."""
    # Only a service-account check signs: cryptography (layers/signing) is imported then, never at init.
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415

    public = rsa.RSAPublicNumbers(key.e, key.n)
    numbers = rsa.RSAPrivateNumbers(key.p, key.q, key.d, key.dp, key.dq, key.qinv, public)
    try:
        private = numbers.private_key(unsafe_skip_rsa_key_validation=True)  # checked: module docstring
        signature = private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        private.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except (ValueError, InvalidSignature):
        raise KeyFileProblem("has a private_key that could not sign") from None
    return signature


def _consistent(key: RsaKey) -> bool:
    p, q = key.p, key.q
    return (
        p > 1
        and q > 1
        and p * q == key.n
        and 3 <= key.e < key.n
        and key.e * key.d % math.lcm(p - 1, q - 1) == 1
        and key.dp == key.d % (p - 1)
        and key.dq == key.d % (q - 1)
        and key.qinv * q % p == 1
    )


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
