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

from smtphub.check import CheckOutcome, Deadline, Limits, OAuth, Plan, converse, oauth, report
from smtphub.check.scrub import MASK, MIN_ASSERTED, secret_forms
from smtphub.http.responses.checks import lastcheck_json
from tests.support.oauth_peers import (
    MS_CLIENT_ID,
    MS_CLIENT_SECRET,
    TENANT,
    TokenEndpoint,
    running_token_endpoint,
)
from tests.support.scrubbing import encodings, log_lines, strings
from tests.support.smtp_peers import USERNAME, RawServer, plan, running_raw

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


@dataclass
class Hostile:
    server: RawServer
    script: Script = field(default_factory=Script)


def echo_reply(script: Script, code: int) -> bytes:
    lines = [f"{code}-{name} [{encoded(secret, name)}]" for secret in script.secrets for name in script.order]
    return ("\r\n".join([*(lines if script.echo else []), f"{code} done"]) + "\r\n").encode("utf-8")


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
    assert shown[0].startswith(EXPECTED[fail_at]) or broken, shown[0]
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
