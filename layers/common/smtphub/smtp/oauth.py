"""Stage TOKEN: the access token XOAUTH2 sends, from the provider's token endpoint, as each documents it.

- microsoft: client credentials at https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token with
  `client_id`, `client_secret`, `scope=https://outlook.office365.com/.default` (the app's SMTP.SendAsApp
  permission, its service principal registered in Exchange Online);
- google, with a service account: the JWT-bearer grant (`grant_type=urn:ietf:params:oauth:grant-type:
  jwt-bearer`, `assertion` = a JWT signed RS256 by the key file's key: `iss` the account, `sub` the
  server's `username`, `scope=https://mail.google.com/`, `aud=https://oauth2.googleapis.com/token`, one
  hour) at https://oauth2.googleapis.com/token; the account needs domain-wide delegation of that scope;
- google without one, and generic: the refresh-token grant (`refresh_token`, `client_id`, and
  `client_secret` when there is one) at Google's endpoint or at `oauthtokenurl`. A provider that rotates
  refresh tokens and revokes the old one on use cannot be checked twice: the check stores nothing.

Endpoints are reached through smtphub.smtp.https (the SSRF guard, the deadline), verified with the
system's CAs whatever the server's own TLS settings. `endpoints` replaces the fixed URLs (local runtime and
tests only: the `OAUTH_ENDPOINT_OVERRIDES` setting). A refusal is a failure at TOKEN quoting the provider's
error code (`invalid_client`, `invalid_grant`, `AADSTS7000215`, ...) and the first line of its description,
scrubbed. Tokens are kept in memory per container until a minute before they expire, keyed by an HMAC (a
per-container random key) of every input, secrets included: another account's server with the same
client id but another secret never gets this one's token. They are never stored, logged or shown.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from urllib.parse import quote

from smtphub.smtp.endpoint import OAuth
from smtphub.smtp.https import HttpAnswer, HttpProblem, post_form
from smtphub.smtp.session import Session

ENDPOINTS = {
    "microsoft": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    "google": "https://oauth2.googleapis.com/token",
}
SCOPES = {"microsoft": "https://outlook.office365.com/.default", "google": "https://mail.google.com/"}
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"  # the `aud` Google requires, wherever it is posted
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
EARLY = 60.0  # a cached token is dropped this many seconds before it expires
MAX_TOKEN = 16 * 1024
_ERROR = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_AADSTS = re.compile(r"AADSTS\d{1,10}")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # RFC 6750 b64token and more: visible ASCII, no space
_HINTS = {
    "invalid_client": "check oauthclientid and oauthclientsecret",
    "unauthorized_client": "the client may not use this grant or scope (Google: authorise the service "
    "account's client id for https://mail.google.com/ in domain-wide delegation)",
    "invalid_grant": "the refresh token or the service account is not valid (expired, revoked, or not "
    "allowed for this username)",
    "invalid_scope": "the client is not allowed the scope",
}


class TokenCache:
    """Access tokens by an HMAC of what bought them, until EARLY seconds before they expire."""

    def __init__(self, size: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size
        self._clock = clock

    def key(self, *inputs: str | None) -> str:
        text = json.dumps(inputs, ensure_ascii=False).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] <= self._clock():
                self._entries.pop(key, None)
                return None
            return entry[0]

    def put(self, key: str, token: str, expires_in: int | None) -> None:
        if not expires_in or expires_in <= EARLY:
            return
        with self._lock:
            self._entries[key] = (token, self._clock() + expires_in - EARLY)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class Tokens:
    """Gets (or reuses) the access token of a plan, at stage TOKEN of its session."""

    def __init__(
        self,
        endpoints: Mapping[str, str] | None = None,
        *,
        cache: TokenCache | None = None,
        tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoints = {**ENDPOINTS, **(endpoints or {})}
        self.cache = cache or TokenCache()
        self.tls_context = tls_context
        self.clock = clock

    def token(self, session: Session, *, allow_private: bool) -> str:
        plan = session.plan
        oauth = _usable(session)
        url = self.url(oauth)
        key = self.cache.key(oauth.provider, url, oauth.tenant, oauth.client_id, plan.username,
                             oauth.client_secret, oauth.refresh_token, oauth.service_account)  # fmt: skip
        token = self.cache.get(key)
        if token is None:
            form = self.form(session, oauth)
            try:
                answer = post_form(url, form, deadline=session.deadline, limits=session.limits,
                                   allow_private=allow_private, context=self._context())  # fmt: skip
            except HttpProblem as problem:
                session.fail(problem.message)
            token, expires_in = _granted(session, answer)
            self.cache.put(key, token, expires_in)
        session.scrub.add_secret(token)
        return token

    def url(self, oauth: OAuth) -> str:
        if oauth.provider == "generic":
            return oauth.token_url or ""
        return self.endpoints[oauth.provider].replace("{tenant}", quote(oauth.tenant or "", safe=""))

    def form(self, session: Session, oauth: OAuth) -> dict[str, str]:
        """The token request's fields, as the provider documents them."""
        if oauth.provider == "microsoft":
            return {
                "client_id": oauth.client_id or "",
                "client_secret": oauth.client_secret or "",
                "scope": SCOPES["microsoft"],
                "grant_type": "client_credentials",
            }
        if oauth.provider == "google" and oauth.service_account:
            assertion = _assertion(session, oauth.service_account, int(self.clock()))
            return {"grant_type": JWT_BEARER, "assertion": assertion}
        form = {
            "grant_type": "refresh_token",
            "refresh_token": oauth.refresh_token or "",
            "client_id": oauth.client_id or "",
        }
        if oauth.client_secret:
            form["client_secret"] = oauth.client_secret
        return form

    def _context(self) -> ssl.SSLContext:
        context = self.tls_context()
        context.minimum_version = max(context.minimum_version, ssl.TLSVersion.TLSv1_2)
        return context


