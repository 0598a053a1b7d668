"""XOAUTH2's write-only values through smtps/save and findById, on moto: where they are kept, which version
of the server's secret holds each, what the JSON says of them, and the binding rule for them.

The save function may not read a secret (only the check may: tests/test_policies.py), so an edit that sends
one write-only value cannot merge it into a copy of the others. It writes a version holding what it was
sent, and the record says which version holds each value (`secretVersion` for the newest, `secretfields`
for the rest): every version a record names stays labelled, so AWS keeps it.
"""

from __future__ import annotations

import json
from typing import Any

from smtphub import wiring
from smtphub.smtps.models import OAUTH_AGAIN
from tests.support.api import (
    PASSWORD,
    Failing,
    bad,
    client_error,
    error,
    items,
    labels,
    new_app,
    new_smtp,
    ok,
    our_labels,
    pinned_version,
    settle,
    stored,
)
from tests.support.aws import SECRET_PREFIX
from tests.support.lambdas import call

TENANT = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
CLIENT_SECRET = "Cs~8Q~client-secret-value-0001"
MICROSOFT = {
    "host": "smtp.office365.com",
    "authmech": "XOAUTH2",
    "oauthprovider": "microsoft",
    "oauthtenant": TENANT,
    "oauthclientid": "11111111-2222-3333-4444-555555555555",
    "oauthclientsecret": CLIENT_SECRET,
    "password": None,
}
HAS = ("hasoauthclientsecret", "hasoauthrefreshtoken", "hasoauthserviceaccount")


def version_values(aws: Any, idsmtp: str, version: str) -> dict[str, str]:
    text = aws.secrets.get_secret_value(SecretId=SECRET_PREFIX + idsmtp, VersionId=version)["SecretString"]
    values: dict[str, str] = json.loads(text)
    return values


def what_a_check_reads(idsmtp: str) -> dict[str, str]:
    """Every write-only value smtps/check would use, read as smtphub.check.service reads them."""
    from smtphub.check.service import read_secrets

    record = wiring.smtp_repository().get(idsmtp)
    assert record is not None
    return read_secrets(wiring.secret_repository(), record)


def assert_every_named_version_is_labelled(aws: Any, idsmtp: str) -> None:
    record = wiring.smtp_repository().get(idsmtp)
    assert record is not None
    stages = labels(aws, idsmtp)
    for name, version in record.secret_versions.items():
        assert stages.get(version), f"{name}'s version {version} carries no label: {stages}"


def has(smtp: dict[str, Any]) -> dict[str, bool]:
    return {key: smtp[key] for key in HAS}


def test_a_microsoft_server_keeps_its_client_secret_write_only(aws: Any, json_logs: Any) -> None:
    created = new_smtp(new_app(), **MICROSOFT)
    assert has(created) == {
        "hasoauthclientsecret": True,
        "hasoauthrefreshtoken": False,
        "hasoauthserviceaccount": False,
    }
    assert (created["authmech"], created["oauthprovider"], created["oauthtenant"]) == (
        "XOAUTH2",
        "microsoft",
        TENANT,
    )
    idsmtp = created["_id"]
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp})) == created
    version = pinned_version(aws, idsmtp)
    assert version is not None
    assert version_values(aws, idsmtp, version) == {"oauthclientsecret": CLIENT_SECRET}
    item = stored(aws, idsmtp)
    assert item is not None
    assert item["secretfields"] == {"M": {"oauthclientsecret": {"S": ""}}}
    assert CLIENT_SECRET not in json.dumps(items(aws)) + json.dumps(created) + json.dumps(json_logs())
    assert what_a_check_reads(idsmtp) == {"oauthclientsecret": CLIENT_SECRET}


