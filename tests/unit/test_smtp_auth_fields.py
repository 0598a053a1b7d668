"""The settings of issue 14 as request fields (smtphub.http.authfields) and in smtps/save's request model:
each type's rules, and a create's cross-field rules for XOAUTH2."""

from __future__ import annotations

from typing import Any

import pytest
import trustme
from pydantic import TypeAdapter
from pydantic import ValidationError as Invalid

from smtphub.errors import InvalidInput
from smtphub.http import authfields as p
from smtphub.http.requests import smtps as r_smtps
from smtphub.smtps.models import CreateSmtp, EditSmtp
from tests.support.oauth_peers import service_account_file

IDAPP = "6741f0a2c3d4e5f6a7b8c9d0"
IDSMTP = "6741f0b7d1e2f3a4b5c6d7e8"
TENANT = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def parser(kind: Any) -> Any:
    return TypeAdapter(kind).validate_python


# --- the fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("auto", "auto"),
        ("AUTO", "auto"),
        ("plain", "PLAIN"),
        ("Login", "LOGIN"),
        ("cram-md5", "CRAM-MD5"),
        ("xoauth2", "XOAUTH2"),
        (" XOAUTH2 ", "XOAUTH2"),
    ],
)
def test_authmech_is_one_of_five_in_any_case(raw, stored):
    assert parser(p.AuthMech)(raw) == stored


@pytest.mark.parametrize("raw", ["DIGEST-MD5", "GSSAPI", "NTLM", "OAUTHBEARER", "plain login", ""])
def test_another_authmech_is_refused_naming_the_choices(raw):
    with pytest.raises(Invalid, match="must be one of auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2"):
        parser(p.AuthMech)(raw)


def test_oauthprovider_is_one_of_three():
    assert [parser(p.OAuthProvider)(raw) for raw in ("Microsoft", "GOOGLE", "generic")] == [
        "microsoft",
        "google",
        "generic",
    ]
    with pytest.raises(Invalid, match="must be one of microsoft, google, generic"):
        parser(p.OAuthProvider)("yahoo")


@pytest.mark.parametrize("raw", [TENANT, TENANT.upper(), "contoso.onmicrosoft.com", "example.com"])
def test_oauthtenant_is_a_tenant_id_or_a_domain(raw):
    assert parser(p.OAuthTenant)(raw) == raw.lower()


@pytest.mark.parametrize(
    "raw", ["common/../x", "a b", "contoso.onmicrosoft.com/oauth2", "%2e%2e", "x?y", "tenant#1", "-bad-.com"]
)
def test_oauthtenant_refuses_what_could_change_the_token_url(raw):
    with pytest.raises(Invalid, match="tenant"):
        parser(p.OAuthTenant)(raw)


def test_oauthclientid_is_visible_ascii_and_bounded():
    assert (
        parser(p.OAuthClientId)(" 1234-abc.apps.googleusercontent.com ")
        == "1234-abc.apps.googleusercontent.com"
    )
    for raw in ("with space", "caf\u00e9", "x" * 257, "tab\there"):
        with pytest.raises(Invalid, match="client id"):
            parser(p.OAuthClientId)(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "https://idp.example.net/oauth2/token",
        "https://idp.example.net:8443/realms/x/protocol/openid-connect/token",
        "https://127.0.0.1/token?tenant=1",
        "https://[2001:db8::1]/token",
    ],
)
def test_oauthtokenurl_is_an_https_url(raw):
    assert parser(p.TokenUrl)(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        "http://idp.example.net/token",
        "ftp://idp.example.net/token",
        "idp.example.net/token",
        "https://user:pw@idp.example.net/token",
        "https://idp.example.net/token#frag",
        "https:///token",
        "https://idp example.net/token",
        "https://idp.example.net:0/token",
        "https://idp.example.net:99999/x",
        "https://" + "a" * 2050 + ".net/",
        "https://idp.example.net/\u00e9",
    ],
)
def test_oauthtokenurl_refuses_anything_else(raw):
    with pytest.raises(Invalid, match="https URL"):
        parser(p.TokenUrl)(raw)


def test_oauth_secrets_are_verbatim_bounded_and_never_echoed():
    assert parser(p.OAuthClientSecret)(" s3cret~ ") == " s3cret~ "
    assert parser(p.OAuthRefreshToken)("1//0g" + "x" * 4000) == "1//0g" + "x" * 4000
    with pytest.raises(Invalid, match="at most 1024") as error:
        parser(p.OAuthClientSecret)("y" * 1025)
    assert "yyyy" not in error.value.errors()[0]["msg"]
    with pytest.raises(InvalidInput) as refused:  # nor in a request's 400, wherever that ends up
        save(idsmtp=IDSMTP, oauthclientsecret="y" * 1025, oauthserviceaccount="{not json")
    assert "yyyy" not in repr(refused.value.fields)
    assert "not json" not in repr(refused.value.fields)
    with pytest.raises(Invalid, match="at most 8192"):
        parser(p.OAuthRefreshToken)("y" * 8193)


def test_oauthserviceaccount_is_a_usable_service_account_file():
    assert parser(p.ServiceAccountKey)(service_account_file()) == service_account_file()
    with pytest.raises(Invalid, match="service_account") as error:
        parser(p.ServiceAccountKey)(service_account_file().replace("service_account", "authorized_user"))
    assert "PRIVATE" not in error.value.errors()[0]["msg"]
    with pytest.raises(Invalid, match="at most 16384"):
        parser(p.ServiceAccountKey)(" " * 16385)


