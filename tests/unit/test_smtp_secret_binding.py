"""The settings of issue 14 on stored servers: which secret version holds each write-only value, the rules
across a server's fields, the binding of each stored secret to where it may go, and the SMTP JSON (which
write-only values are set, never them)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from smtphub.http.responses.smtps import smtp_json
from smtphub.smtps.models import (
    OAUTH_AGAIN,
    PASSWORD_AGAIN,
    Smtp,
    rebinding_problems,
    settings_problems,
)

IDAPP = "6741f0a2c3d4e5f6a7b8c9d0"
IDSMTP = "6741f0b7d1e2f3a4b5c6d7e8"
TENANT = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


# --- rules on stored values ----------------------------------------------------------------------


def smtp(**values: Any) -> Smtp:
    base: dict[str, Any] = {
        "id": IDSMTP,
        "app_id": IDAPP,
        "account_id": "acc",
        "host": "smtp.office365.com",
        "port": 587,
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "starttls": True,
        "auth": True,
        "username": "mailer@example.net",
        "secret_version": "v1",
    }
    base.update(values)
    return Smtp(**base)


MICROSOFT = {
    "authmech": "XOAUTH2",
    "oauthprovider": "microsoft",
    "oauthtenant": TENANT,
    "oauthclientid": "app-1",
    "secretfields": {"oauthclientsecret": ""},
}


def test_a_record_says_which_version_holds_each_secret():
    legacy = smtp()  # written before secretfields existed: its secret holds the password
    assert legacy.secret_versions == {"password": "v1"}
    both = smtp(secret_version="v3", secretfields={"password": "v1", "oauthclientsecret": ""})
    assert both.secret_versions == {"password": "v1", "oauthclientsecret": "v3"}
    unattached = smtp(secret_version=None, secretfields={"password": ""})  # a create whose last step failed
    assert unattached.secret_versions == {}


def test_settings_problems_judge_the_stored_secrets():
    ok = smtp(**MICROSOFT)
    assert settings_problems(ok, set(ok.secret_versions)) == {}
    assert settings_problems(ok, set()) == {"oauthclientsecret": "is required with oauthprovider microsoft"}
    plain = smtp()
    assert settings_problems(plain, {"password"}) == {}
    assert settings_problems(plain, set()) == {"password": "is required when auth is true"}


BOUND_FOR_OAUTH = {
    "host": {"host": "smtp.attacker.example"},
    "port": {"port": 2525},
    "username": {"username": "ceo@example.net"},
    "tenant": {"oauthtenant": "attacker.onmicrosoft.com"},
    "client id": {"oauthclientid": "app-2"},
    "provider": {"oauthprovider": "generic", "oauthtokenurl": "https://idp.attacker.example/t"},
    "starttls lowered": {"starttls": False},
    "insecureauth on": {"insecureauth": True},
    "verification off": {"tlsverify": False},
    "a new cacert": {"cacert": "-----BEGIN CERTIFICATE-----..."},
}


@pytest.mark.parametrize("change", BOUND_FOR_OAUTH.values(), ids=list(BOUND_FOR_OAUTH))
def test_an_edit_that_moves_an_oauth_secret_must_send_it_again(change):
    current = smtp(**MICROSOFT)
    edited = replace(current, **change)
    assert rebinding_problems(current, edited, given=set()) == {"oauthclientsecret": OAUTH_AGAIN}
    assert rebinding_problems(current, edited, given={"oauthclientsecret"}) == {}


def test_tls_min_lowered_binds_every_stored_secret_and_raised_binds_none():
    current = smtp(
        tlsmin="1.3",
        secret_version="v2",
        secretfields={"password": "v1", "oauthclientsecret": ""},
        **{k: v for k, v in MICROSOFT.items() if k != "secretfields"},
    )
    assert rebinding_problems(current, replace(current, tlsmin="1.2"), given=set()) == {
        "oauthclientsecret": OAUTH_AGAIN,
        "password": PASSWORD_AGAIN,
    }
    raised = smtp(tlsmin="1.2")
    assert (
        rebinding_problems(raised, replace(raised, tlsmin="1.3", tlsverify=True, cacert=None), given=set())
        == {}
    )


def test_the_generic_token_url_and_google_s_subject_are_bound_too():
    generic = smtp(
        authmech="XOAUTH2",
        oauthprovider="generic",
        oauthtokenurl="https://idp.example.net/t",
        oauthclientid="c",
        secretfields={"oauthrefreshtoken": "", "oauthclientsecret": ""},
    )
    moved = replace(generic, oauthtokenurl="https://idp.attacker.example/t")
    assert rebinding_problems(generic, moved, given={"oauthrefreshtoken"}) == {
        "oauthclientsecret": OAUTH_AGAIN
    }
    google = smtp(authmech="XOAUTH2", oauthprovider="google", secretfields={"oauthserviceaccount": ""})
    assert rebinding_problems(google, replace(google, username="ceo@example.net"), given=set()) == {
        "oauthserviceaccount": OAUTH_AGAIN
    }


def test_a_secret_the_edited_server_would_not_use_is_not_bound():
    """A client secret kept from an earlier XOAUTH2 setup, on a server now using PLAIN: a new tenant sends
    it nowhere; turning XOAUTH2 on again changes `authmech`, which binds it (and not the password, which
    XOAUTH2 does not send)."""
    leaving = smtp(**MICROSOFT)
    assert rebinding_problems(leaving, replace(leaving, authmech="PLAIN"), given={"password"}) == {}
    current = smtp(
        authmech="PLAIN",
        oauthprovider="microsoft",
        oauthtenant=TENANT,
        oauthclientid="a",
        secret_version="v2",
        secretfields={"password": "v1", "oauthclientsecret": ""},
    )
    assert rebinding_problems(current, replace(current, oauthtenant="other.example"), given=set()) == {}
    back = replace(current, authmech="XOAUTH2", oauthtenant="other.example")
    assert rebinding_problems(current, back, given=set()) == {"oauthclientsecret": OAUTH_AGAIN}


def test_edits_that_send_nothing_anywhere_new_need_no_secret():
    current = smtp(**MICROSOFT)
    for change in (
        {"priority": 1},
        {"helo": "mx.example.net"},
        {"debug": True},
        {"tlsverify": True},
        {"starttls": False, "ssltls": True},
        {"defaultfromname": "Ops"},
    ):
        assert rebinding_problems(current, replace(current, **change), given=set()) == {}, change


# --- the JSON --------------------------------------------------------------------------------------


def test_the_json_returns_every_setting_and_says_which_write_only_values_are_set():
    body = smtp_json(smtp(**MICROSOFT, cacert="PEM", tlsmin="1.3", helo="mx.example.net"))
    assert {
        key: body[key]
        for key in (
            "authmech",
            "oauthprovider",
            "oauthtenant",
            "oauthclientid",
            "oauthtokenurl",
            "tlsverify",
            "cacert",
            "tlsmin",
            "helo",
        )
    } == {
        "authmech": "XOAUTH2",
        "oauthprovider": "microsoft",
        "oauthtenant": TENANT,
        "oauthclientid": "app-1",
        "oauthtokenurl": None,
        "tlsverify": True,
        "cacert": "PEM",
        "tlsmin": "1.3",
        "helo": "mx.example.net",
    }
    assert {key: body[key] for key in body if key.startswith("has")} == {
        "hasoauthclientsecret": True,
        "hasoauthrefreshtoken": False,
        "hasoauthserviceaccount": False,
    }
    for internal in ("secretfields", "secret_version", "secretVersion"):
        assert internal not in body
    assert "password" not in json.dumps(smtp_json(smtp()))  # the word itself, as before XOAUTH2
    defaults = smtp_json(smtp())
    assert (defaults["authmech"], defaults["tlsverify"], defaults["tlsmin"]) == ("auto", True, "1.2")
