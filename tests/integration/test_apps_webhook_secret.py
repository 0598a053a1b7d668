"""The app's webhook secret, through apps/save, findById and remove, against moto.

Write-only like a password: in Secrets Manager only (never in the record, a read or a log line), generated
by the save that leaves an app with a webhook URL and no secret and shown in that answer only, settable
(`webhooksecret`, 32 to 256 printable ASCII characters), the record naming the exact version that signs,
and deleted once the app is removed (the apps table's stream).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from smtphub import wiring
from tests.support.api import bad, ok
from tests.support.aws import APPS_TABLE, WEBHOOK_SECRET_PREFIX, Stream
from tests.support.lambdas import ACCOUNT_A, call

HOOK = "https://hooks.example.com/finished"
GIVEN = "s3cr3t-" + "x" * 30


def signing_secret(aws: Any, idapp: str) -> str | None:
    """The secret the webhooks' sender signs with: the version the app's record names, read as it reads it."""
    app = wiring.app_repository().get(ACCOUNT_A, idapp)
    assert app is not None
    if app.webhook_secret_version is None:
        return None
    value = aws.secrets.get_secret_value(
        SecretId=WEBHOOK_SECRET_PREFIX + idapp, VersionId=app.webhook_secret_version
    )
    return str(json.loads(value["SecretString"])["webhooksecret"])


def record(aws: Any, idapp: str) -> str:
    item = aws.dynamodb.get_item(TableName=APPS_TABLE, Key={"iduser": {"S": ACCOUNT_A}, "_id": {"S": idapp}})
    return json.dumps(item["Item"])


def test_the_first_webhook_url_generates_a_secret_shown_once(aws: Any, json_logs: Any) -> None:
    created = ok(call("apps_save", {"name": "Shop", "webhook_sending_finished": HOOK}))
    generated = created["webhooksecret"]
    assert isinstance(generated, str)
    assert len(generated) == 43  # 256 random bits, URL-safe base64
    assert created["haswebhooksecret"] is True
    assert signing_secret(aws, created["_id"]) == generated
    # never again: not in a read, not in the next save's answer, not in the record, not in a log line
    found = ok(call("apps_find_by_id", {"idapp": created["_id"]}))
    assert "webhooksecret" not in found
    assert found["haswebhooksecret"] is True
    edited = ok(call("apps_save", {"idapp": created["_id"], "webhook_sending_error": HOOK}))
    assert edited["webhooksecret"] is None
    assert signing_secret(aws, created["_id"]) == generated  # a new URL keeps the secret
    assert generated not in record(aws, created["_id"])
    assert all(generated not in json.dumps(line) for line in json_logs())


def test_an_app_without_webhooks_has_no_secret_until_its_first_url(aws: Any) -> None:
    created = ok(call("apps_save", {"name": "Quiet"}))
    assert (created["webhooksecret"], created["haswebhooksecret"]) == (None, False)
    assert signing_secret(aws, created["_id"]) is None
    later = ok(call("apps_save", {"idapp": created["_id"], "webhook_tracking_opened": HOOK}))
    assert later["haswebhooksecret"] is True
    assert signing_secret(aws, created["_id"]) == later["webhooksecret"]


def test_a_given_secret_is_used_and_never_echoed(aws: Any, json_logs: Any) -> None:
    created = ok(
        call("apps_save", {"name": "Shop", "webhook_sending_finished": HOOK, "webhooksecret": GIVEN})
    )
    assert (created["webhooksecret"], created["haswebhooksecret"]) == (None, True)
    assert signing_secret(aws, created["_id"]) == GIVEN
    other = "another-secret-" + "y" * 30
    assert ok(call("apps_save", {"idapp": created["_id"], "webhooksecret": other}))["webhooksecret"] is None
    assert signing_secret(aws, created["_id"]) == other
    assert all(GIVEN not in json.dumps(line) and other not in json.dumps(line) for line in json_logs())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x" * 31, "must be 32 to 256 characters"),
        ("x" * 257, "must be 32 to 256 characters"),
        ("x" * 31 + " ", "must be printable ASCII characters without spaces"),
        ("é" * 40, "must be printable ASCII characters without spaces"),
    ],
)
def test_a_weak_or_odd_secret_is_refused_without_echoing_it(aws: Any, value: str, message: str) -> None:
    reply = call("apps_save", {"name": "Shop", "webhooksecret": value})
    assert bad(reply) == {"webhooksecret": message}
    assert value not in reply.text


def test_the_secret_goes_with_its_app(aws: Any) -> None:
    apps_stream = Stream(aws, "AppsTable")
    created = ok(call("apps_save", {"name": "Shop", "webhook_sending_finished": HOOK}))
    assert call("apps_remove", {"idapp": created["_id"]}).status == 200
    apps_stream.drain()
    assert apps_stream.answers == [{"batchItemFailures": []}]
    described = aws.secrets.describe_secret(SecretId=WEBHOOK_SECRET_PREFIX + created["_id"])
    assert "DeletedDate" in described
