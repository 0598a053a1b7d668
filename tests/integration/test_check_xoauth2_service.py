"""smtps/save then smtps/check through their handlers (moto), for XOAUTH2 and the TLS controls: what is
stored, read (exactly the secret versions the record names) and recorded, with the local token endpoint
in place of Microsoft's and Google's (OAUTH_ENDPOINT_OVERRIDES, as the local runtime sets it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from smtphub.smtp import oauth
from tests.support.api import new_app, ok
from tests.support.lambdas import call
from tests.support.oauth_peers import (
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    GOOGLE_REFRESH,
    MS_CLIENT_ID,
    MS_CLIENT_SECRET,
    TENANT,
    TokenEndpoint,
    running_token_endpoint,
    service_account_file,
)
from tests.support.smtp_peers import USERNAME, Server, server_context
from tests.support.xoauth2_smtpd import running_oauth_smtpd

pytestmark = pytest.mark.usefixtures("trust_test_ca")


@pytest.fixture
def endpoint(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenEndpoint]:
    oauth.forget()
    with running_token_endpoint(ca) as running:
        overrides = ",".join(f"{name}={url}" for name, url in running.overrides.items())
        monkeypatch.setenv("OAUTH_ENDPOINT_OVERRIDES", overrides)
        monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "true")
        monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "3")
        yield running
    oauth.forget()


@pytest.fixture
def peer(endpoint: TokenEndpoint, ca: trustme.CA) -> Iterator[Server]:
    with running_oauth_smtpd(endpoint, tls_context=server_context(ca, "127.0.0.1")) as server:
        yield server


def microsoft_server(peer: Server, **values: Any) -> str:
    params = {
        "idapp": new_app(),
        "host": "127.0.0.1",
        "port": peer.port,
        "starttls": True,
        "auth": True,
        "username": USERNAME,
        "authmech": "XOAUTH2",
        "oauthprovider": "microsoft",
        "oauthtenant": TENANT,
        "oauthclientid": MS_CLIENT_ID,
        "oauthclientsecret": MS_CLIENT_SECRET,
        "defaultfromemail": "info@example.net",
        **values,
    }
    created: dict[str, Any] = ok(call("smtps_save", {k: v for k, v in params.items() if v is not None}))
    return str(created["_id"])


def lastcheck(idsmtp: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))["lastcheck"]
    return found


def test_a_microsoft_server_is_checked_with_a_token_from_its_endpoint(aws, endpoint, peer):
    idsmtp = microsoft_server(peer)
    assert (call("smtps_check", {"idsmtp": idsmtp}).status, len(endpoint.requests)) == (200, 1)
    assert peer.sink.received[0].authenticated
    assert lastcheck(idsmtp)["ok"] is True


def test_a_refused_client_secret_is_a_406_at_token_and_recorded(aws, endpoint, peer, json_logs):
    idsmtp = microsoft_server(peer, oauthclientsecret="not-the-secret")
    reply = call("smtps_check", {"idsmtp": idsmtp})
    assert reply.status == 406
    assert (reply.json["error"], reply.json["stage"], reply.json["code"]) == (
        "SMTP_CHECK_FAILED",
        "TOKEN",
        None,
    )
    assert "invalid_client AADSTS7000215" in reply.json["message"]
    recorded = lastcheck(idsmtp)
    assert (recorded["stage"], recorded["message"]) == ("TOKEN", reply.json["message"])
    assert peer.sink.commands == []
    shown = reply.text + json.dumps(json_logs())
    assert "not-the-secret" not in shown
    assert MS_CLIENT_SECRET not in shown
    assert not any(token in shown for token in endpoint.issued)


def test_values_sent_in_separate_edits_are_read_from_their_versions_concurrently(
    aws, endpoint, peer, aws_calls
):
    idsmtp = microsoft_server(
        peer,
        oauthprovider="google",
        oauthtenant=None,
        oauthclientid=GOOGLE_CLIENT_ID,
        oauthclientsecret=GOOGLE_CLIENT_SECRET,
        oauthrefreshtoken="an-old-one",
    )
    ok(call("smtps_save", {"idsmtp": idsmtp, "oauthrefreshtoken": GOOGLE_REFRESH}))  # a second version
    aws_calls.clear()
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    assert sorted(aws_calls[2:5]) == [
        "GetItem",
        "GetSecretValue",
        "GetSecretValue",
    ]  # app and both: one round
    assert endpoint.requests[0].form["refresh_token"] == GOOGLE_REFRESH


def test_a_check_reads_only_the_values_it_uses(aws, endpoint, peer, aws_calls):
    """A service account beside a stored password: the check of the XOAUTH2 server reads the key file's
    version only."""
    idsmtp = microsoft_server(
        peer,
        authmech="PLAIN",
        oauthprovider=None,
        oauthtenant=None,
        oauthclientid=None,
        oauthclientsecret=None,
        password="kept-beside-it",
    )
    edit = {
        "idsmtp": idsmtp,
        "authmech": "XOAUTH2",
        "oauthprovider": "google",
        "oauthserviceaccount": service_account_file(),
    }
    assert (
        ok(call("smtps_save", edit))["hasoauthserviceaccount"] is True
    )  # XOAUTH2 does not send the password
    aws_calls.clear()
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    assert sorted(aws_calls[2:4]) == ["GetItem", "GetSecretValue"]
    assert aws_calls.count("GetSecretValue") == 1


def test_tlsverify_false_is_stored_and_every_lastcheck_says_so(aws, endpoint, private_peer):
    idsmtp = microsoft_server(private_peer, tlsverify="false")
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    recorded = lastcheck(idsmtp)
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))["tlsverify"] is False
    assert recorded["message"].endswith("; the server's certificate was not verified (tlsverify=false)")


def test_a_private_ca_in_cacert_is_trusted_for_its_server(aws, endpoint, private_peer, private_ca):
    idsmtp = microsoft_server(private_peer, cacert=private_ca.cert_pem.bytes().decode())
    assert call("smtps_check", {"idsmtp": idsmtp}).status == 200
    assert "not verified" not in lastcheck(idsmtp)["message"]


@pytest.fixture
def private_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def private_peer(endpoint: TokenEndpoint, private_ca: trustme.CA) -> Iterator[Server]:
    with running_oauth_smtpd(endpoint, tls_context=server_context(private_ca, "127.0.0.1")) as server:
        yield server
