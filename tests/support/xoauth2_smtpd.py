"""aiosmtpd peers on 127.0.0.1 offering XOAUTH2 and CRAM-MD5 beside aiosmtpd's PLAIN and LOGIN.

`OAuthSink`'s XOAUTH2 succeeds only with a token the local token endpoint (tests/support/oauth_peers.py)
issued for that user; otherwise it sends Google's error challenge (base64 JSON), waits for the client's
empty answer and says 535, as Gmail does. Its CRAM-MD5 checks the digest of USERNAME and PASSWORD.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from typing import Any

from aiosmtpd.smtp import AuthResult

from tests.support.oauth_peers import GOOGLE_CHALLENGE, TokenEndpoint
from tests.support.smtp_peers import (
    PASSWORD,
    USERNAME,
    Server,
    Sink,
    WireController,
    WireSMTP,
    authenticator,
    free_port,
)


class OAuthSink(Sink):
    def __init__(
        self, endpoint: TokenEndpoint | None, data_reply: str = "250 2.0.0 Ok: queued as 4F1A2B"
    ) -> None:
        super().__init__(data_reply)
        self.endpoint = endpoint
        self.xoauth2: list[tuple[str, str]] = []  # (user, token) of every XOAUTH2 attempt

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        blob = (
            base64.b64decode(args[1])
            if len(args) == 2
            else await server.challenge_auth("", encode_to_b64=False)
        )
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        self.xoauth2.append((user, token))
        grant = self.endpoint.issued.get(token) if self.endpoint else None
        if grant is not None and grant.user in (None, user):
            return AuthResult(success=True, auth_data=user)
        await server.challenge_auth(json.dumps(GOOGLE_CHALLENGE))  # the client answers with an empty line
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )

    async def auth_CRAM__MD5(self, server: Any, args: list[str]) -> AuthResult:
        challenge = f"<{secrets.token_hex(8)}@mx.test>".encode()
        answer = await server.challenge_auth(challenge)
        user, _, digest = bytes(answer).partition(b" ")
        expected = hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest().encode()
        ok = user == USERNAME.encode() and hmac.compare_digest(digest, expected)
        return AuthResult(success=ok, handled=False)


class LongLinesSMTP(WireSMTP):
    command_size_limit = 16 * 1024  # RFC 4954: an AUTH line may be 12288 octets (access tokens are long)


class OAuthController(WireController):
    def factory(self) -> WireSMTP:
        return LongLinesSMTP(self.handler, **self.SMTP_kwargs)


@contextlib.contextmanager
def running_oauth_smtpd(endpoint: TokenEndpoint | None, **options: Any) -> Iterator[Server]:
    """aiosmtpd on 127.0.0.1 offering PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 (less `auth_exclude_mechanism`)."""
    sink = OAuthSink(endpoint)
    options.setdefault("authenticator", authenticator)
    options.setdefault("auth_require_tls", False)
    port = free_port()
    controller = OAuthController(sink, hostname="127.0.0.1", port=port, server_hostname="mx.test", **options)
    controller.start()
    try:
        yield Server(port, sink)
    finally:
        controller.stop()
