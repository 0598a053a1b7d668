"""XOAUTH2's counterparts on 127.0.0.1: an HTTPS token endpoint and SMTP peers that accept its tokens.

`TokenEndpoint` answers each grant as its provider documents it, and checks the request the same way:
- Microsoft (`/<tenant>/oauth2/v2.0/token`): exactly `client_id`, `client_secret`, `scope`
  (https://outlook.office365.com/.default) and `grant_type=client_credentials`, form-encoded; refusals
  shaped like Entra ID's (`invalid_client` with AADSTS7000215, AADSTS90002 for an unknown tenant, ...);
- Google (`/google/token`): the JWT-bearer grant (`grant_type`, `assertion`: verified with PyJWT against the
  service account's public key: RS256, `kid`, `iss`, `aud` https://oauth2.googleapis.com/token,
  `scope` https://mail.google.com/, `sub` a delegated user, at most one hour), or the refresh-token grant
  (`client_id`, `client_secret`, `refresh_token`); `invalid_grant` and `unauthorized_client` as Google says;
- generic (`/generic/token`): the refresh-token grant, `client_secret` optional.
Every request is kept (`requests`) and every token it issued (`issued`, with the mailbox it is good for).

The SMTP peers that accept its tokens are in tests/support/xoauth2_smtpd.py. Certificates come from the
`ca` fixture.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

import jwt
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.file_server import serving_https
from tests.support.smtp_peers import (
    USERNAME,
)

TENANT = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
MS_CLIENT_ID = "11111111-2222-3333-4444-555555555555"
MS_CLIENT_SECRET = "Ms8Q~client-secret.value_0001"
GOOGLE_CLIENT_ID = "1234567890-abcdef.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "GOCSPX-google-client-secret-01"
GOOGLE_REFRESH = "1//0g-google-refresh-token-0001"
GENERIC_CLIENT_ID = "smtp-hub"
GENERIC_CLIENT_SECRET = "generic-client-secret-0001"
GENERIC_REFRESH = "generic-refresh-token-0001"
SA_EMAIL = "checker@smtp-hub-test.iam.gserviceaccount.com"
SA_KEY_ID = "5d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0"
MS_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_CHALLENGE = {"status": "400", "schemes": "Bearer", "scope": GOOGLE_SCOPE}


@cache
def service_account_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_file() -> str:
    pem = service_account_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "smtp-hub-test",
            "private_key_id": SA_KEY_ID,
            "private_key": pem.decode(),
            "client_email": SA_EMAIL,
            "client_id": "101234567890123456789",
            "token_uri": GOOGLE_AUDIENCE,
        }
    )


@dataclass
class TokenRequest:
    path: str
    content_type: str
    form: dict[str, str]


@dataclass
class Grant:
    provider: str
    user: str | None  # the mailbox the token is good for; None: an app token (Microsoft), any mailbox


@dataclass
class TokenEndpoint:
    port: int = 0
    requests: list[TokenRequest] = field(default_factory=list)
    issued: dict[str, Grant] = field(default_factory=dict)
    refusal: tuple[int, dict[str, Any]] | None = None  # answer every request with this
    raw_answer: tuple[int, bytes] | None = None  # or with these bytes
    drip: float = 0.0  # seconds between the bytes of the answer
    expires_in: int = 3599
    delegated: set[str] = field(default_factory=lambda: {USERNAME})  # users the service account may act as
    refresh_user: str = USERNAME  # the user a refresh token belongs to
    next_token: str | None = None  # the access token to issue (else a random one)
    ms_client_secret: str = MS_CLIENT_SECRET  # the Microsoft app's secret
    # A hostile endpoint: refuses every request with this answer made of what it was sent (its form).
    echo: Callable[[dict[str, str]], tuple[int, dict[str, Any]]] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def overrides(self) -> dict[str, str]:
        return {"microsoft": self.url + "/{tenant}/oauth2/v2.0/token", "google": self.url + "/google/token"}

    @property
    def generic_url(self) -> str:
        return self.url + "/generic/token"

    def answer(self, path: str, content_type: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append(TokenRequest(path, content_type, form))
        if self.refusal is not None:
            return self.refusal
        if self.echo is not None:
            return self.echo(form)
        if content_type.split(";", maxsplit=1)[0].strip() != "application/x-www-form-urlencoded":
            return 400, {"error": "invalid_request", "error_description": "not a form"}
        return self._route(path, form)

    def _route(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path == f"/{TENANT}/oauth2/v2.0/token":
            return self._microsoft(form)
        if path.endswith("/oauth2/v2.0/token"):
            return 400, {
                "error": "invalid_request",
                "error_codes": [90002],
                "error_description": "AADSTS90002: Tenant 'x' not found. Check to make sure you have "
                "the correct tenant ID.\r\nTrace ID: 0\r\nCorrelation ID: 0",
            }
        if path == "/google/token" and form.get("grant_type") == JWT_BEARER:
            return self._service_account(form)
        if path in ("/google/token", "/generic/token"):
            return self._refresh(path, form)
        return 404, {"error": "not_found"}

    def _microsoft(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        expected = {
            "client_id": MS_CLIENT_ID,
            "client_secret": MS_CLIENT_SECRET,
            "scope": MS_SCOPE,
            "grant_type": "client_credentials",
        }
        if (
            set(form) != set(expected)
            or form["scope"] != MS_SCOPE
            or form["grant_type"] != "client_credentials"
        ):
            return 400, {"error": "invalid_request", "error_description": "AADSTS900144: malformed request"}
        if form["client_id"] != MS_CLIENT_ID:
            return 400, {
                "error": "unauthorized_client",
                "error_codes": [700016],
                "error_description": "AADSTS700016: Application with identifier 'x' was not found",
            }
        if form["client_secret"] != self.ms_client_secret:
            return 401, {
                "error": "invalid_client",
                "error_codes": [7000215],
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                "being sent in the request is the client secret value.\r\nTrace ID: 1",
            }
        return self._grant("microsoft", None, "eyJ0eXAiOiJKV1QiLCJub25jZSI6", MS_SCOPE)

    def _service_account(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if set(form) != {"grant_type", "assertion"}:
            return 400, {"error": "invalid_request", "error_description": "unexpected fields"}
        try:
            header = jwt.get_unverified_header(form["assertion"])
            claims = jwt.decode(
                form["assertion"],
                service_account_key().public_key(),
                algorithms=["RS256"],
                audience=GOOGLE_AUDIENCE,
                issuer=SA_EMAIL,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        lifetime = claims["exp"] - claims["iat"]
        if header.get("kid") != SA_KEY_ID or claims.get("scope") != GOOGLE_SCOPE or not 0 < lifetime <= 3600:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: bad claims."}
        if abs(claims["iat"] - time.time()) > 300:
            return 400, {
                "error": "invalid_grant",
                "error_description": "Invalid JWT: Token must be a short-lived token",
            }
        if claims["sub"] not in self.delegated:
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Client is unauthorized to retrieve "
                "access tokens using this method, or client not authorized for any of the scopes requested.",
            }
        return self._grant("google", claims["sub"], "ya29.c.", GOOGLE_SCOPE)

    def _refresh(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        google = path == "/google/token"
        client, secret, refresh = (
            (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, GOOGLE_REFRESH)
            if google
            else (GENERIC_CLIENT_ID, GENERIC_CLIENT_SECRET, GENERIC_REFRESH)
        )
        optional = set() if google else {"client_secret"}
        required = {"grant_type", "refresh_token", "client_id", "client_secret"} - optional
        if form.get("grant_type") != "refresh_token" or not required <= set(form) <= required | optional:
            return 400, {"error": "invalid_request", "error_description": "unexpected fields"}
        if form["client_id"] != client or form.get("client_secret", secret) != secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        if form["refresh_token"] != refresh:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        return self._grant("google" if google else "generic", self.refresh_user, "ya29.a0", GOOGLE_SCOPE)

    def _grant(self, provider: str, user: str | None, prefix: str, scope: str) -> tuple[int, dict[str, Any]]:
        token = self.next_token or prefix + secrets.token_urlsafe(48)
        self.issued[token] = Grant(provider, user)
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": scope,
        }


class _Handler(BaseHTTPRequestHandler):
    endpoint: TokenEndpoint

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        form = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(body)))
        status, payload = self.endpoint.answer(self.path, self.headers.get("Content-Type", ""), form)
        data = json.dumps(payload).encode()
        if self.endpoint.raw_answer is not None:
            status, data = self.endpoint.raw_answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for start in range(0, len(data), 1 if self.endpoint.drip else len(data) or 1):
            self.wfile.write(data[start : start + 1] if self.endpoint.drip else data)
            self.wfile.flush()
            time.sleep(self.endpoint.drip)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def running_token_endpoint(ca: trustme.CA, *names: str) -> Iterator[TokenEndpoint]:
    """The endpoint on 127.0.0.1 over HTTPS, its certificate from `ca` for `names` (default: 127.0.0.1)."""
    endpoint = TokenEndpoint()
    handler = type("Handler", (_Handler,), {"endpoint": endpoint})
    with serving_https(handler, ca, names or ("127.0.0.1", "localhost")) as server:
        endpoint.port = server.server_address[1]
        yield endpoint
