"""Servers that echo the credentials back, in any encoding: nothing of them reaches an outcome.

What a check returns (the 406 message), stores (`lastcheck`), shows (the debug transcript) and logs
(`report`'s line) holds no form of the password that smtphub.check.scrub masks, whatever the server
says where. The regressions first (both leaked before the scrubber matched encodings and kept control
characters while matching), then a property over passwords from all of Unicode.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtphub.check import CheckOutcome, Plan, report
from smtphub.check.scrub import MASK, MIN_ASSERTED, secret_forms
from smtphub.http.responses.checks import lastcheck_json
from tests.support.scrubbing import encodings, log_lines, strings
from tests.support.smtp_peers import BOUND, USERNAME, RawServer, plan, run, running_raw, scripted

# --- Regressions -----------------------------------------------------------------------------------


def echo_at_rcpt(raw: Any, password: str, text: str) -> CheckOutcome:
    """A check whose server takes AUTH, then refuses the recipient with `text` (a 406 message)."""
    server = raw(
        scripted(
            "220 mx.test ESMTP",
            ("EHLO", "250-mx.test\r\n250 AUTH PLAIN"),
            ("AUTH PLAIN", "235 welcome"),
            ("MAIL", "250 ok"),
            ("RCPT", text),
        )
    )
    the_plan = plan(server.port, auth=True, insecure_auth=True, password=password, debug=True)
    return run(the_plan, total=BOUND)


def test_a_hex_encoded_echo_of_the_password_is_scrubbed_from_the_406_message(raw):
    password = "Pw-s3cret-\u00e9-1234"
    for hexed in (password.encode().hex(), password.encode().hex().upper()):
        outcome = echo_at_rcpt(raw, password, f"550 5.1.1 no mailbox for {hexed}")
        assert (outcome.ok, outcome.stage, outcome.code) == (False, "RCPT", 550)
        assert outcome.message == (
            "The server refused the recipient ops@example.org (550 5.1.1 no mailbox for ***): "
            "check the app's testemail"
        )
        assert outcome.transcript is not None
        assert all(hexed not in line for line in outcome.transcript)


def test_a_password_holding_a_tab_is_scrubbed_before_control_characters_are_rewritten(raw):
    password = "Pw\ts3cret-1234"
    outcome = echo_at_rcpt(raw, password, f"550 5.1.1 no mailbox for {password}, sorry")
    assert outcome.message == (
        "The server refused the recipient ops@example.org (550 5.1.1 no mailbox for ***, sorry): "
        "check the app's testemail"
    )
    assert outcome.transcript is not None
    for shown in (outcome.message, *outcome.transcript):
        assert password not in shown
        assert "Pw s3cret-1234" not in shown  # the TAB made a space: the old leak
        assert "s3cret" not in shown


# --- The property: passwords from all of Unicode, echoed everywhere ----------------------------------

FORMS = ("raw", "base64", "hex", "HEX", "quote", "quote_plus", "plain")


def encoded(password: str, form: str) -> str:
    plain = base64.b64encode(b"\0" + USERNAME.encode() + b"\0" + password.encode("utf-8")).decode()
    return {**encodings(password), "plain": plain}[form]


@dataclass
class Script:
    """What the hostile server says on its next connection: set before each check."""

    password: str = "x"
    echo: bool = True
    fail_at: str = "accepted"  # the stage whose reply is a refusal, or "accepted"
    order: tuple[str, ...] = FORMS
    auth: bool = False


@dataclass
class Hostile:
    server: RawServer
    script: Script = field(default_factory=Script)


def hostile_reply(script: Script, code: int, final: str = "done") -> bytes:
    """A multi-line reply: one line per encoding of the password, in the script's order."""
    lines = [f"{code}-{name} [{encoded(script.password, name)}] seen" for name in script.order]
    if not script.echo:
        lines = [f"{code}-nothing to see"]
    return ("\r\n".join([*lines, f"{code} {final}"]) + "\r\n").encode("utf-8")


