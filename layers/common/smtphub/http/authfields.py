"""The parameter types of an SMTP server's authentication and TLS settings (issue 14): the mechanism,
XOAUTH2's provider settings and write-only secrets, the CA bundle, the TLS floor and the EHLO name.

Same rules as smtphub.http.fields (strict, trimmed, never repeating a value in a message); secrets are kept
verbatim. What a URL or key file leads to is only judged at check time (smtphub.smtp.oauth).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

from smtphub.addresses import MAX_HOST, is_dns_name
from smtphub.http.fields import (
    SECRET_SCHEMA,
    at_most,
    forbidden_character,
    invalid,
    one_of,
    secret,
    text_of,
    text_schema,
)

MAX_CLIENT_SECRET = 1024
MAX_REFRESH_TOKEN = 8192
MAX_CLIENT_ID = 256
MAX_TOKEN_URL = 2048
MAX_PEM = 16 * 1024  # a CA bundle, a service account's key file
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CLIENT_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_CLIENT_ID}}}")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\n([A-Za-z0-9+/=\n]+?)\n?-----END \1-----")


def _tenant(value: Any) -> str:
    """A Microsoft tenant: its id (a GUID) or a domain name; nothing that could change the token URL."""
    text = text_of(value).strip()
    if _GUID.fullmatch(text) or ("." in text and is_dns_name(text)):
        return text.lower()
    raise invalid("must be the tenant's id (a GUID) or its domain name (contoso.onmicrosoft.com)")


def _client_id(value: Any) -> str:
    text = text_of(value).strip()
    if not _CLIENT_ID.fullmatch(text):
        raise invalid(f"must be the OAuth client id (visible ASCII, at most {MAX_CLIENT_ID} characters)")
    return text


def parse_token_url(value: Any) -> str:
    """An https URL with a host (a DNS name or an IP literal), an optional port and path and query; no user
    info, no fragment. Where it leads is checked at check time, by the same guard as SMTP hosts."""
    from urllib.parse import urlsplit  # noqa: PLC0415 - only save parses URLs

    message = "must be an https URL (https://host[:port]/path, no user info or fragment)"
    text = text_of(value).strip()
    if len(text) > MAX_TOKEN_URL or not text.isascii() or forbidden_character(text) or " " in text:
        raise invalid(message)
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname or ""
    except ValueError:
        raise invalid(message) from None
    if parts.scheme != "https" or parts.username is not None or parts.password is not None:
        raise invalid(message)
    if parts.fragment or "#" in text or port == 0 or not host:
        raise invalid(message)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not is_dns_name(host):
            raise invalid(message) from None
    return text


def _service_account(value: Any) -> str:
    """A Google service account's JSON key file, whose RSA key can sign (smtphub.serviceaccount)."""
    from smtphub.serviceaccount import KeyFileProblem, parse  # noqa: PLC0415 - only save reads key files

    text = secret(MAX_PEM)(value)
    try:
        parse(text)
    except KeyFileProblem as problem:
        raise invalid(str(problem)) from None
    return text


def _ca_bundle(value: Any) -> str:
    """PEM certificates (one or more), nothing else: a private key pasted by mistake would be stored in the
    record and shown in every JSON of the server. The bundle must load as trust anchors."""
    import ssl  # noqa: PLC0415 - only save loads certificates

    text = at_most(MAX_PEM, text_of(value).replace("\r\n", "\n").strip())
    blocks = list(_PEM_BLOCK.finditer(text))
    if not blocks or not text.isascii():
        raise invalid("must be PEM certificates (-----BEGIN CERTIFICATE-----)")
    rest = _PEM_BLOCK.sub("", text)
    if rest.strip() or any(block.group(1) != "CERTIFICATE" for block in blocks):
        raise invalid("must hold only certificates (-----BEGIN CERTIFICATE-----), no keys or other text")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError):
        raise invalid("holds a certificate that cannot be read") from None
    return text


def _tls_version(value: Any) -> str:
    text = text_of(value).strip()
    if text not in ("1.2", "1.3"):
        raise invalid("must be 1.2 or 1.3")
    return text


def _helo(value: Any) -> str:
    """What EHLO says (RFC 5321 4.1.1.1): a domain or an address literal ([192.0.2.1], [IPv6:2001:db8::1])."""
    message = "must be a host name or an address literal ([192.0.2.1])"
    text = text_of(value).strip()
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if inner[:5].lower() == "ipv6:":
        inner = inner[5:]
    try:
        address = ipaddress.ip_address(inner)
    except ValueError:
        if text == inner and is_dns_name(text):
            return text.lower()
        raise invalid(message) from None
    return f"[{address}]" if address.version == 4 else f"[IPv6:{address}]"


AuthMech = Annotated[
    str,
    PlainValidator(one_of("auto", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")),
    WithJsonSchema({"type": "string", "enum": ["auto", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"]}),
]
OAuthProvider = Annotated[
    str,
    PlainValidator(one_of("microsoft", "google", "generic")),
    WithJsonSchema({"type": "string", "enum": ["microsoft", "google", "generic"]}),
]
OAuthTenant = Annotated[str, PlainValidator(_tenant), text_schema(MAX_HOST)]
OAuthClientId = Annotated[str, PlainValidator(_client_id), text_schema(MAX_CLIENT_ID)]
TokenUrl = Annotated[str, PlainValidator(parse_token_url), text_schema(MAX_TOKEN_URL, format="uri")]
OAuthClientSecret = Annotated[
    str, PlainValidator(secret(MAX_CLIENT_SECRET)), text_schema(MAX_CLIENT_SECRET, **SECRET_SCHEMA)
]
OAuthRefreshToken = Annotated[
    str, PlainValidator(secret(MAX_REFRESH_TOKEN)), text_schema(MAX_REFRESH_TOKEN, **SECRET_SCHEMA)
]
ServiceAccountKey = Annotated[str, PlainValidator(_service_account), text_schema(MAX_PEM, **SECRET_SCHEMA)]
CaCert = Annotated[str, PlainValidator(_ca_bundle), text_schema(MAX_PEM)]
TlsMin = Annotated[
    str, PlainValidator(_tls_version), WithJsonSchema({"type": "string", "enum": ["1.2", "1.3"]})
]
Helo = Annotated[str, PlainValidator(_helo), text_schema(MAX_HOST)]