def test_cacert_is_a_bundle_of_certificates_only():
    ca, other = trustme.CA(), trustme.CA()
    bundle = ca.cert_pem.bytes().decode() + other.cert_pem.bytes().decode()
    assert parser(p.CaCert)(bundle) == bundle.strip()
    assert parser(p.CaCert)(bundle.replace("\n", "\r\n")) == bundle.strip()
    leaf = ca.issue_cert("mx.example.net")
    key_and_cert = leaf.private_key_pem.bytes().decode() + leaf.cert_chain_pems[0].bytes().decode()
    for raw, problem in [
        ("not a certificate", "PEM"),
        (key_and_cert, "only certificates"),  # a private key would be stored and shown in clear
        (bundle.replace("MII", "MIX", 1), "cannot be read"),
        (bundle + "trailing words", "only certificates"),
        (bundle * 20, "at most 16384"),
    ]:
        with pytest.raises(Invalid, match=problem) as error:
            parser(p.CaCert)(raw)
        assert "PRIVATE" not in error.value.errors()[0]["msg"]


def test_tlsmin_is_1_2_or_1_3():
    assert [parser(p.TlsMin)(raw) for raw in ("1.2", "1.3", " 1.3 ")] == ["1.2", "1.3", "1.3"]
    for raw in ("1.1", "1.0", "TLSv1.3", "1.4", "13"):
        with pytest.raises(Invalid, match=r"must be 1\.2 or 1\.3"):
            parser(p.TlsMin)(raw)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("mail.example.net", "mail.example.net"),
        ("MX1.Example.NET", "mx1.example.net"),
        ("localhost", "localhost"),
        ("[192.0.2.1]", "[192.0.2.1]"),
        ("192.0.2.1", "[192.0.2.1]"),
        ("2001:db8::1", "[IPv6:2001:db8::1]"),
        ("[IPv6:2001:DB8::1]", "[IPv6:2001:db8::1]"),
    ],
)
def test_helo_is_a_domain_or_an_address_literal(raw, stored):
    assert parser(p.Helo)(raw) == stored


@pytest.mark.parametrize(
    "raw", ["mail example", "mail.example.net\r\nRSET", "-x.net", "a/b", "caf\u00e9.net"]
)
def test_helo_refuses_what_is_neither(raw):
    with pytest.raises(Invalid, match="host name or an address literal"):
        parser(p.Helo)(raw)


# --- the request model ---------------------------------------------------------------------------


def save(**params: str) -> Any:
    return r_smtps.SmtpSave.parse(params)


def problems_of(**params: str) -> dict[str, str]:
    with pytest.raises(InvalidInput) as error:
        save(**params)
    return dict(error.value.fields)


CREATE = {
    "idapp": IDAPP,
    "host": "smtp.office365.com",
    "port": "587",
    "starttls": "true",
    "auth": "true",
    "username": "mailer@example.net",
}


def test_a_create_with_xoauth2_needs_no_password_but_what_its_provider_needs():
    assert problems_of(**CREATE, authmech="XOAUTH2") == {
        "oauthprovider": "is required when authmech is XOAUTH2"
    }
    assert problems_of(**CREATE, authmech="XOAUTH2", oauthprovider="microsoft") == {
        "oauthtenant": "is required with oauthprovider microsoft",
        "oauthclientid": "is required with oauthprovider microsoft",
        "oauthclientsecret": "is required with oauthprovider microsoft",
    }
    assert problems_of(**CREATE, authmech="XOAUTH2", oauthprovider="google") == {
        "oauthserviceaccount": "is required with oauthprovider google, unless oauthclientid, "
        "oauthclientsecret and oauthrefreshtoken are given"
    }
    assert problems_of(**CREATE, authmech="XOAUTH2", oauthprovider="google", oauthclientid="c") == {
        "oauthclientsecret": "is required with oauthprovider google and no oauthserviceaccount",
        "oauthrefreshtoken": "is required with oauthprovider google and no oauthserviceaccount",
    }
    assert problems_of(**CREATE, authmech="XOAUTH2", oauthprovider="generic") == {
        "oauthtokenurl": "is required with oauthprovider generic",
        "oauthclientid": "is required with oauthprovider generic",
        "oauthrefreshtoken": "is required with oauthprovider generic",
    }


def test_a_create_with_each_grant_s_values_is_a_command_carrying_every_secret():
    microsoft = save(
        **CREATE,
        authmech="xoauth2",
        oauthprovider="Microsoft",
        oauthtenant=TENANT,
        oauthclientid="app-1",
        oauthclientsecret="cs~1",
    ).command("acc")
    assert isinstance(microsoft, CreateSmtp)
    assert microsoft.secrets == {"oauthclientsecret": "cs~1"}
    assert (microsoft.fields["authmech"], microsoft.fields["oauthprovider"]) == ("XOAUTH2", "microsoft")
    assert "oauthclientsecret" not in microsoft.fields
    assert "cs~1" not in repr(microsoft)
    google = save(
        **CREATE, authmech="XOAUTH2", oauthprovider="google", oauthserviceaccount=service_account_file()
    ).command("a")
    assert google.secrets == {"oauthserviceaccount": service_account_file()}
    refresh = save(
        **CREATE,
        authmech="XOAUTH2",
        oauthprovider="generic",
        oauthtokenurl="https://idp.example.net/t",
        oauthclientid="c",
        oauthrefreshtoken="rt",
        password="pw",
    ).command("a")
    assert refresh.secrets == {"oauthrefreshtoken": "rt", "password": "pw"}
    assert refresh.password == "pw"


def test_an_edit_carries_only_the_secrets_it_sends_verbatim():
    edit = save(idsmtp=IDSMTP, oauthclientsecret=" new ", defaultfromname="  ", tlsverify="false").command(
        "a"
    )
    assert isinstance(edit, EditSmtp)
    assert edit.secrets == {
        "oauthclientsecret": " new "
    }  # (an empty value never gets here: the edge drops it)
    assert edit.changes == {"tlsverify": False}