def hostile(script: Script) -> Any:
    def behaviour(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
        reader = conn.makefile("rb")
        conn.sendall(hostile_reply(script, 554 if script.fail_at == "CONNECT" else 220))
        while line := reader.readline():
            verb = line[:4].upper().decode("ascii", "replace")
            refused = script.fail_at == verb
            if verb == "EHLO" and refused:
                conn.sendall(hostile_reply(script, 550))
            elif verb == "EHLO":
                echoes = [f"250-X-ECHO{i} {encoded(script.password, n)}" for i, n in enumerate(script.order)]
                announced = [*(echoes if script.echo else []), "250-AUTH PLAIN", "250 8BITMIME"]
                conn.sendall(("\r\n".join(announced) + "\r\n").encode("utf-8"))
            elif verb == "AUTH":
                conn.sendall(hostile_reply(script, 235))
            elif verb in ("MAIL", "RCPT"):
                conn.sendall(hostile_reply(script, 550 if refused else 250))
            elif verb == "DATA":
                conn.sendall(hostile_reply(script, 554 if refused else 354))
                while (line := reader.readline()) not in (b".\r\n", b""):
                    pass
                conn.sendall(hostile_reply(script, 554 if script.fail_at == "accept" else 250))
            elif verb == "QUIT":
                conn.sendall(hostile_reply(script, 221))
                return
            else:
                conn.sendall(b"500 unexpected\r\n")

    return behaviour


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[Hostile]:
    script = Script()
    with running_raw(hostile(script)) as server:
        yield Hostile(server, script)


def everything_shown(the_plan: Plan) -> list[str]:
    """Each text a check makes of what the server said: message, lastcheck, transcript, log line."""
    at = "2026-11-23T10:00:00.000Z"
    with log_lines() as buffer:
        outcome = run(the_plan, total=0.5)
        report(the_plan, outcome, recorded="yes", total_ms=outcome.ms)
    logged = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    assert any(record.get("message") == "smtp check" for record in logged), logged
    return [
        outcome.message,
        *strings(lastcheck_json(outcome.result(at))),
        *(outcome.transcript or []),
        buffer.getvalue(),
        *strings(logged),
    ]


PASSWORDS = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\0"), min_size=1, max_size=64
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    password=PASSWORDS,
    fail_at=st.sampled_from(["CONNECT", "EHLO", "MAIL", "RCPT", "DATA", "accept", "accepted"]),
    order=st.permutations(FORMS),
    auth=st.booleans(),
)
def test_no_form_of_the_password_reaches_anything_a_check_shows(
    hostile_server: Hostile, password: str, fail_at: str, order: list[str], auth: bool
) -> None:
    script = hostile_server.script
    script.password, script.fail_at, script.order, script.auth = password, fail_at, tuple(order), auth
    port = hostile_server.server.port
    the_plan = plan(port, auth=auth, insecure_auth=True, username=USERNAME, password=password, debug=True)
    script.echo = True
    shown = everything_shown(the_plan)
    if len(password) < MIN_ASSERTED:
        return  # the run ended in an outcome, not an exception; see "Length rule" in scrub.py
    if "\n" not in password:  # (a raw echo of a line feed breaks the reply into non-SMTP pieces)
        assert MASK in shown[0], shown[0]  # masked in place, not dropped by the last-resort rule
    # What our own words hold whatever the server says (e.g. "550 " of a reply code) is no leak.
    script.echo = False
    baseline = everything_shown(the_plan)
    forms = {form for form in secret_forms(USERNAME, password) if len(form) >= MIN_ASSERTED}
    forms |= {encoded(password, name) for name in FORMS}
    leaked = {
        form
        for form in forms
        if any(form in text for text in shown) and not any(form in text for text in baseline)
    }
    assert not leaked, (leaked, shown)
