"""events/*.json: what `python -m local_runtime.events` writes, each a request its handler accepts."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from local_runtime import events
from smtphub.http.edge import ACCOUNT_ID_KEY
from tests.support.lambdas import call, load_event

CHECKED_IN = sorted(path.name for path in events.EVENTS_DIR.glob("*.json"))


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("events")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "EVENTS_DIR", folder)
        assert events.main() == 0
    return folder


def test_the_generator_writes_exactly_the_checked_in_files(regenerated: Path) -> None:
    assert sorted(path.name for path in regenerated.glob("*.json")) == CHECKED_IN


@pytest.mark.parametrize("name", CHECKED_IN)
def test_each_checked_in_event_is_what_the_generator_writes(regenerated: Path, name: str) -> None:
    expected = (regenerated / name).read_text()
    assert (events.EVENTS_DIR / name).read_text() == expected, "run: python -m local_runtime.events"


def test_generation_is_stable() -> None:
    """The fixed fields (request id, times) are what keep the files from changing on every run."""
    first, second = events.sample_event("smtps_save"), events.sample_event("smtps_save")
    assert first["requestContext"]["requestId"] == second["requestContext"]["requestId"]


@pytest.mark.parametrize("name", sorted(events.SAMPLES))
def test_private_events_carry_the_authorizers_account_and_public_ones_none(name: str) -> None:
    event = load_event(name)
    context = event["requestContext"]
    if events.SAMPLES[name].get("public"):
        assert "authorizer" not in context
        assert "Authorization" not in event["headers"]
    else:
        assert context["authorizer"][ACCOUNT_ID_KEY] == events.DEMO_ACCOUNT
        assert event["headers"]["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize("name", sorted(events.SAMPLES))
def test_post_bodies_are_forms_as_queuemails_clients_send_them(name: str) -> None:
    event = load_event(name)
    if event["httpMethod"] == "POST" and "body" not in events.SAMPLES[name]:
        # an endpoint without parameters (logout): no body, so nothing to declare a Content-Type for
        assert event["body"] is None
        assert "Content-Type" not in event["headers"]
        assert event["isBase64Encoded"] is False
    elif event["httpMethod"] == "POST":
        assert event["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
        assert event["body"]
        assert event["isBase64Encoded"] is False
    else:
        assert event["body"] is None
        assert event["queryStringParameters"]
        assert {k: [v] for k, v in event["queryStringParameters"].items()} == (
            event["multiValueQueryStringParameters"]
        )


# The backbone's events, as they are, through their handlers: the parameters parse (never a 400, 401 or
# 415); the ids they name do not exist in an empty account, hence the 406s.
OUTCOMES: dict[str, tuple[int, str | None]] = {
    "apps_save": (200, None),
    "apps_find_all": (200, None),
    "apps_find_by_id": (406, "APP_NOT_FOUND"),
    "apps_remove": (406, "APP_NOT_FOUND"),
    "smtps_save": (406, "APP_NOT_FOUND"),
    "smtps_find_by_app": (406, "APP_NOT_FOUND"),
    "smtps_find_by_id": (406, "SMTP_NOT_FOUND"),
    "smtps_remove": (406, "SMTP_NOT_FOUND"),
}


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_each_event_is_a_request_its_handler_accepts(aws: Any, name: str) -> None:
    reply = call(name, event=load_event(name), account=events.DEMO_ACCOUNT)
    status, code = OUTCOMES[name]
    assert reply.status == status, reply.text
    if code:
        assert json.loads(reply.text)["error"] == code


# --- BinaryMediaTypes: which bodies API Gateway hands over base64-encoded ---------------------------------


@pytest.mark.parametrize(
    ("content_type", "binary"),
    [
        ("multipart/form-data; boundary=x1", True),
        ("Multipart/Form-Data ; boundary=x1", True),
        ("application/x-www-form-urlencoded; charset=ISO-8859-1", False),
        ("application/json", False),
        ("multipart/mixed; boundary=x1", False),
        ("", False),
        (None, False),
    ],
)
def test_only_the_templates_binary_media_types_arrive_base64(content_type: str | None, binary: bool) -> None:
    assert events.is_binary(content_type, ["multipart~1form-data"]) is binary


def test_wildcards_in_binary_media_types() -> None:
    assert events.is_binary("image/png", ["image~1*"])
    assert events.is_binary("text/plain", ["*~1*"])
    assert not events.is_binary("text/plain", ["image~1*"])


def test_a_binary_body_arrives_base64_even_when_it_is_valid_utf8() -> None:
    """What the edge reads (smtphub.http.body) must be the bytes sent, whichever way they came."""
    body = b'--b\r\nContent-Disposition: form-data; name="idapp"\r\n\r\nabc\r\n--b--\r\n'
    binary = events.build_event("POST", "/private/apps/save", body=body, binary=True)
    text = events.build_event("POST", "/private/apps/save", body=body)
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == body
    assert text["isBase64Encoded"] is False
    assert text["body"] == body.decode("utf-8")
