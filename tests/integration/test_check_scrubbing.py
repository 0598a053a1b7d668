"""Servers that echo the credentials back, in any encoding: nothing of them reaches an outcome.

What a check returns (the 406 message), stores (`lastcheck`), shows (the debug transcript) and logs
(`report`'s line) holds no form of the password that smtphub.smtp.scrub masks, whatever the server
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
from smtphub.http.responses.checks import lastcheck_json
from smtphub.smtp.scrub import MASK, MIN_ASSERTED, secret_forms
from tests.support.health import create_server, history, server_json
from tests.support.lambdas import call
from tests.support.scrubbing import disguises, encodings, log_lines, never_shown, split_disguises, strings
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
    disguised: bool = False  # echo the password disguised (issue 22) rather than in `order`'s encodings


@dataclass
class Hostile:
    server: RawServer
    script: Script = field(default_factory=Script)


def echoes(script: Script, code: int) -> list[tuple[str, str]]:
    """(name, text) of each echo of the password: its encodings in the script's order, or its disguises
    (those cut in two carry a line break and `code` inside)."""
    if script.disguised:
        return [*disguises(script.password).items(), *split_disguises(script.password, code).items()]
    return [(name, encoded(script.password, name)) for name in script.order]


def hostile_reply(script: Script, code: int, final: str = "done") -> bytes:
    """A multi-line reply: one line per echo of the password."""
    lines = [f"{code}-{name} [{text}] seen" for name, text in echoes(script, code)]
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
                echoed = [f"250-X-ECHO{i} {text}" for i, (_, text) in enumerate(echoes(script, 250))]
                announced = [*(echoed if script.echo else []), "250-AUTH PLAIN", "250 8BITMIME"]
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
    # Masked in place, not dropped; unless the password itself, case and spacing aside, is in what the
    # server says around its echoes ("seen" + "base64" holds "nbas"): then the scrubber cannot tell it from
    # a disguised echo, and drops the text (smtphub.smtp.scrub, step 2). A raw echo of a line feed breaks
    # the reply into non-SMTP pieces.
    if "\n" not in password and squeezed(password) not in squeezed(said_around_echoes(script)):
        assert MASK in shown[0], (shown[0], password, order)
    # What our own words hold whatever the server says (e.g. "550 " of a reply code) is no leak.
    script.echo = False
    baseline = everything_shown(the_plan)
    assert not leaked({encoded(password, name) for name in FORMS}, password, shown, baseline), shown


def squeezed(text: str) -> str:
    """Case folded, without spacing or unprintable characters."""
    return "".join(char for char in text if char.isprintable() and char != " ").casefold()


def said_around_echoes(script: Script) -> str:
    """The text of every line the hostile server sends in a conversation, in order, its echoes masked."""
    echoed = [f"{name} [{MASK}] seen" for name, _ in echoes(script, 250)]
    ehlo = [f"X-ECHO{number} {MASK}" for number in range(len(echoed))] + ["AUTH PLAIN", "8BITMIME"]
    reply = [*echoed, "done"]
    return "\n".join(reply + ehlo + reply * 6)


def leaked(forms: set[str], password: str, shown: list[str], baseline: list[str]) -> set[str]:
    """`forms` and the password's own (those of MIN_ASSERTED characters at least) that occur in what a check
    showed only when the server echoed: what our own words hold whatever the server says ("550 " of a
    reply code) is no leak."""
    forms = {form for form in forms | secret_forms(USERNAME, password) if len(form) >= MIN_ASSERTED}
    return {
        form
        for form in forms
        if any(form in text for text in shown) and not any(form in text for text in baseline)
    }


# --- issue 22: the password echoed disguised ------------------------------------------------------------
# Another case, split across reply lines or by a bare CR, spaced, base64 from another byte offset,
# quoted-printable (with a soft line break too), UTF-16 in hex and base64, HTML references and backslash
# escapes: every reply echoing them lost its text (the code kept), and nothing of them reached anything.

DROPPED = {  # what each stage's failure says once the echoing reply's text is dropped
    "CONNECT": "The server refused the connection (554)",
    "EHLO": "The server refused EHLO (550)",
    "MAIL": "The server refused the sender info@example.net (550)",
    "RCPT": "The server refused the recipient ops@example.org (550): check the app's testemail",
    "DATA": "The server refused DATA (554)",
    "accept": "The server did not accept the message (554)",
    "accepted": "The server accepted the test message for ops@example.org (250)",
}
SENDABLE = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\0\r\n"), min_size=1, max_size=64
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(password=SENDABLE, fail_at=st.sampled_from(sorted(DROPPED)), auth=st.booleans())
def test_no_disguised_echo_of_the_password_reaches_anything_a_check_shows(
    hostile_server: Hostile, password: str, fail_at: str, auth: bool
) -> None:
    script = hostile_server.script
    script.password, script.fail_at, script.auth, script.disguised = password, fail_at, auth, True
    the_plan = plan(
        hostile_server.server.port,
        auth=auth,
        insecure_auth=True,
        username=USERNAME,
        password=password,
        debug=True,
    )
    try:
        script.echo = True
        shown = everything_shown(the_plan)
        script.echo = False
        baseline = everything_shown(the_plan)
    finally:
        script.disguised = False
    if sum(1 for char in password if char.isprintable() and char != " ") < MIN_ASSERTED:
        return  # see "Length rule" in scrub.py
    assert shown[0] == DROPPED[fail_at]  # reached, and the echoing reply's text dropped
    parts = {part for name, text in echoes_of(password) for part in never_shown(password, text, name)}
    assert not leaked(parts, password, shown, baseline), shown


def echoes_of(password: str) -> list[tuple[str, str]]:
    return echoes(Script(password=password, disguised=True), 550)


def test_a_password_cut_across_two_replies_shows_nowhere(raw):
    """The first piece ends the sender's acceptance, the second starts the recipient's refusal: each reply
    alone holds no secret, all the server said taken together does."""
    password = "Pw-s3cret-\u00e9-1234"
    half = len(password) // 2
    server = raw(
        scripted(
            "220 mx.test ESMTP",
            ("EHLO", "250-mx.test\r\n250-X-ECHO first\r\n250 AUTH PLAIN"),
            ("AUTH PLAIN", "235 welcome"),
            ("MAIL", f"250 2.1.0 sender ok {password[:half]}"),
            ("RCPT", f"550 {password[half:]} is no mailbox"),
        )
    )
    outcome = run(
        plan(server.port, auth=True, insecure_auth=True, password=password, debug=True), total=BOUND
    )
    assert outcome.message == (
        "The server refused the recipient ops@example.org (550): check the app's testemail"
    )
    assert outcome.capabilities == []
    assert outcome.transcript is not None
    server_lines = [line for line in outcome.transcript if line.startswith("S: ")]
    assert server_lines
    assert all(line.endswith("...") and len(line) == len("S: 250-...") for line in server_lines)
    lastcheck = lastcheck_json(outcome.result("2026-11-23T10:00:00.000Z"))
    shown = [outcome.message, *strings(lastcheck), *outcome.transcript]
    assert not any(piece in text for piece in (password[:half], password[half:]) for text in shown)


def test_a_disguised_echo_reaches_neither_the_406_nor_lastcheck_history_or_events(health, hostile_server):
    """Through the check's handler, with moto: the 406 body, the stored `lastcheck`, the history entry and
    the status-change event (a failed manual check disables the server) hold nothing of the echoes."""
    password = "Pw-s3cret-\u00e9-1234 /+&"
    script = hostile_server.script
    script.password, script.fail_at, script.auth, script.disguised, script.echo = (
        password,
        "RCPT",
        True,
        True,
        True,
    )
    try:
        idsmtp = create_server(
            hostile_server.server.port,
            auth=True,
            insecureauth=True,
            username=USERNAME,
            password=password,
            debug=True,
        )
        with log_lines() as buffer:
            reply = call("smtps_check", {"idsmtp": idsmtp})
    finally:
        script.disguised = False
    assert (reply.status, reply.json["stage"], reply.json["code"]) == (406, "RCPT", 550)
    assert reply.json["message"] == DROPPED["RCPT"]
    (event,) = health.events()
    logged = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    shown = [*strings([reply.json, server_json(idsmtp), history(idsmtp), event, logged]), buffer.getvalue()]
    assert event["type"] == "SMTP server disabled"
    parts = {part for name, text in echoes_of(password) for part in never_shown(password, text, name)}
    assert not leaked(parts, password, shown, []), shown