def test_one_create_writes_every_value_it_is_given_in_one_version(aws: Any) -> None:
    created = new_smtp(
        new_app(),
        authmech="XOAUTH2",
        oauthprovider="google",
        oauthclientid="1234-abc.apps.googleusercontent.com",
        oauthclientsecret=CLIENT_SECRET,
        oauthrefreshtoken="1//0g-refresh",
    )
    assert has(created) == {
        "hasoauthclientsecret": True,
        "hasoauthrefreshtoken": True,
        "hasoauthserviceaccount": False,
    }
    version = pinned_version(aws, created["_id"])
    assert version is not None
    assert version_values(aws, created["_id"], version) == {
        "password": PASSWORD,
        "oauthclientsecret": CLIENT_SECRET,
        "oauthrefreshtoken": "1//0g-refresh",
    }


def test_an_edit_sending_one_value_keeps_the_others_in_the_versions_that_hold_them(aws: Any) -> None:
    # given: a server with a password (its secret's first version)
    created = new_smtp(new_app())
    idsmtp = created["_id"]
    first = pinned_version(aws, idsmtp)
    assert first is not None

    # when: a client secret alone is sent
    edited = ok(call("smtps_save", {"idsmtp": idsmtp, "oauthclientsecret": CLIENT_SECRET}))

    # then: a new version holds only it; the record names both versions, and both stay labelled (the first
    # one, a create's with no label of ours, gets one once AWSCURRENT moves from it, from the stream)
    second = pinned_version(aws, idsmtp)
    assert second is not None
    assert second != first
    assert version_values(aws, idsmtp, second) == {"oauthclientsecret": CLIENT_SECRET}
    assert edited["hasoauthclientsecret"] is True
    assert what_a_check_reads(idsmtp) == {"password": PASSWORD, "oauthclientsecret": CLIENT_SECRET}
    assert_every_named_version_is_labelled(aws, idsmtp)
    settle(aws)
    assert_every_named_version_is_labelled(aws, idsmtp)
    assert "AWSCURRENT" in labels(aws, idsmtp)[second]
    assert our_labels(aws, idsmtp, first)  # no longer AWSCURRENT, still named: a label of ours keeps it

    # when: the password is sent again, the first version is named by nothing any more
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "new-password"}))
    third = pinned_version(aws, idsmtp)
    assert what_a_check_reads(idsmtp) == {"password": "new-password", "oauthclientsecret": CLIENT_SECRET}
    assert_every_named_version_is_labelled(aws, idsmtp)  # before the stream's tidying, and after it
    settle(aws)
    assert_every_named_version_is_labelled(aws, idsmtp)
    assert "AWSCURRENT" in labels(aws, idsmtp)[third or ""]
    assert our_labels(aws, idsmtp, first) == []  # no label of ours: AWS may purge it


def test_a_password_only_server_is_stored_as_before_the_new_fields(aws: Any) -> None:
    """Its secret holds {"password": ...} and its record names no `secretfields`: records written before
    them read the same way, so nothing needs migrating."""
    created = new_smtp(new_app())
    idsmtp = created["_id"]
    version = pinned_version(aws, idsmtp)
    assert version is not None
    assert version_values(aws, idsmtp, version) == {"password": PASSWORD}
    assert "secretfields" not in (stored(aws, idsmtp) or {})
    assert has(created) == {
        "hasoauthclientsecret": False,
        "hasoauthrefreshtoken": False,
        "hasoauthserviceaccount": False,
    }
    assert what_a_check_reads(idsmtp) == {"password": PASSWORD}


def test_moving_a_microsoft_server_s_token_endpoint_needs_its_client_secret_again(aws: Any) -> None:
    created = new_smtp(new_app(), **MICROSOFT)
    idsmtp = created["_id"]
    before = items(aws), labels(aws, idsmtp)
    for change in (
        {"oauthtenant": "attacker.onmicrosoft.com"},
        {"oauthclientid": "attacker-app"},
        {"host": "smtp.attacker.example"},
        {"tlsverify": "false"},
    ):
        assert bad(call("smtps_save", {"idsmtp": idsmtp, **change})) == {"oauthclientsecret": OAUTH_AGAIN}
        assert (items(aws), labels(aws, idsmtp)) == before
    moved = ok(
        call(
            "smtps_save",
            {
                "idsmtp": idsmtp,
                "oauthtenant": "contoso.onmicrosoft.com",
                "oauthclientsecret": "another-secret",
            },
        )
    )
    assert moved["oauthtenant"] == "contoso.onmicrosoft.com"
    assert what_a_check_reads(idsmtp) == {"oauthclientsecret": "another-secret"}


