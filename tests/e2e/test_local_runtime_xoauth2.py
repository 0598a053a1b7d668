"""`make run`'s demo data: a second server on the sink that authenticates with XOAUTH2, its token from the
runtime's own HTTPS token endpoint (local_runtime/token_endpoint.py), so that a newcomer sees it work."""

from __future__ import annotations

import re

import requests

from tests.support.runtime import Running

TIMEOUT = 30


def xoauth2_server(runtime: Running) -> str:
    found = re.search(
        r"SMTP server ([0-9a-f]{24}) -> the sink \(XOAUTH2, its token from (\S+)\)", runtime.output
    )
    assert found, runtime.output
    return found.group(1)


def test_the_demo_xoauth2_server_is_listed_and_its_check_passes(
    runtime: Running, session: requests.Session
) -> None:
    idsmtp = xoauth2_server(runtime)
    smtp = session.get(
        f"{runtime.api}/private/smtps/findById", params={"idsmtp": idsmtp}, timeout=TIMEOUT
    ).json()
    assert (smtp["authmech"], smtp["oauthprovider"], smtp["hasoauthrefreshtoken"]) == (
        "XOAUTH2",
        "generic",
        True,
    )
    assert smtp["oauthtokenurl"].startswith("https://127.0.0.1:")
    reply = session.post(f"{runtime.api}/private/smtps/check", data={"idsmtp": idsmtp}, timeout=TIMEOUT)
    assert (reply.status_code, reply.text) == (200, "")
    checked = session.get(f"{runtime.api}/private/smtps/findById", params={"idsmtp": idsmtp}, timeout=TIMEOUT)
    assert checked.json()["lastcheck"]["ok"] is True
    assert "demo-refresh-token" not in runtime.output  # the stored secret is never printed


def test_a_wrong_refresh_token_fails_at_token_with_the_provider_s_code(
    runtime: Running, session: requests.Session
) -> None:
    idsmtp = xoauth2_server(runtime)
    edit = {"idsmtp": idsmtp, "oauthrefreshtoken": "not-the-demo-one"}
    assert session.post(f"{runtime.api}/private/smtps/save", data=edit, timeout=TIMEOUT).status_code == 200
    reply = session.post(f"{runtime.api}/private/smtps/check", data={"idsmtp": idsmtp}, timeout=TIMEOUT)
    assert reply.status_code == 406
    assert (reply.json()["stage"], reply.json()["code"]) == ("TOKEN", None)
    assert "(400 invalid_grant)" in reply.json()["message"]
