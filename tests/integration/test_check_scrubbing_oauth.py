"""XOAUTH2's secrets and the access token, echoed back by a hostile token endpoint or SMTP server in any
encoding: nothing of them reaches what a check returns, stores, shows or logs (the property of
tests/integration/test_check_scrubbing.py, for the client secret and the access token)."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtphub.check import CheckOutcome, Deadline, Limits, OAuth, Plan, converse, report
from smtphub.http.responses.checks import lastcheck_json
from smtphub.smtp import oauth
from smtphub.smtp.scrub import MASK, MIN_ASSERTED, secret_forms
from tests.support.oauth_peers import (
    GENERIC_CLIENT_ID,
    GENERIC_CLIENT_SECRET,
    GENERIC_REFRESH,
    MS_CLIENT_ID,
    MS_CLIENT_SECRET,
    TENANT,
    TokenEndpoint,
    running_token_endpoint,
)
from tests.support.scrubbing import disguises, encodings, log_lines, never_shown, split_disguises, strings
from tests.support.smtp_peers import USERNAME, RawServer, plan, running_raw
from tests.support.xoauth2_checks import GOOGLE_ACCOUNT, GOOGLE_REFRESHED

pytestmark = pytest.mark.usefixtures("trust_test_ca")
FORMS = ("raw", "base64", "hex", "HEX", "quote", "quote_plus", "xoauth2")


def encoded(secret: str, form: str) -> str:
    xoauth2 = base64.b64encode(f"user={USERNAME}\x01auth=Bearer {secret}\x01\x01".encode()).decode()
    return {**encodings(secret), "xoauth2": xoauth2}[form]


@dataclass
class Script:
    secrets: tuple[str, ...] = ()
    echo: bool = True
    fail_at: str = "RCPT"
    order: tuple[str, ...] = FORMS
    disguised: bool = False  # echo the secrets disguised (issue 22) rather than in `order`'s encodings


@dataclass
class Hostile:
    server: RawServer
    script: Script = field(default_factory=Script)


def echo_reply(script: Script, code: int) -> bytes:
    lines = [
        f"{code}-{name} [{text}]" for secret in script.secrets for name, text in echoes(script, secret, code)
    ]
    return ("\r\n".join([*(lines if script.echo else []), f"{code} done"]) + "\r\n").encode("utf-8")


def echoes(script: Script, secret: str, code: int) -> list[tuple[str, str]]:
    if script.disguised:
        return [*disguises(secret).items(), *split_disguises(secret, code).items()]
    return [(name, encoded(secret, name)) for name in script.order]


def hostile(script: Script) -> Any:
    def behaviour(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 mx.test ESMTP\r\n")
        while line := reader.readline():
            verb = line[:4].upper().decode("ascii", "replace")
            if verb == "EHLO":
                conn.sendall(b"250-mx.test\r\n250 AUTH XOAUTH2\r\n")
            elif verb == "AUTH":
                conn.sendall(echo_reply(script, 235))
            elif verb in ("MAIL", "RCPT"):
                conn.sendall(echo_reply(script, 550 if script.fail_at == verb else 250))
            elif verb == "DATA":
                conn.sendall(b"354 go\r\n")
                while (line := reader.readline()) not in (b".\r\n", b""):
                    pass
                conn.sendall(echo_reply(script, 250))
            elif verb == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"500 unexpected\r\n")

    return behaviour


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[Hostile]:
    script = Script()
    with running_raw(hostile(script)) as server:
        yield Hostile(server, script)


@pytest.fixture(scope="module")
def module_endpoint(ca: trustme.CA) -> Iterator[TokenEndpoint]:
    with running_token_endpoint(ca) as running:
        yield running


def everything_shown(the_plan: Plan, endpoint: TokenEndpoint) -> list[str]:
    with log_lines() as buffer:
        outcome: CheckOutcome = converse(
            the_plan,
            limits=Limits.within(1.0),
            deadline=Deadline(1.0),
            allow_private=True,
            oauth_endpoints=endpoint.overrides,
        )
        report(the_plan, outcome, recorded="yes", total_ms=outcome.ms)
    logged = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    assert any(record.get("message") == "smtp check" for record in logged), logged
    return [
        outcome.message,
        *strings(lastcheck_json(outcome.result("2026-11-23T10:00:00.000Z"))),
        *(outcome.transcript or []),
        buffer.getvalue(),
        *strings(logged),
    ]


def xoauth2_plan(port: int, client_secret: str) -> Plan:
    source = OAuth("microsoft", tenant=TENANT, client_id=MS_CLIENT_ID, client_secret=client_secret)
    return plan(
        port, auth=True, insecure_auth=True, authmech="XOAUTH2", oauth=source, password=None, debug=True
    )


# --- regressions ------------------------------------------------------------------------------------


def test_a_token_endpoint_echoing_the_client_secret_is_scrubbed(module_endpoint, hostile_server):
    oauth.forget()
    secret = "Cs~echoed-secret-0001"
    description = "AADSTS7000215: Invalid client secret " + " ".join(encoded(secret, f) for f in FORMS[:6])
    module_endpoint.refusal = (401, {"error": "invalid_client", "error_description": description})
    try:
        shown = everything_shown(xoauth2_plan(hostile_server.server.port, secret), module_endpoint)
    finally:
        module_endpoint.refusal = None
    assert shown[0].startswith("The token endpoint refused the request (401 invalid_client AADSTS7000215)")
    assert MASK in shown[0]
    for form in FORMS[:6]:
        assert not any(encoded(secret, form) in text for text in shown), form


def test_an_smtp_server_echoing_the_access_token_is_scrubbed(module_endpoint, hostile_server):
    oauth.forget()
    token = "ya29.a0AfB_byC-token-under-test-0001"
    module_endpoint.next_token = token
    hostile_server.script.secrets, hostile_server.script.fail_at, hostile_server.script.echo = (
        (token,),
        "RCPT",
        True,
    )
    try:
        shown = everything_shown(
            xoauth2_plan(hostile_server.server.port, "Ms8Q~client-secret.value_0001"), module_endpoint
        )
    finally:
        module_endpoint.next_token = None
    assert shown[0].startswith("The server refused the recipient")
    assert not any(encoded(token, form) in text for form in FORMS for text in shown)


# --- the property -----------------------------------------------------------------------------------

TOKENS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=MIN_ASSERTED, max_size=80)
SECRETS = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"), min_size=1, max_size=64)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    token=TOKENS,
    client_secret=SECRETS,
    fail_at=st.sampled_from(["TOKEN", "MAIL", "RCPT", "accepted"]),
    order=st.permutations(FORMS),
)
def test_no_form_of_the_access_token_or_client_secret_reaches_anything_a_check_shows(
    *,
    module_endpoint: TokenEndpoint,
    hostile_server: Hostile,
    token: str,
    client_secret: str,
    fail_at: str,
    order: list[str],
) -> None:
    script = hostile_server.script
    # At TOKEN the endpoint refuses: no token exists, and what it can echo is what it was sent.
    known = (client_secret,) if fail_at == "TOKEN" else (token, client_secret)
    script.secrets, script.fail_at, script.order = known, fail_at, tuple(order)
    module_endpoint.next_token, module_endpoint.ms_client_secret = token, client_secret
    the_plan = xoauth2_plan(hostile_server.server.port, client_secret)
    try:
        shown = run_hostile(module_endpoint, script, the_plan, echo=True)
        baseline = run_hostile(module_endpoint, script, the_plan, echo=False)
    finally:
        module_endpoint.next_token, module_endpoint.ms_client_secret, module_endpoint.refusal = (
            None,
            MS_CLIENT_SECRET,
            None,
        )
    # Not vacuous: each run got as far as the script says (unless a raw echo of a line break made the
    # reply something else than SMTP, which ends the check too), the secrets were really echoed.
    broken = fail_at != "TOKEN" and any("\n" in secret or "\r" in secret for secret in known)
    # The endpoint's error code and AADSTS label are quoted only when no secret occurs in them (a short
    # client secret such as "000" in AADSTS7000215): then the message names the status alone.
    quoted = "invalid_client aadsts7000215"
    client_forms = secret_forms(None, None, client_secret)
    unquoted = fail_at == "TOKEN" and any(form.lower() in quoted for form in client_forms)
    prefix = "The token endpoint refused the request (401" if unquoted else EXPECTED[fail_at]
    assert shown[0].startswith(prefix) or broken, shown[0]
    forms = {
        form
        for secret in known
        if len(secret) >= MIN_ASSERTED
        for form in secret_forms(None, None, secret) | {encoded(secret, name) for name in FORMS}
    }
    forms = {form for form in forms if len(form) >= MIN_ASSERTED}
    leaked = {
        form
        for form in forms
        if any(form in text for text in shown) and not any(form in text for text in baseline)
    }
    assert not leaked, (leaked, shown)


EXPECTED = {
    "TOKEN": "The token endpoint refused the request (401 invalid_client AADSTS7000215)",
    "MAIL": "The server refused the sender",
    "RCPT": "The server refused the recipient",
    "accepted": "The server accepted the test message",
}


def run_hostile(endpoint: TokenEndpoint, script: Script, the_plan: Plan, *, echo: bool) -> list[str]:
    """One check; at TOKEN, the endpoint refuses, its description echoing the secrets (when `echo`)."""
    oauth.forget()
    script.echo = echo
    echoed = " ".join(encoded(secret, name) for secret in script.secrets for name in script.order)
    description = "AADSTS7000215: Invalid client secret" + (f" {echoed}" if echo else "")
    endpoint.refusal = (
        (401, {"error": "invalid_client", "error_description": description})
        if script.fail_at == "TOKEN"
        else None
    )
    return everything_shown(the_plan, endpoint)


# --- issue 22: disguised echoes of every kind of secret ----------------------------------------------------


def echoed_disguised(form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """A hostile endpoint's refusal: every value it was sent, disguised every way, one per line of its
    description, and cut in two across two lines."""
    lines = [
        f"{name}: {text}"
        for value in form.values()
        for name, text in [
            *disguises(value).items(),
            ("split", value[: len(value) // 2] + "\n" + value[len(value) // 2 :]),
        ]
    ]
    return 400, {"error": "invalid_grant", "error_description": "\n".join(["Bad grant", *lines])}


def sent_parts(endpoint: TokenEndpoint) -> set[str]:
    """What of each value the endpoint was sent (secrets, the assertion) must never be shown."""
    secret = ("client_secret", "refresh_token", "assertion")
    values = [value for request in endpoint.requests for key, value in request.form.items() if key in secret]
    assert values
    parts = {
        part
        for value in values
        for name, text in disguises(value).items()
        for part in never_shown(value, text, name)
    }
    return {
        part for part in parts | set(values) | {v[: len(v) // 2] for v in values} if len(part) >= MIN_ASSERTED
    }


def generic(endpoint: TokenEndpoint) -> OAuth:
    return OAuth(
        "generic",
        token_url=endpoint.generic_url,
        client_id=GENERIC_CLIENT_ID,
        client_secret=GENERIC_CLIENT_SECRET,
        refresh_token=GENERIC_REFRESH,
    )


def xoauth2_source_plan(port: int, source: OAuth) -> Plan:
    return plan(
        port, auth=True, insecure_auth=True, authmech="XOAUTH2", oauth=source, password=None, debug=True
    )


GRANTS = {
    "microsoft": OAuth("microsoft", tenant=TENANT, client_id=MS_CLIENT_ID, client_secret=MS_CLIENT_SECRET),
    "google, refresh token": GOOGLE_REFRESHED,
    "google, service account (the signed assertion)": GOOGLE_ACCOUNT,
    "generic": None,  # its URL is the endpoint's, below
}


@pytest.mark.parametrize("grant", list(GRANTS))
def test_a_token_endpoint_echoing_what_it_was_sent_disguised_shows_nothing_of_it(
    module_endpoint, hostile_server, grant
):
    """Issue 22: the error description quoted the client secret, the refresh token or the assertion as the
    endpoint disguised them (another case, base64 at another offset, UTF-16, HTML, escapes, split)."""
    oauth.forget()
    source = GRANTS[grant] or generic(module_endpoint)
    the_plan = xoauth2_source_plan(hostile_server.server.port, source)
    module_endpoint.requests.clear()
    module_endpoint.echo = echoed_disguised
    try:
        shown = everything_shown(the_plan, module_endpoint)
    finally:
        module_endpoint.echo = None
    assert shown[0] == (
        "The token endpoint refused the request (400 invalid_grant): the refresh token or the service "
        "account is not valid (expired, revoked, or not allowed for this username)"
    )
    leaked = {part for part in sent_parts(module_endpoint) if any(part in text for text in shown)}
    assert not leaked, (leaked, shown)


def test_a_token_endpoint_echoing_a_secret_as_its_error_code_is_not_quoted(module_endpoint, hostile_server):
    """The `error` member was quoted as it came when it looked like a code: a generic client secret does."""
    oauth.forget()
    the_plan = xoauth2_source_plan(hostile_server.server.port, generic(module_endpoint))
    module_endpoint.echo = lambda form: (400, {"error": form["client_secret"]})
    try:
        shown = everything_shown(the_plan, module_endpoint)
    finally:
        module_endpoint.echo = None
    assert shown[0] == "The token endpoint refused the request (400)"
    assert not any(GENERIC_CLIENT_SECRET in text for text in shown)


def test_an_smtp_server_echoing_the_access_token_disguised_shows_nothing_of_it(
    module_endpoint, hostile_server
):
    oauth.forget()
    token = "ya29.a0AfB_byC-token-under-test-0002"
    module_endpoint.next_token = token
    script = hostile_server.script
    script.secrets, script.fail_at, script.echo, script.disguised = (token,), "RCPT", True, True
    try:
        shown = everything_shown(xoauth2_plan(hostile_server.server.port, MS_CLIENT_SECRET), module_endpoint)
    finally:
        module_endpoint.next_token, script.disguised = None, False
    assert shown[0] == "The server refused the recipient ops@example.org (550): check the app's testemail"
    parts = {
        part
        for name, text in echoes(Script(disguised=True), token, 550)
        for part in never_shown(token, text, name)
    }
    leaked = {
        part for part in parts | {token} if len(part) >= MIN_ASSERTED and any(part in text for text in shown)
    }
    assert not leaked, (leaked, shown)
