"""The check's two modes on one core (issue 13): `probe` stops after RCPT (RSET, QUIT: no message), and the
richer result: `mode`, `stages` (each stage reached, its ms and reply code), `tls` (version, cipher,
certificate subject, issuer, notAfter, daysLeft) and `capabilities` (the EHLO keywords), all scrubbed."""

from __future__ import annotations

import datetime as dt
import json

from aiosmtpd.smtp import AuthResult

from smtphub.http.responses.checks import lastcheck_json
from tests.support.smtp_peers import (
    PASSWORD,
    Sink,
    assert_failed,
    plan,
    run,
    running_raw,
    running_smtpd,
    scripted,
    server_context,
)


def test_a_probe_goes_as_far_as_rcpt_then_rset_and_quit_and_sends_no_message():
    with running_smtpd() as server:
        outcome = run(plan(server.port, mode="probe", auth=True, insecure_auth=True))
    assert outcome.ok, outcome
    assert server.sink.received == []  # no message
    commands = [line.split(" ")[0].split(":")[0].upper() for line in server.sink.commands]
    assert "DATA" not in commands
    assert commands[-2:] == ["RSET", "QUIT"]
    assert (outcome.stage, outcome.code) == (None, 250)
    assert "no message was sent" in outcome.message
    assert outcome.mode == "probe"


def test_send_stays_the_default_and_delivers():
    with running_smtpd() as server:
        outcome = run(plan(server.port))
    assert outcome.ok, outcome
    assert outcome.mode == "send"
    assert len(server.sink.received) == 1


def test_a_probe_fails_at_the_stage_it_reaches_as_send_does():
    with running_smtpd() as server:
        outcome = run(plan(server.port, mode="probe", recipient="nobody@example.net"))
    assert_failed(outcome, "RCPT", 550)


def test_each_stage_reached_with_its_ms_and_reply_code():
    with running_smtpd() as server:
        outcome = run(plan(server.port, auth=True, insecure_auth=True))
    last = outcome.result("2026-11-23T10:00:00.000Z")
    stages = [(entry.stage, entry.code) for entry in last.stages]
    assert stages == [
        ("DNS", None),
        ("CONNECT", 220),
        ("EHLO", 250),
        ("AUTH", 235),
        ("MAIL", 250),
        ("RCPT", 250),
        ("DATA", 250),
    ]
    assert all(isinstance(entry.ms, int) and entry.ms >= 0 for entry in last.stages)
    assert last.mode == "send"
    assert last.tls is None  # no TLS on this server


def test_a_failed_check_lists_the_stages_reached_up_to_the_failing_one():
    with running_smtpd() as server:
        outcome = run(plan(server.port, mode="probe", recipient="nobody@example.net"))
    last = outcome.result("2026-11-23T10:00:00.000Z")
    assert [entry.stage for entry in last.stages] == ["DNS", "CONNECT", "EHLO", "MAIL", "RCPT"]
    assert last.stages[-1].code == 550
    assert (last.stage, last.code, last.ok) == ("RCPT", 550, False)


def test_capabilities_are_the_ehlo_keywords_with_the_auth_mechanisms():
    with running_smtpd() as server:
        outcome = run(plan(server.port, mode="probe"))
    assert any(entry.startswith("AUTH ") and "PLAIN" in entry for entry in outcome.capabilities)
    assert "8BITMIME" in outcome.capabilities
    assert list(outcome.result("x").capabilities) == outcome.capabilities


def test_the_tls_session_and_the_certificate_are_described(ca, trust_test_ca):
    not_after = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10, hours=1)
    context = server_context_until(ca, not_after)
    with running_smtpd(tls_context=context, require_starttls=True) as server:
        outcome = run(plan(server.port, mode="probe", starttls=True, host="localhost"))
    assert outcome.ok, outcome
    tls = outcome.tls
    assert tls is not None
    assert tls.version in ("TLSv1.2", "TLSv1.3")
    assert tls.cipher
    assert "CN=localhost" in str(tls.subject)
    assert "O=" in str(tls.issuer)
    assert tls.not_after == not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert tls.days_left == 10
    stages = [entry.stage for entry in outcome.result("x").stages]
    assert stages == ["DNS", "CONNECT", "TLS", "EHLO", "MAIL", "RCPT"]


def server_context_until(ca, not_after):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", common_name="localhost", not_after=not_after).configure_cert(context)
    return context


def test_implicit_tls_is_described_too(ca, trust_test_ca):
    with running_smtpd(ssl_context=server_context(ca, "localhost")) as server:
        outcome = run(plan(server.port, mode="probe", ssltls=True, host="localhost"))
    assert outcome.ok, outcome
    assert outcome.tls is not None
    assert (outcome.tls.days_left or 0) > 14
    stages = [entry.stage for entry in outcome.result("x").stages]
    assert stages == ["DNS", "CONNECT", "TLS", "EHLO", "MAIL", "RCPT"]


def test_what_the_server_says_in_ehlo_is_scrubbed():
    echo = f"250-mx.test\r\n250-X-ECHO {PASSWORD}\r\n250 AUTH PLAIN"
    peer = scripted("220 mx.test", ("EHLO", echo), ("MAIL", "250 ok"), ("RCPT", "250 ok"), ("RSET", "250 ok"))
    with running_raw(peer) as server:  # a password the check holds (its plan's), echoed in EHLO
        outcome = run(plan(server.port, mode="probe", password=PASSWORD))
    assert outcome.ok, outcome
    shown = json.dumps(lastcheck_json(outcome.result("x")), ensure_ascii=False)
    assert PASSWORD not in shown
    assert "X-ECHO ***" in outcome.capabilities


def test_a_probe_with_auth_authenticates_and_stops_before_data():
    seen: list[str] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append(mechanism)
        return AuthResult(success=True, handled=False)

    with running_smtpd(Sink(), authenticator=authenticator) as server:
        outcome = run(plan(server.port, mode="probe", auth=True, insecure_auth=True))
    assert outcome.ok, outcome
    assert seen == ["PLAIN"]
    assert server.sink.received == []
