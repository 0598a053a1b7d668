"""The SMTP conversation of POST /private/smtps/check against real servers on 127.0.0.1.

The peers (aiosmtpd for well-behaved servers, small socket servers for the badly behaved ones) and the
helpers that run a check against them are in tests/support/smtp_peers.py. Bounds are short, so every
test takes well under 2 s. Nothing here connects anywhere but 127.0.0.1 (resolution of other names is
mocked). Checks that authenticate over a plain connection say `insecure_auth=True`: without it the
check refuses to send credentials in clear (tested below, under "Secrets stay secret").
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import socket
import time

import pytest
import trustme

from smtphub.smtp.client import data_bytes
from tests.support.smtp_peers import (
    BOUND,
    MESSAGE,
    PASSWORD,
    USERNAME,
    Sink,
    assert_failed,
    credential_forms,
    endless_banner,
    free_port,
    huge_banner,
    plan,
    run,
    scripted,
    server_context,
    silent,
    slow_drip,
    timed,
)

pytestmark = pytest.mark.usefixtures("trust_test_ca")


# --- Success -------------------------------------------------------------------------------------


def test_plain_check_delivers_a_proper_test_message(smtpd):
    server = smtpd()
    outcome = run(plan(server.port))
    assert outcome.ok, outcome
    assert (outcome.stage, outcome.code) == (None, 250)
    assert "accepted the test message for ops@example.org" in outcome.message
    assert "queued as 4F1A2B" in outcome.message
    assert set(outcome.timings) >= {"DNS", "CONNECT", "EHLO", "MAIL", "RCPT", "DATA"}

    (received,) = server.sink.received
    assert received.mail_from == "info@example.net"
    assert received.rcpt_tos == ["ops@example.org"]
    assert not received.tls
    message = received.message
    assert message["From"].addresses[0].display_name == "\u00c9quipe Info"
    assert message["From"].addresses[0].addr_spec == "info@example.net"
    assert message["To"] == "ops@example.org"
    assert str(server.port) in message["Subject"]
    assert "Caf\u00e9 shop" in message["Subject"]
    assert message["Date"].datetime is not None
    assert message["Message-ID"].startswith("<")
    assert message["Message-ID"].endswith("@example.net>")
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert "127.0.0.1 port" in body
    assert "6741f0b7d1e2f3a4b5c6d7e8" in body
    assert "6741f0a2c3d4e5f6a7b8c9d0" in body
    assert "Caf\u00e9 shop" in body
    assert "Sent at:" in body
    # Everything on the wire was 7-bit: the server did not need 8BITMIME or SMTPUTF8.
    assert received.content.isascii()


def test_auth_plain_success(smtpd):
    server = smtpd()
    outcome = run(plan(server.port, auth=True, insecure_auth=True))
    assert outcome.ok, outcome
    (received,) = server.sink.received
    assert received.authenticated
    assert "Authentication:  as mailer@example.net" in received.message.get_content()


def test_auth_login_when_plain_is_not_offered(smtpd):
    server = smtpd(auth_exclude_mechanism=["PLAIN"])
    assert run(plan(server.port, auth=True, insecure_auth=True)).ok
    assert server.sink.received[0].authenticated


def test_auth_cram_md5(raw):
    challenge = b"<1896.697170952@mx.test>"
    expected = base64.b64encode(
        USERNAME.encode() + b" " + hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest().encode()
    )
    server = raw(
        scripted(
            "220 mx.test ESMTP",
            ("EHLO", "250-mx.test\r\n250 AUTH CRAM-MD5"),
            ("AUTH CRAM-MD5", "334 " + base64.b64encode(challenge).decode()),
            ("", lambda line: "235 ok" if line.strip() == expected else "535 bad digest"),
            ("MAIL FROM:<info@example.net>", "250 ok"),
            ("RCPT TO:<ops@example.org>", "250 ok"),
            ("DATA", "354 go"),
            (MESSAGE, "250 queued"),
            ("QUIT", "221 bye"),
        )
    )
    outcome = run(plan(server.port, auth=True, insecure_auth=True), total=BOUND)
    assert outcome.ok, outcome
    assert server.lines[2].strip() == expected


def test_helo_fallback_for_a_server_without_esmtp(raw):
    server = raw(
        scripted(
            "220 old.test",
            ("EHLO", "502 5.5.1 command not implemented"),
            ("HELO example.net", "250 old.test"),
            ("MAIL", "250 ok"),
            ("RCPT", "250 ok"),
            ("DATA", "354 go"),
            (MESSAGE, "250 queued"),
            ("QUIT", "221 bye"),
        )
    )
    outcome = run(plan(server.port), total=BOUND)
    assert outcome.ok, outcome
    assert server.lines[1].startswith(b"HELO example.net")


def test_starttls_with_a_trusted_certificate(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "localhost", "127.0.0.1"))
    outcome = run(plan(server.port, host="localhost", starttls=True, auth=True))
    assert outcome.ok, outcome
    assert "TLS" in outcome.timings
    (received,) = server.sink.received
    assert received.tls
    assert received.authenticated
    assert "Encryption:      STARTTLS" in received.message.get_content()


def test_implicit_tls_with_a_trusted_certificate(smtpd, ca):
    server = smtpd(ssl_context=server_context(ca, "127.0.0.1"))
    outcome = run(plan(server.port, ssltls=True, auth=True))
    assert outcome.ok, outcome
    (received,) = server.sink.received
    assert received.tls
    assert "Encryption:      implicit TLS" in received.message.get_content()


def test_tls_uses_the_host_name_while_connecting_to_the_address_resolved_once(smtpd, ca, monkeypatch):
    server = smtpd(tls_context=server_context(ca, "mail.check.test"))
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    outcome = run(plan(server.port, host="mail.check.test", starttls=True))
    assert outcome.ok, outcome
    assert lookups == ["mail.check.test"]  # one lookup; the connection went to its answer
    assert server.sink.received[0].tls


def test_a_server_that_offers_starttls_is_used_in_clear_when_starttls_is_off(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "127.0.0.1"))
    assert run(plan(server.port)).ok
    assert not server.sink.received[0].tls


def test_non_ascii_addresses_use_smtputf8(smtpd):
    server = smtpd()
    outcome = run(plan(server.port, recipient="j\u00f6rg@example.org"))
    assert outcome.ok, outcome
    assert server.sink.received[0].rcpt_tos == ["j\u00f6rg@example.org"]


# --- Failures, by stage ----------------------------------------------------------------------------


def test_wrong_password_fails_at_auth_with_535(smtpd):
    server = smtpd()
    outcome = run(plan(server.port, auth=True, insecure_auth=True, password="wrong-" + PASSWORD))
    assert_failed(outcome, "AUTH", 535)
    assert "username or password" in outcome.message
    assert "wrong-" not in outcome.message
    assert server.sink.received == []


def test_auth_offered_only_after_starttls_is_reached_through_the_offered_starttls(smtpd, ca):
    """It failed at AUTH ("turn starttls on") before STARTTLS was used whenever offered (issue 22)."""
    server = smtpd(tls_context=server_context(ca, "127.0.0.1"), auth_require_tls=True)
    outcome = run(plan(server.port, auth=True))
    assert outcome.ok, outcome
    assert server.sink.received[0].authenticated


def test_an_untrusted_certificate_fails_at_tls(smtpd):
    stranger = trustme.CA()  # not in SSL_CERT_FILE
    server = smtpd(tls_context=server_context(stranger, "127.0.0.1"))
    outcome = run(plan(server.port, starttls=True, auth=True))
    assert_failed(outcome, "TLS")
    assert "certificate" in outcome.message
    assert server.sink.received == []


def test_an_untrusted_certificate_fails_at_tls_with_implicit_tls(smtpd):
    server = smtpd(ssl_context=server_context(trustme.CA(), "127.0.0.1"))
    outcome = run(plan(server.port, ssltls=True))
    assert_failed(outcome, "TLS")
    assert "certificate" in outcome.message


def test_a_certificate_for_another_host_fails_at_tls(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "other.example.net"))
    outcome = run(plan(server.port, starttls=True))
    assert_failed(outcome, "TLS")
    assert "not valid for 127.0.0.1" in outcome.message


def test_starttls_on_but_not_offered_fails_at_tls(smtpd):
    server = smtpd()
    outcome = run(plan(server.port, starttls=True))
    assert_failed(outcome, "TLS")
    assert "does not offer STARTTLS" in outcome.message
    assert server.sink.received == []


def test_a_server_that_requires_starttls_while_it_is_off_fails_at_mail(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "127.0.0.1"), require_starttls=True)
    outcome = run(plan(server.port))
    assert_failed(outcome, "MAIL", 530)
    assert "turn starttls on" in outcome.message


def test_implicit_tls_against_a_plain_server_fails_at_tls(smtpd):
    server = smtpd()
    outcome = run(plan(server.port, ssltls=True))
    assert_failed(outcome, "TLS")
    assert "starttls instead of sslTls" in outcome.message


def test_plain_against_an_implicit_tls_server_hints_at_ssltls(smtpd, ca):
    server = smtpd(ssl_context=server_context(ca, "127.0.0.1"))
    outcome, took = timed(plan(server.port))
    assert_failed(outcome, "CONNECT")
    assert "no greeting" in outcome.message
    assert "sslTls" in outcome.message
    assert took < BOUND + 0.5


def test_nothing_listening_fails_at_connect():
    outcome = run(plan(free_port()))
    assert_failed(outcome, "CONNECT")
    assert "connection refused" in outcome.message


def test_a_rejected_recipient_fails_at_rcpt_with_550(smtpd):
    server = smtpd()
    outcome = run(plan(server.port, recipient="nobody@example.net"))
    assert_failed(outcome, "RCPT", 550)
    assert "nobody@example.net" in outcome.message
    assert "User unknown" in outcome.message
    assert "testemail" in outcome.message


def test_a_refused_message_fails_at_data(smtpd):
    server = smtpd(Sink(data_reply="554 5.7.1 Message rejected as spam"))
    outcome = run(plan(server.port))
    assert_failed(outcome, "DATA", 554)
    assert "rejected as spam" in outcome.message


def test_a_refusing_greeting_fails_at_connect(raw):
    server = raw(scripted("554 5.7.1 No service for you"))
    outcome = run(plan(server.port), total=BOUND)
    assert_failed(outcome, "CONNECT", 554)
    assert "No service for you" in outcome.message


def test_a_server_that_is_not_smtp_fails_at_connect(raw):
    server = raw(scripted("HTTP/1.1 400 Bad Request"))
    assert_failed(run(plan(server.port), total=BOUND), "CONNECT")


# --- Bounded, whatever the server does -----------------------------------------------------------


def test_a_server_that_never_greets_fails_within_the_bound(raw):
    server = raw(silent)
    outcome, took = timed(plan(server.port))
    assert_failed(outcome, "CONNECT")
    assert "no greeting" in outcome.message
    assert BOUND - 0.1 < took < BOUND + 0.5
    assert server.accepted == 1


def test_a_slow_drip_greeting_fails_within_the_bound(raw):
    server = raw(slow_drip)
    outcome, took = timed(plan(server.port))
    assert_failed(outcome, "CONNECT")
    assert "did not finish its greeting" in outcome.message
    assert took < BOUND + 0.5


def test_a_huge_banner_fails_fast(raw):
    outcome, took = timed(plan(raw(huge_banner).port))
    assert_failed(outcome, "CONNECT")
    assert "longer than 2048 bytes" in outcome.message
    assert took < BOUND / 2


def test_an_endless_multiline_banner_fails_fast(raw):
    outcome, took = timed(plan(raw(endless_banner).port))
    assert_failed(outcome, "CONNECT")
    assert "more than 100 lines" in outcome.message
    assert took < BOUND / 2


def test_a_server_that_goes_silent_after_the_greeting_fails_at_ehlo(raw):
    server = raw(scripted("220 mx.test ESMTP", ("EHLO", "")))
    outcome, took = timed(plan(server.port))
    assert_failed(outcome, "EHLO")
    assert took < BOUND + 0.5


def test_a_server_that_stalls_after_data_fails_at_data_within_the_bound(raw):
    server = raw(
        scripted(
            "220 mx.test ESMTP",
            ("EHLO", "250 mx.test"),
            ("MAIL", "250 ok"),
            ("RCPT", "250 ok"),
            ("DATA", "354 go"),
        )
    )
    outcome, took = timed(plan(server.port))
    assert_failed(outcome, "DATA")
    assert took < BOUND + 0.5


def test_the_deadline_covers_the_whole_check_not_each_step(raw):
    # Each reply comes just in time for a per-reply limit, but together they exceed the deadline.
    def slow(line: bytes) -> str:
        time.sleep(0.3)
        return "250 ok"

    server = raw(
        scripted(
            "220 mx.test ESMTP",
            ("EHLO", slow),
            ("MAIL", slow),
            ("RCPT", slow),
            ("DATA", slow),
        )
    )
    outcome, took = timed(plan(server.port), total=0.8)
    assert not outcome.ok
    assert outcome.stage in ("RCPT", "DATA")
    assert took < 0.8 + 0.4


# --- Secrets stay secret -------------------------------------------------------------------------


def test_server_text_that_echoes_the_password_is_scrubbed(raw):
    plain_token = base64.b64encode(b"\0" + USERNAME.encode() + b"\0" + PASSWORD.encode()).decode()
    server = raw(
        scripted(
            "220 mx.test ESMTP",
            ("EHLO", "250-mx.test\r\n250 AUTH PLAIN"),
            ("AUTH PLAIN", "235 welcome"),
            ("MAIL", "250 ok"),
            ("RCPT", f"550 no mailbox for {PASSWORD} / {plain_token}"),
        )
    )
    outcome = run(plan(server.port, auth=True, insecure_auth=True, debug=True), total=BOUND)
    assert_failed(outcome, "RCPT", 550)
    assert plain_token not in outcome.message
    assert "***" in outcome.message
    assert outcome.transcript is not None
    transcript = "\n".join(outcome.transcript)
    assert "AUTH PLAIN ***" in transcript
    assert PASSWORD not in transcript
    assert plain_token not in transcript


def test_auth_replies_are_never_quoted(raw):
    server = raw(
        scripted(
            "220 mx.test ESMTP",
            ("EHLO", "250-mx.test\r\n250 AUTH LOGIN"),
            ("AUTH LOGIN", "334 VXNlcm5hbWU6"),
            ("", "334 UGFzc3dvcmQ6"),
            # An echo no scrubbing could recognise: the password reversed.
            ("", lambda line: f"535 you sent {base64.b64decode(line.strip()).decode()[::-1]}"),
        )
    )
    outcome = run(plan(server.port, auth=True, insecure_auth=True, debug=True), total=BOUND)
    assert_failed(outcome, "AUTH", 535)
    assert outcome.message == "The server rejected the username or password (535)"
    assert outcome.transcript is not None
    assert "S: 535 ..." in outcome.transcript
    assert all(PASSWORD[::-1] not in line for line in outcome.transcript)


@pytest.mark.parametrize("excluded", [[], ["PLAIN"]], ids=["plain-offered", "login-only"])
def test_credentials_are_never_sent_over_a_clear_connection(smtpd, excluded):
    server = smtpd(auth_exclude_mechanism=excluded)  # offers AUTH in clear (auth_require_tls=False)
    outcome = run(plan(server.port, auth=True))
    assert_failed(outcome, "AUTH")
    assert outcome.message == (
        "Refusing to send the password over an unencrypted connection: the server does not offer "
        "STARTTLS. Turn sslTls on if this port expects TLS from the start (usually 465), or set "
        "insecureauth=true if you accept the risk"
    )
    commands = server.sink.commands
    assert commands[0].startswith("EHLO ")
    assert not any(line.upper().startswith("AUTH") for line in commands), commands
    wire = bytes(server.sink.wire)
    assert not any(form in wire for form in credential_forms()), wire
    assert server.sink.received == []


def test_insecure_auth_lets_credentials_go_over_a_clear_connection(smtpd):
    server = smtpd()
    outcome = run(plan(server.port, auth=True, insecure_auth=True))
    assert outcome.ok, outcome
    assert server.sink.received[0].authenticated
    assert any(line.startswith("AUTH PLAIN ") for line in server.sink.commands)


def test_with_starttls_credentials_go_only_after_the_handshake(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "127.0.0.1"))
    outcome = run(plan(server.port, starttls=True, auth=True))  # insecure_auth stays False
    assert outcome.ok, outcome
    commands = [line.split(" ")[0].upper() for line in server.sink.commands]
    assert commands[:4] == ["EHLO", "STARTTLS", "EHLO", "AUTH"], commands
    assert server.sink.received[0].authenticated


def test_plan_repr_hides_the_password():
    assert PASSWORD not in repr(plan(25, auth=True))


def test_auth_without_a_stored_password_fails_at_auth_without_connecting(raw):
    server = raw(silent)
    outcome = run(plan(server.port, auth=True, password=None), total=BOUND)
    assert_failed(outcome, "AUTH")
    assert server.accepted == 0


# --- The SSRF guard in the check -------------------------------------------------------------------


def test_loopback_is_refused_at_dns_when_private_addresses_are_not_allowed(raw):
    server = raw(silent)
    outcome = run(plan(server.port), allow_private=False)
    assert_failed(outcome, "DNS")
    assert "not publicly routable (loopback)" in outcome.message
    assert server.accepted == 0


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "10.1.2.3", "100.64.0.7", "::ffff:127.0.0.1", "fd00:ec2::254"]
)
def test_a_name_resolving_to_an_internal_address_is_refused_at_dns(monkeypatch, address):
    def getaddrinfo(host, port, *args, **kwargs):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    def no_connect(*args, **kwargs):
        raise AssertionError("the check must not connect to a refused address")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    outcome = run(plan(587, host="smtp.attacker.example"), allow_private=False)
    assert_failed(outcome, "DNS")
    assert address not in outcome.message


def test_an_unknown_host_fails_at_dns(monkeypatch):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    outcome = run(plan(587, host="no-such-host.example.net"))
    assert_failed(outcome, "DNS")
    assert "could not be resolved" in outcome.message


# --- The message on the wire ---------------------------------------------------------------------


def test_data_is_dot_stuffed_and_terminated():
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = "x"
    message.set_content(".hidden line\n..two dots\nlast")
    data = data_bytes(message)
    assert b"\r\n..hidden line\r\n...two dots\r\nlast\r\n.\r\n" in data
    assert data.endswith(b"\r\nlast\r\n.\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
