"""`make run`'s OAuth 2.0 token endpoint, so that XOAUTH2 works locally with nothing but loopback.

An HTTPS server on 127.0.0.1 (a throwaway CA made at start, which the functions trust through
SSL_CERT_FILE: a bundle of this machine's CAs and that one) answering
- the generic refresh-token grant at `/token` (the demo server's `oauthtokenurl`);
- Microsoft's client credentials at `/<tenant>/oauth2/v2.0/token` and Google's refresh-token grant at
  `/google/token`, which OAUTH_ENDPOINT_OVERRIDES points the check at instead of the real endpoints;
each for the demo client only (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, any tenant), with
the providers' error shapes (`invalid_client`, `invalid_grant`) otherwise.

The SMTP sink offers AUTH XOAUTH2 and accepts exactly the tokens this endpoint issued, for the mailbox they
were issued for. The demo data gains a server on the sink that uses it (`seed`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiosmtpd.smtp import AuthResult

from local_runtime.sink import SmtpSink, _Handler

DEMO_CLIENT_ID = "smtp-hub-demo"
DEMO_CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the local demo's  # nosec B105
DEMO_REFRESH_TOKEN = "demo-refresh-token"  # noqa: S105 - the same  # nosec B105
DEMO_MAILBOX = "shop@example.com"  # the demo app's sender (local_runtime.demo)
_MICROSOFT = re.compile(r"/[A-Za-z0-9.-]{1,253}/oauth2/v2\.0/token")
_SCOPES = {"microsoft": "https://outlook.office365.com/.default", "google": "https://mail.google.com/"}


class DemoTokenEndpoint:
    """The endpoint, its CA, and the tokens it issued (token -> mailbox; None: Microsoft's app tokens)."""

    def __init__(self, host: str, sink: SmtpSink) -> None:
        self.host = host
        self.issued: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._folder: Path | None = None
        sink.handler = _XOAuth2Handler(sink, self.accepts)
        sink.options = {"auth_require_tls": False, "auth_exclude_mechanism": ["PLAIN", "LOGIN"]}

    @property
    def url(self) -> str:
        port = self._server.server_address[1] if self._server else 0
        return f"https://{self.host}:{port}"

    @property
    def overrides(self) -> str:
        """OAUTH_ENDPOINT_OVERRIDES: Microsoft's and Google's token URLs, here."""
        return f"microsoft={self.url}/{{tenant}}/oauth2/v2.0/token,google={self.url}/google/token"

    def start(self) -> None:
        """Serve, and hand the functions (through this process's environment, which they copy) the way
        here: OAUTH_ENDPOINT_OVERRIDES, and SSL_CERT_FILE naming a bundle that trusts this endpoint."""
        import trustme  # noqa: PLC0415 - a development dependency, as the whole local runtime

        ca = trustme.CA(organization_name="smtp-hub make run")
        self._folder = Path(tempfile.mkdtemp(prefix="smtp-hub-oauth-"))
        bundle = self._folder / "ca-bundle.pem"
        bundle.write_bytes(_system_cas() + b"\n" + ca.cert_pem.bytes())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(self.host, "localhost").configure_cert(context)
        handler = type("Handler", (_TokenHandler,), {"endpoint": self})
        self._server = ThreadingHTTPServer((self.host, 0), handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, name="oauth-demo", daemon=True).start()
        os.environ["SSL_CERT_FILE"] = str(bundle)
        os.environ["OAUTH_ENDPOINT_OVERRIDES"] = self.overrides

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def accepts(self, user: str, token: str) -> bool:
        with self._lock:
            return token in self.issued and self.issued[token] in (None, user)

    def answer(self, path: str, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """A token for the demo client's valid request, else the provider's error."""
        grant = form.get("grant_type")
        provider = "microsoft" if _MICROSOFT.fullmatch(path) else "google" if path == "/google/token" else ""
        if provider == "microsoft" and grant == "client_credentials":
            if form.get("scope") != _SCOPES["microsoft"]:
                return 400, {"error": "invalid_scope", "error_description": "AADSTS70011: invalid scope"}
            return self._client(form) or self._grant(None)
        if path in ("/token", "/google/token") and grant == "refresh_token":
            if form.get("refresh_token") != DEMO_REFRESH_TOKEN:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                }
            return self._client(form, secret_optional=path == "/token") or self._grant(DEMO_MAILBOX)
        return 400, {"error": "unsupported_grant_type", "error_description": "not served by make run"}

    def _client(
        self, form: Mapping[str, str], *, secret_optional: bool = False
    ) -> tuple[int, dict[str, Any]] | None:
        secret = form.get("client_secret", DEMO_CLIENT_SECRET if secret_optional else None)
        if form.get("client_id") != DEMO_CLIENT_ID or secret != DEMO_CLIENT_SECRET:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret",
            }
        return None

    def _grant(self, mailbox: str | None) -> tuple[int, dict[str, Any]]:
        token = "demo." + secrets.token_urlsafe(32)
        with self._lock:
            self.issued[token] = mailbox
        # The OAuth token type, not a password.
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599}  # nosec B105


def seed(  # noqa: PLR0917 - the runtime's seeding context, spelled out
    invoke: Callable[..., Any],
    authorizer: Mapping[str, Any],
    idapp: str,
    sink: SmtpSink,
    url: str,
    warnings: list[str],
) -> str | None:
    """The demo app's second server: the sink again, with XOAUTH2 and a token from `url` (smtps/save
    through its handler, `invoke`, so that its refresh token is stored as any other); its id. None, and a
    warning, when the template cannot save it."""
    server = {
        "idapp": idapp,
        "host": sink.host,
        "port": sink.port,
        "auth": True,
        "insecureauth": True,  # the sink speaks plain SMTP on loopback
        "username": DEMO_MAILBOX,
        "authmech": "XOAUTH2",
        "oauthprovider": "generic",
        "oauthtokenurl": f"{url}/token",
        "oauthclientid": DEMO_CLIENT_ID,
        "oauthrefreshtoken": DEMO_REFRESH_TOKEN,
        "priority": 20,
        "defaultfromname": "smtp-hub local sink (XOAUTH2)",
    }
    try:
        created = invoke("POST", "/private/smtps/save", server, authorizer)
    except RuntimeError as error:
        warnings.append(f"the XOAUTH2 demo server was not created: {error}")
        return None
    return str(created["_id"]) if created else None


class _TokenHandler(BaseHTTPRequestHandler):
    endpoint: DemoTokenEndpoint

    def do_POST(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        status, payload = self.endpoint.answer(self.path, form)
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _XOAuth2Handler(_Handler):
    """The sink's handler, with AUTH XOAUTH2 for the tokens the endpoint issued."""

    def __init__(self, sink: SmtpSink, accepts: Callable[[str, str], bool]) -> None:
        super().__init__(sink)
        self._accepts = accepts

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        try:
            blob = base64.b64decode(args[1]) if len(args) == 2 else b""
            fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if part)
        except ValueError:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode response")
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        if self._accepts(user, token):
            return AuthResult(success=True, auth_data=user)
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "Bearer"}))
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


def _system_cas() -> bytes:
    """This machine's trusted CAs as one PEM file (the one SSL_CERT_FILE names already, if it does)."""
    paths = ssl.get_default_verify_paths()
    for name in (os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile):
        if name and Path(name).is_file():
            return Path(name).read_bytes()
    return b""
