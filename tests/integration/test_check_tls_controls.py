"""`tlsverify`, `cacert`, `tlsmin` and `helo` in the check's conversation, against aiosmtpd on 127.0.0.1
(STARTTLS and implicit TLS) with certificates from the trusted test CA, from a private CA the check does not
trust, and for another host. The token endpoints ignore these: they are always verified."""

from __future__ import annotations

import ssl

import pytest
import trustme

from smtphub.check import Deadline, Limits, OAuth, Plan, converse
from smtphub.smtp import oauth
from smtphub.smtp.tls import UNVERIFIED_NOTE
from tests.support.oauth_peers import MS_CLIENT_ID, MS_CLIENT_SECRET, TENANT, running_token_endpoint
from tests.support.smtp_peers import assert_failed, plan, run, server_context

pytestmark = pytest.mark.usefixtures("trust_test_ca")


@pytest.fixture(scope="module")
def private_ca() -> trustme.CA:
    return trustme.CA(organization_name="Private CA (not trusted by the check)")


def pem(ca: trustme.CA) -> str:
    return ca.cert_pem.bytes().decode()


def tls12_only(context: ssl.SSLContext) -> ssl.SSLContext:
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


# --- tlsverify ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["starttls", "ssltls"])
def test_tlsverify_false_checks_a_server_whose_certificate_is_not_trusted_and_says_so(
    smtpd, private_ca, mode
):
    context = server_context(private_ca, "127.0.0.1")
    server = smtpd(**({"tls_context": context} if mode == "starttls" else {"ssl_context": context}))
    outcome = run(plan(server.port, auth=True, tls_verify=False, **{mode: True}))
    assert outcome.ok, outcome
    assert outcome.message.endswith("; " + UNVERIFIED_NOTE)
    assert outcome.result("2026-11-23T10:00:00.000Z").message == outcome.message
    assert server.sink.received[0].tls
    assert server.sink.received[0].authenticated


def test_tlsverify_false_also_skips_the_host_name(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "other.example.net"))
    assert run(plan(server.port, starttls=True, tls_verify=False)).ok


def test_every_outcome_says_it_when_verification_was_off_failures_too(smtpd, private_ca):
    server = smtpd(tls_context=server_context(private_ca, "127.0.0.1"))
    outcome = run(plan(server.port, starttls=True, tls_verify=False, recipient="nobody@example.net"))
    assert_failed(outcome, "RCPT", 550)
    assert outcome.message.endswith("; " + UNVERIFIED_NOTE)
    assert outcome.result("2026-11-23T10:00:00.000Z").message == outcome.message


def test_with_verification_on_the_lastcheck_has_no_such_note(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "127.0.0.1"))
    outcome = run(plan(server.port, starttls=True))
    assert outcome.ok
    assert UNVERIFIED_NOTE not in outcome.message


def test_an_untrusted_certificate_says_how_to_check_it_anyway(smtpd, private_ca):
    server = smtpd(tls_context=server_context(private_ca, "127.0.0.1"))
    outcome = run(plan(server.port, starttls=True, auth=True))
    assert_failed(outcome, "TLS")
    assert "a private CA: set cacert; or tlsverify=false" in outcome.message
    assert server.sink.received == []


# --- cacert -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["starttls", "ssltls"])
def test_cacert_trusts_a_private_ca_for_this_server(smtpd, private_ca, mode):
    context = server_context(private_ca, "127.0.0.1")
    server = smtpd(**({"tls_context": context} if mode == "starttls" else {"ssl_context": context}))
    outcome = run(plan(server.port, auth=True, cacert=pem(private_ca), **{mode: True}))
    assert outcome.ok, outcome
    assert UNVERIFIED_NOTE not in outcome.message  # verified, against the private CA


def test_cacert_replaces_the_public_cas_and_still_checks_the_host_name(smtpd, ca, private_ca):
    publicly_trusted = smtpd(tls_context=server_context(ca, "127.0.0.1"))
    outcome = run(plan(publicly_trusted.port, starttls=True, cacert=pem(private_ca)))
    assert_failed(outcome, "TLS")
    assert "the CAs in cacert" in outcome.message
    other_host = smtpd(tls_context=server_context(private_ca, "other.example.net"))
    outcome = run(plan(other_host.port, starttls=True, cacert=pem(private_ca)))
    assert_failed(outcome, "TLS")
    assert "not valid for 127.0.0.1" in outcome.message


