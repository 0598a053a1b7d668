"""What an SMTP conversation needs of the server it talks to (`Endpoint`), and XOAUTH2's token source
(`OAuth`). The check's `Plan` (smtphub.check.plan) and the sender's target (smtphub.sending.delivery) both
are endpoints: the session, its commands, TLS and stage TOKEN read nothing else of them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from smtphub.smtps.models import Smtp


@dataclass(frozen=True, slots=True)
class OAuth:
    """XOAUTH2: where the access token comes from (the contract's `oauth...` settings and secrets)."""

    provider: str  # microsoft, google or generic
    tenant: str | None = None
    client_id: str | None = None
    token_url: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    service_account: str | None = field(default=None, repr=False)  # the JSON key file

    def secrets(self) -> list[str]:
        """Every secret text, and the key file's private key as it is once decoded (the scrubber masks its
        lines too, as the pieces of a secret holding line breaks)."""
        found = [s for s in (self.client_secret, self.refresh_token, self.service_account) if s]
        if self.service_account:
            try:
                key = json.loads(self.service_account).get("private_key")
            except (ValueError, AttributeError, RecursionError):
                key = None
            if isinstance(key, str) and key:
                found.append(key)
        return found


def oauth_for(smtp: Smtp, values: Mapping[str, str]) -> OAuth | None:
    """The XOAUTH2 token source of `smtp` with its write-only `values`; None without an oauthprovider."""
    if not smtp.oauthprovider:
        return None
    return OAuth(
        provider=smtp.oauthprovider,
        tenant=smtp.oauthtenant,
        client_id=smtp.oauthclientid,
        token_url=smtp.oauthtokenurl,
        client_secret=values.get("oauthclientsecret"),
        refresh_token=values.get("oauthrefreshtoken"),
        service_account=values.get("oauthserviceaccount"),
    )


def endpoint_fields(smtp: Smtp, values: Mapping[str, str]) -> dict[str, Any]:
    """How to reach and log in to `smtp` with its write-only `values`: the fields every Endpoint (the check's
    Plan, the sender's Target) takes from the stored server."""
    return {
        "host": smtp.host,
        "port": smtp.port,
        "ssltls": smtp.ssltls,
        "starttls": smtp.starttls,
        "auth": smtp.auth,
        "username": smtp.username,
        "password": values.get("password"),
        "debug": smtp.debug,
        "insecure_auth": smtp.insecureauth,
        "authmech": smtp.authmech,
        "oauth": oauth_for(smtp, values),
        "tls_verify": smtp.tlsverify,
        "cacert": smtp.cacert,
        "tls_min": smtp.tlsmin,
        "helo": smtp.helo,
    }


class Endpoint(Protocol):
    """A server's address, encryption and credentials, as a conversation with it uses them (the contract's
    fields of an SMTP server, and its write-only values)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def ssltls(self) -> bool: ...
    @property
    def starttls(self) -> bool: ...
    @property
    def auth(self) -> bool: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def debug(self) -> bool: ...
    @property
    def insecure_auth(self) -> bool: ...
    @property
    def authmech(self) -> str: ...
    @property
    def oauth(self) -> OAuth | None: ...
    @property
    def tls_verify(self) -> bool: ...
    @property
    def cacert(self) -> str | None: ...
    @property
    def tls_min(self) -> str: ...
    @property
    def xoauth2(self) -> bool: ...
    @property
    def secrets(self) -> list[str]: ...
