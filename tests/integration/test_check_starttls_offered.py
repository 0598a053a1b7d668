"""STARTTLS when offered (issue 22, item 5): a server saved with `auth` and neither `starttls` nor `sslTls`
(what QueueMail's client saves: it cannot send `insecureauth`) gets STARTTLS whenever it offers it, the
certificate verified as for `starttls=true`; a STARTTLS that is offered and then fails never falls back to
clear text; only a server offering no STARTTLS needs `insecureauth`, and the refusal says so. The rule is
in the shared conversation code (smtphub.smtp.commands.authenticate), so manual checks, tries, `verify`
and scheduled probes all follow it.

Against aiosmtpd peers (tests/support/smtp_peers.py) and scripted raw servers, then through the handlers
with QueueMail's client's own form body (ISO-8859-1, tests/support/queuemail_client.py).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
import trustme

from smtphub.check.plan import PROBE
from smtphub.http.responses.checks import lastcheck_json
from smtphub.smtp.tls import UNVERIFIED_NOTE
from smtphub.smtps.items import result_from_map, result_to_map
from tests.support.health import create_server, server_json
from tests.support.lambdas import call
from tests.support.queuemail_client import FORM_CONTENT_TYPE, create_smtp_form, form_body
from tests.support.smtp_peers import (
    BOUND,
    PASSWORD,
    USERNAME,
    assert_failed,
    credential_forms,
    plan,
    run,
    running_smtpd,
    scripted,
    server_context,
)
from tests.support.xoauth2_checks import MICROSOFT, check, xoauth2
from tests.support.xoauth2_smtpd import running_oauth_smtpd

pytestmark = pytest.mark.usefixtures("trust_test_ca")

NOT_OFFERED = (
    "Refusing to send the password over an unencrypted connection: the server does not offer STARTTLS. "
    "Turn sslTls on if this port expects TLS from the start (usually 465), or set insecureauth=true if "
    "you accept the risk"
)


def verbs(commands: list[str]) -> list[str]:
    return [line.split(" ")[0].upper() for line in commands]


# --- offered: used, verified --------------------------------------------------------------------------


@pytest.mark.parametrize("insecure_auth", [False, True], ids=["secure", "insecureauth-on"])
@pytest.mark.parametrize("mode", ["send", PROBE])
def test_auth_without_tls_settings_uses_starttls_when_the_server_offers_it(smtpd, ca, insecure_auth, mode):
    server = smtpd(tls_context=server_context(ca, "127.0.0.1"))
    outcome = run(plan(server.port, auth=True, insecure_auth=insecure_auth, mode=mode))
    assert outcome.ok, outcome
    assert verbs(server.sink.commands)[:4] == ["EHLO", "STARTTLS", "EHLO", "AUTH"]
    assert outcome.tls is not None
    assert outcome.tls.mode == "starttls-offered"
    assert outcome.tls.subject is not None  # verified, so parsed
    assert set(outcome.timings) >= {"TLS", "EHLO", "AUTH"}
    assert b"STARTTLS" in bytes(server.sink.wire)
    if mode == "send":
        (received,) = server.sink.received
        assert (received.tls, received.authenticated) == (True, True)
        assert "Encryption:      STARTTLS (offered by the server)" in received.message.get_content()


def test_the_token_of_xoauth2_also_goes_only_after_an_offered_starttls(endpoint, ca, fresh_token_cache):
    with running_oauth_smtpd(endpoint, tls_context=server_context(ca, "127.0.0.1")) as server:
        outcome = check(xoauth2(server.port, MICROSOFT, starttls=False), endpoint)
    assert outcome.ok, outcome
    assert verbs(server.sink.commands)[:4] == ["EHLO", "STARTTLS", "EHLO", "AUTH"]
    assert outcome.tls is not None
    assert outcome.tls.mode == "starttls-offered"


def test_the_mode_says_how_tls_came_about(smtpd, ca):
    context = server_context(ca, "127.0.0.1")
    asked = run(plan(smtpd(tls_context=context).port, starttls=True, auth=True))
    implicit = run(plan(smtpd(ssl_context=server_context(ca, "127.0.0.1")).port, ssltls=True))
    clear = run(plan(smtpd(tls_context=context).port))  # no auth: as before, in clear
    assert asked.tls is not None
    assert asked.tls.mode == "starttls"
    assert implicit.tls is not None
    assert implicit.tls.mode == "implicit"
    assert (clear.ok, clear.tls) == (True, None)
    shown = lastcheck_json(asked.result("2026-11-23T10:00:00.000Z"))["tls"]
    assert shown is not None
    assert shown["mode"] == "starttls"  # what the API shows
    stored = result_to_map(asked.result("2026-11-23T10:00:00.000Z"))
    assert stored["tls"]["mode"] == "starttls"  # and what the table keeps
    assert result_from_map(stored).tls == asked.tls


def test_tlsverify_and_cacert_are_honoured_for_an_offered_starttls(smtpd):
    private = trustme.CA()  # not in SSL_CERT_FILE
    server = smtpd(tls_context=server_context(private, "127.0.0.1"))
    trusted = run(plan(server.port, auth=True, cacert=private.cert_pem.bytes().decode()))
    assert trusted.ok, trusted
    unverified = run(plan(server.port, auth=True, tls_verify=False))
    assert unverified.ok, unverified
    assert unverified.message.endswith(UNVERIFIED_NOTE)
    assert unverified.tls is not None
    assert unverified.tls.subject is None


# --- offered, then failing: never clear text ----------------------------------------------------------


@pytest.mark.parametrize("insecure_auth", [False, True], ids=["secure", "insecureauth-on"])
def test_an_offered_starttls_with_a_bad_certificate_fails_at_tls_and_sends_nothing(smtpd, insecure_auth):
    server = smtpd(tls_context=server_context(trustme.CA(), "127.0.0.1"))
    outcome = run(plan(server.port, auth=True, insecure_auth=insecure_auth))
    assert_failed(outcome, "TLS")
    assert "certificate is not valid for 127.0.0.1" in outcome.message
    assert "AUTH" not in verbs(server.sink.commands)
    wire = bytes(server.sink.wire)
    assert not any(form in wire for form in credential_forms()), wire
    assert server.sink.received == []


@pytest.mark.parametrize("insecure_auth", [False, True], ids=["secure", "insecureauth-on"])
def test_an_offered_starttls_that_is_refused_fails_at_tls_and_sends_nothing(raw, insecure_auth):
    server = raw(
        scripted(
            "220 mx.test ESMTP",
            ("EHLO", "250-mx.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN"),
            ("STARTTLS", "454 4.7.0 TLS not available right now"),
            ("AUTH", "235 welcome"),  # what a fallback to clear text would reach
        )
    )
    outcome = run(plan(server.port, auth=True, insecure_auth=insecure_auth), total=BOUND)
    assert_failed(outcome, "TLS", 454)
    assert outcome.message.startswith("The server refused STARTTLS (454 4.7.0 TLS not available right now)")
    assert "offered" in outcome.message
    assert not any(line.upper().startswith(b"AUTH") for line in server.lines), server.lines


def failed_handshake(received: list[bytes]) -> Any:
    """Offers STARTTLS, says go ahead, then answers the ClientHello with bytes that are not TLS; keeps
    whatever the client sends afterwards."""

    def behaviour(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 mx.test ESMTP\r\n")
        reader.readline()
        conn.sendall(b"250-mx.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
        reader.readline()
        conn.sendall(b"220 go ahead\r\n")
        conn.recv(4096)  # the ClientHello
        conn.sendall(b"250 this is not TLS at all\r\n")
        conn.settimeout(1.0)
        while chunk := conn.recv(4096):
            received.append(chunk)

    return behaviour


def test_an_offered_starttls_whose_handshake_fails_never_falls_back_to_clear_text(raw):
    after: list[bytes] = []
    server = raw(failed_handshake(after))
    outcome = run(plan(server.port, auth=True, insecure_auth=True), total=BOUND)
    assert_failed(outcome, "TLS")
    assert outcome.message.startswith("The TLS handshake failed")
    assert server.accepted == 1  # no second connection in clear either
    assert not any(form in b"".join(after) for form in [b"AUTH", *credential_forms()]), after


# --- not offered: insecureauth, and the message says so ----------------------------------------------


def test_a_server_offering_no_starttls_needs_insecureauth_and_the_refusal_says_so(smtpd):
    server = smtpd()
    outcome = run(plan(server.port, auth=True))
    assert_failed(outcome, "AUTH")
    assert outcome.message == NOT_OFFERED
    assert "AUTH" not in verbs(server.sink.commands)
    assert not any(form in bytes(server.sink.wire) for form in credential_forms())
    assert run(plan(server.port, auth=True, insecure_auth=True)).ok  # its owner accepted the risk


# --- through the handlers: QueueMail's client's way of saving ------------------------------------------


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "2")


def saved_as_the_client_saves(port: int) -> str:
    """smtps/save with the bytes QueueMail's client posts: auth=true, starttls=false, sslTls=false, no
    insecureauth (it has no such parameter), an ISO-8859-1 form body (the password holds an e-acute)."""
    app = call("apps_save", {"name": "Caf\u00e9 Shop", "testemail": "ops@example.org"})
    assert app.status == 200, app.text
    pairs = create_smtp_form(
        app.json["_id"],
        priority=None,
        host="127.0.0.1",
        port=port,
        username=USERNAME,
        password=PASSWORD,
        auth=True,
        starttls=False,
        ssl_tls=False,
        debug=False,
        defaultfromemail="info@example.net",
        defaultfromname="B\u00fcro",
    )
    body = form_body(pairs)
    assert b"password=Pw-s3cret-%E9-1234" in body  # ISO-8859-1, as the client writes it
    reply = call("smtps_save", body=body.decode("ascii"), content_type=FORM_CONTENT_TYPE)
    assert reply.status == 200, reply.text
    assert (reply.json["auth"], reply.json["starttls"], reply.json["sslTls"]) == (True, False, False)
    return str(reply.json["_id"])


def test_queuemail_s_client_saves_a_server_that_passes_check_over_an_offered_starttls(aws, loopback, ca):
    with running_smtpd(tls_context=server_context(ca, "127.0.0.1")) as server:
        idsmtp = saved_as_the_client_saves(server.port)
        reply = call("smtps_check", {"idapp": idsmtp})  # the client's spelling of the SMTP id
        assert (reply.status, reply.text) == (200, "")
    (received,) = server.sink.received
    assert (received.tls, received.authenticated) == (True, True)
    lastcheck = server_json(idsmtp)["lastcheck"]
    assert (lastcheck["ok"], lastcheck["tls"]["mode"]) == (True, "starttls-offered")


def test_queuemail_s_client_saves_a_server_without_starttls_that_fails_saying_insecureauth(aws, loopback):
    with running_smtpd() as server:
        idsmtp = saved_as_the_client_saves(server.port)
        reply = call("smtps_check", {"idapp": idsmtp})
    assert reply.status == 406
    assert (reply.json["stage"], reply.json["message"]) == ("AUTH", NOT_OFFERED)
    assert "AUTH" not in verbs(server.sink.commands)


def test_a_scheduled_probe_uses_an_offered_starttls_too(health, ca, monkeypatch):
    monkeypatch.setenv("HEALTH_INTERVAL_HOURS", "1")
    with running_smtpd(tls_context=server_context(ca, "127.0.0.1")) as server:
        idsmtp = create_server(server.port, auth=True, username=USERNAME, password=PASSWORD)
        health.clock.advance(3600)
        assert health.sweep()["active"] == 1
        health.deliver()
    lastcheck = server_json(idsmtp)["lastcheck"]
    assert (lastcheck["ok"], lastcheck["mode"], lastcheck["tls"]["mode"]) == (
        True,
        "probe",
        "starttls-offered",
    )
    assert verbs(server.sink.commands)[:4] == ["EHLO", "STARTTLS", "EHLO", "AUTH"]