def test_a_bundle_of_several_cas_trusts_each(smtpd, ca, private_ca):
    server = smtpd(tls_context=server_context(private_ca, "127.0.0.1"))
    assert run(plan(server.port, starttls=True, cacert=pem(ca) + pem(private_ca))).ok


def test_a_stored_cacert_that_no_longer_loads_fails_at_tls(smtpd, private_ca):
    server = smtpd(tls_context=server_context(private_ca, "127.0.0.1"))
    outcome = run(
        plan(
            server.port, starttls=True, cacert="-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
        )
    )
    assert_failed(outcome, "TLS")
    assert (
        outcome.message
        == "The stored cacert could not be loaded: save the server again with its CA certificates"
    )


# --- tlsmin ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["starttls", "ssltls"])
def test_tlsmin_1_3_against_a_tls_1_2_only_server_fails_at_tls(smtpd, ca, mode):
    context = tls12_only(server_context(ca, "127.0.0.1"))
    server = smtpd(**({"tls_context": context} if mode == "starttls" else {"ssl_context": context}))
    outcome = run(plan(server.port, auth=True, tls_min="1.3", **{mode: True}))
    assert_failed(outcome, "TLS")
    # (the server hangs up rather than send its protocol_version alert: the hint cannot be more certain)
    assert "the server may not offer TLS 1.3 (tlsmin=1.3)" in outcome.message
    assert server.sink.received == []
    assert run(plan(server.port, auth=True, tls_min="1.2", **{mode: True})).ok  # the default floor


def test_tlsmin_1_3_against_a_tls_1_3_server_passes(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "127.0.0.1"))
    assert run(plan(server.port, starttls=True, tls_min="1.3")).ok


def test_tls_1_1_is_never_accepted(smtpd, ca):
    context = server_context(ca, "127.0.0.1")
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with pytest.warns(DeprecationWarning, match="TLSv1_1"):
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    server = smtpd(tls_context=context)
    outcome = run(plan(server.port, starttls=True, tls_verify=False))
    assert_failed(outcome, "TLS")
    assert server.sink.received == []


# --- helo -------------------------------------------------------------------------------------------


def test_helo_names_the_client_in_ehlo_before_and_after_starttls(smtpd, ca):
    server = smtpd(tls_context=server_context(ca, "127.0.0.1"))
    assert run(plan(server.port, starttls=True, helo="relay.example.org")).ok
    ehlos = [line for line in server.sink.commands if line.upper().startswith("EHLO")]
    assert ehlos == ["EHLO relay.example.org", "EHLO relay.example.org"]


def test_without_helo_ehlo_gives_the_sender_s_domain(smtpd):
    server = smtpd()
    assert run(plan(server.port)).ok
    assert [line for line in server.sink.commands if line.startswith("EHLO")] == ["EHLO example.net"]


# --- the token endpoint is verified whatever the server's TLS settings ------------------------------


def test_tlsverify_false_does_not_reach_the_token_endpoint(smtpd, ca, private_ca):
    oauth.forget()
    server = smtpd(tls_context=server_context(private_ca, "127.0.0.1"))
    source = OAuth("microsoft", tenant=TENANT, client_id=MS_CLIENT_ID, client_secret=MS_CLIENT_SECRET)
    with running_token_endpoint(private_ca) as untrusted:
        the_plan: Plan = plan(
            server.port,
            auth=True,
            starttls=True,
            authmech="XOAUTH2",
            oauth=source,
            password=None,
            tls_verify=False,
            cacert=pem(private_ca),
        )
        outcome = converse(
            the_plan,
            limits=Limits.within(3),
            deadline=Deadline(3),
            allow_private=True,
            oauth_endpoints=untrusted.overrides,
        )
    assert_failed(outcome, "TOKEN")
    assert "certificate is not valid" in outcome.message
    assert untrusted.requests == []