def _usable(session: Session) -> OAuth:
    """The plan's XOAUTH2 settings, or a failure at TOKEN naming what is missing."""
    plan = session.plan
    oauth = plan.oauth
    if oauth is None or oauth.provider not in ("microsoft", "google", "generic"):
        session.fail("XOAUTH2 needs an oauthprovider (microsoft, google or generic): save it with one")
    if not plan.username:
        session.fail("XOAUTH2 needs the mailbox as username: save it with one")
    missing = {
        "microsoft": [("oauthtenant", oauth.tenant), ("oauthclientid", oauth.client_id),
                      ("oauthclientsecret", oauth.client_secret)],
        "google": [] if oauth.service_account else [("oauthclientid", oauth.client_id),
                   ("oauthclientsecret", oauth.client_secret), ("oauthrefreshtoken", oauth.refresh_token)],
        "generic": [("oauthtokenurl", oauth.token_url), ("oauthclientid", oauth.client_id),
                    ("oauthrefreshtoken", oauth.refresh_token)],
    }[oauth.provider]  # fmt: skip
    names = [name for name, value in missing if not value]
    if names:
        session.fail(f"No {', '.join(names)} is stored for this server's XOAUTH2: save it again with them")
    return oauth


def _assertion(session: Session, key_file: str, now: int) -> str:
    from smtphub.serviceaccount import KeyFileProblem, parse  # noqa: PLC0415 - only service accounts sign

    try:
        account = parse(key_file)
        assertion = account.assertion(
            scope=SCOPES["google"], audience=GOOGLE_AUDIENCE, subject=session.plan.username or "", now=now
        )
    except KeyFileProblem as problem:
        session.fail(f"The stored oauthserviceaccount {problem}: save it again")
    session.scrub.add_secret(assertion)  # a credential for an hour
    return assertion


def _granted(session: Session, answer: HttpAnswer) -> tuple[str, int | None]:
    """The access token and its lifetime from a token answer; a failure at TOKEN for anything else."""
    try:
        payload = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        session.fail(f"The token endpoint answered {answer.status} without an OAuth answer (not JSON)")
    if answer.status != 200 or "access_token" not in payload:
        session.fail(_refusal(session, answer.status, payload))
    token = payload["access_token"]
    if not isinstance(token, str) or len(token) > MAX_TOKEN or not _TOKEN.fullmatch(token):
        session.fail("The token endpoint's answer holds no usable access token")
    session.scrub.add_secret(token)
    kind = payload.get("token_type", "Bearer")
    if not isinstance(kind, str) or kind.lower() != "bearer":
        session.fail("The token endpoint gave a token that is not a Bearer token")
    expires = payload.get("expires_in")
    if isinstance(expires, str) and expires.isdigit():
        expires = int(expires)
    return token, expires if isinstance(expires, int) and not isinstance(expires, bool) else None


def _refusal(session: Session, status: int, payload: dict[str, object]) -> str:
    """`The token endpoint refused the request (401 invalid_client AADSTS7000215): <hint>: <description>`."""
    scrub = session.scrub
    error = payload.get("error")
    # Quoted only when scrubbing leaves it as it is (an endpoint could echo a secret there too).
    code = error if isinstance(error, str) and _ERROR.fullmatch(error) and scrub(error) == error else None
    description = payload.get("error_description")
    description = description.strip() if isinstance(description, str) else ""
    first = description.splitlines()[0] if description else ""
    aadsts = _AADSTS.search(first) if first else None
    codes = payload.get("error_codes")
    if aadsts is None and isinstance(codes, list) and codes and isinstance(codes[0], int):
        label = f"AADSTS{codes[0]}"
    else:
        label = aadsts.group() if aadsts else ""
    label = label if scrub(label) == label else ""
    named = " ".join(part for part in (str(status), code or "", label) if part)
    hint = _HINTS.get(code or "", "")
    if code == "invalid_request" and label == "AADSTS90002":
        hint = "the tenant was not found: check oauthtenant"
    # The whole description judged (a secret split across its lines), its first line shown.
    text = "" if scrub.hides(description) else scrub(first)
    return (
        f"The token endpoint refused the request ({named})"
        + (f": {hint}" if hint else "")
        + (f" ({text})" if text and text != label else "")
    )


_SHARED: dict[tuple[tuple[str, str], ...], Tokens] = {}
_SHARED_LOCK = threading.Lock()


def tokens_for(endpoints: Mapping[str, str] | None) -> Tokens:
    """The container's Tokens (and token cache) for these endpoints."""
    key = tuple(sorted((endpoints or {}).items()))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Tokens(dict(key))
        return _SHARED[key]


def forget() -> None:
    """Tests: drop every container-wide token cache."""
    with _SHARED_LOCK:
        _SHARED.clear()
