"""A property over the endpoints, on moto and a real SMTP peer: whatever text the API accepts can be stored,
then checked, found, listed and removed, without a 5xx.

Issue "Stored SMTP credentials that cannot be read back, crossed or leaked": a value that a save accepted but
a later read, check or list choked on (a 500 on findById, a check that cannot encode its AUTH or From
header) leaves a server nobody can use or remove cleanly. Values are drawn from the whole of Unicode, lone
surrogates included (they reach the API as JSON's "\\ud800" escapes), and go into each text field an
account sets; the check runs against aiosmtpd on 127.0.0.1 (tests.support.smtp_peers), which accepts any
credentials.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtphub import wiring
from tests.support.api import ok
from tests.support.lambdas import Reply, call
from tests.support.smtp_peers import Sink, running_smtpd

EXAMPLES = 150  # about 7 s on an idle machine
# Characters most likely to break something downstream, drawn more often than the whole of Unicode would.
TRICKY = (
    "\r\n\t\x00\x07\x1b\x7f\x85\x9b\u00ad\u200b\u200e\u202e\u2028\u2029\ufeff\U000e0001"
    "\ud800\udbff\udc00\udfff\u00e9\U0001f600 :<>\"'\\"
)
ANY_CHARACTER = st.one_of(
    st.characters(codec=None, exclude_categories=()),  # every assigned and unassigned code point but Cs
    st.integers(0xD800, 0xDFFF).map(chr),  # lone surrogates, which st.characters never draws
    st.sampled_from(TRICKY),
)
# Half the values hold only characters a text field may hold (the contract forbids Cc, Cf, Cs, Zl, Zp), so
# that many get stored; the other half may hold anything.
ALLOWED_CHARACTER = st.characters(codec=None, exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
VALUES = st.one_of(
    st.text(ANY_CHARACTER, max_size=40),
    st.text(ALLOWED_CHARACTER, max_size=40),
    st.text(ALLOWED_CHARACTER, min_size=150, max_size=330),  # about the bounds: names 200, username 320
)
# (function, field): the text fields an account sets.
FIELDS = [
    ("apps_save", "name"),
    ("apps_save", "defaultfromname"),
    ("smtps_save", "username"),
    ("smtps_save", "defaultfromname"),
    ("smtps_save", "password"),
]
NO_5XX = "a 5xx"


def accept_any(server: Any, session: Any, envelope: Any, mechanism: Any, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True, handled=False)


def as_json(function: str, params: dict[str, Any]) -> Reply:
    return call(function, body=json.dumps(params, ensure_ascii=True), content_type="application/json")


def no_5xx(reply: Reply, what: str) -> Reply:
    assert reply.status < 500, f"{what}: {reply.status} {reply.text}"
    return reply


def settings_of(smtp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in smtp.items() if k not in ("lastcheck", "status", "numerrors")}


@pytest.fixture
def sink_port(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The check may reach 127.0.0.1 (as in the local runtime) and is not rate limited here."""
    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("CHECKS_PER_MINUTE", "100000")
    monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "3")
    wiring.reset()
    with running_smtpd(Sink(), authenticator=accept_any) as server:
        yield server.port


def _saved_app(function: str, name: str, value: str, seen: dict[str, int]) -> str | None:
    """An app to hold the server (the value goes into the app when the field is the app's): its id, or
    None when apps/save refused the value (a 400 naming the field, or the name taken: 406)."""
    app = {"name": f"App {time.monotonic_ns()}", "testemail": "ops@example.net"}
    if function == "apps_save":
        app[name] = value
    saved_app = no_5xx(as_json("apps_save", app), "apps/save")
    if function == "apps_save" and saved_app.status != 200:
        body = saved_app.json
        assert body["error"] in ("BAD_REQUEST", "APP_NAME_TAKEN"), saved_app.text
        if body["error"] == "BAD_REQUEST":
            assert set(body["fields"]) == {name}, saved_app.text
        seen["refused"] += 1
        return None
    return str(ok(saved_app)["_id"])


def _server_checked_found_listed_removed(smtp: dict[str, Any], idapp: str, seen: dict[str, int]) -> None:
    # it can be checked (passing or failing, never a 5xx) ...
    checked = no_5xx(call("smtps_check", {"idsmtp": smtp["_id"]}), "smtps/check")
    assert checked.status == 200 or checked.json["error"] == "SMTP_CHECK_FAILED", checked.text
    seen["passed"] += checked.status == 200
    # ... found and listed as stored (the check changes only its own fields), and removed
    found = ok(no_5xx(call("smtps_find_by_id", {"idsmtp": smtp["_id"]}), "smtps/findById"))
    assert found["lastcheck"]["ok"] is (checked.status == 200)
    assert settings_of(found) == settings_of(smtp)
    listed = ok(no_5xx(call("smtps_find_by_app", {"idapp": idapp}), "smtps/findByApp"))
    assert [s["_id"] for s in listed] == [smtp["_id"]]
    assert no_5xx(call("smtps_remove", {"idsmtp": smtp["_id"]}), "smtps/remove").status == 200


def _app_found_listed_removed(idapp: str) -> None:
    assert ok(no_5xx(call("apps_find_by_id", {"idapp": idapp}), "apps/findById"))["_id"] == idapp
    page = ok(no_5xx(call("apps_find_all", {"size": 100}), "apps/findAll"))
    assert idapp in [a["_id"] for a in page["content"]]
    assert no_5xx(call("apps_remove", {"idapp": idapp}), "apps/remove").status == 200


def test_any_accepted_text_can_be_stored_checked_found_listed_and_removed(sink_port: int) -> None:
    server = {
        "host": "127.0.0.1",
        "port": sink_port,
        "auth": True,
        "insecureauth": True,  # AUTH without TLS: the sink has no certificate
        "username": "u",
        "password": "pw",
    }
    seen = {"accepted": 0, "refused": 0, "passed": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(field=st.sampled_from(FIELDS), value=VALUES)
    def stored_then_used(field: tuple[str, str], value: str) -> None:
        function, name = field
        # given: an app to hold the server
        idapp = _saved_app(function, name, value, seen)
        if idapp is None:
            return
        # when: a server is saved with the value (or plain, when the value went into the app)
        params: dict[str, Any] = {**server, "idapp": idapp, "defaultfromemail": "a@example.net"}
        if function == "smtps_save":
            params[name] = value
        saved = no_5xx(as_json("smtps_save", params), "smtps/save")
        if saved.status != 200:
            assert saved.status == 400, saved.text
            assert set(saved.json["fields"]) == {name}, saved.text
            seen["refused"] += 1
        else:
            seen["accepted"] += 1
            # then: it can be checked, found, listed and removed
            _server_checked_found_listed_removed(saved.json, idapp, seen)
        # the app too: found, listed, removed
        _app_found_listed_removed(idapp)

    stored_then_used()
    # both sides of the parser were exercised, and checks did get through AUTH to the message
    assert seen["accepted"] > 0, seen
    assert seen["refused"] > 0, seen
    assert seen["passed"] > 0, seen