def test_an_edit_that_needs_secrets_names_each_one_missing(aws: Any) -> None:
    created = new_smtp(new_app(), auth="false", password=None, username=None)
    idsmtp = created["_id"]
    assert bad(
        call(
            "smtps_save",
            {
                "idsmtp": idsmtp,
                "auth": "true",
                "authmech": "XOAUTH2",
                "oauthprovider": "microsoft",
                "username": "mailer@example.net",
            },
        )
    ) == {
        "oauthtenant": "is required with oauthprovider microsoft",
        "oauthclientid": "is required with oauthprovider microsoft",
        "oauthclientsecret": "is required with oauthprovider microsoft",
    }


def test_a_failing_secret_write_leaves_the_server_and_its_versions_as_they_were(aws: Any) -> None:
    created = new_smtp(new_app(), **MICROSOFT)
    idsmtp = created["_id"]
    before = items(aws), labels(aws, idsmtp)
    repo = wiring.secret_repository()
    repo._client = Failing(
        aws.secrets, "put_secret_value", client_error("InternalServiceError", "PutSecretValue")
    )
    error(call("smtps_save", {"idsmtp": idsmtp, "oauthclientsecret": "new"}), 500, "INTERNAL_ERROR")
    assert (items(aws), labels(aws, idsmtp)) == before
    repo._client = aws.secrets
    assert what_a_check_reads(idsmtp) == {"oauthclientsecret": CLIENT_SECRET}


def test_a_lost_record_write_unlabels_the_version_it_wrote(aws: Any) -> None:
    created = new_smtp(new_app(), **MICROSOFT)
    idsmtp = created["_id"]
    named = pinned_version(aws, idsmtp)
    repository = wiring.smtp_repository()
    repository.client = Failing(
        repository.client,
        "update_item",
        client_error("ConditionalCheckFailedException", "UpdateItem"),
    )
    error(call("smtps_save", {"idsmtp": idsmtp, "oauthclientsecret": "lost"}), 406, "CONFLICT")
    assert pinned_version(aws, idsmtp) == named
    for version, stages in labels(aws, idsmtp).items():
        if version != named:
            assert our_labels(aws, idsmtp, version) == [], stages


def test_a_service_account_key_that_would_make_signing_slow_is_a_400_at_save(aws: Any) -> None:
    """Issue 22: a key with a public exponent thousands of bits long was stored, and every check then spent
    seconds of CPU signing. Refused at save, naming the field and saying what a usable key is."""
    from tests.support.rsa_keys import key_file, pem, private_key, with_public_exponent

    idapp = new_app()
    google = {"idapp": idapp, "host": "smtp.gmail.com", "port": 587, "starttls": True, "auth": True}
    google |= {"username": "mailer@example.net", "authmech": "XOAUTH2", "oauthprovider": "google"}
    for key, said in (
        (with_public_exponent(2000), "has an RSA key whose public exponent is not 65537"),
        (pem(private_key(4104)), "has an RSA key that is not 2048 to 4096 bits long"),
    ):
        fields = bad(call("smtps_save", {**google, "oauthserviceaccount": key_file(key)}))
        assert list(fields) == ["oauthserviceaccount"]
        assert fields["oauthserviceaccount"].startswith(said), fields
    assert items(aws) == []
    created = ok(call("smtps_save", {**google, "oauthserviceaccount": key_file(pem(private_key()))}))
    assert created["hasoauthserviceaccount"] is True
