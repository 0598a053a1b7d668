"""Passwords through smtps/save and smtps/remove, on moto: Secrets Manager only, and in the right order.

A password is never answered, stored in DynamoDB or logged; it is one tagged secret under the prefix, and
the record names the exact version that holds it (`secretVersion`). Across DynamoDB and Secrets Manager, a
failure half way never leaves a record naming a missing secret, nor a secret nothing will clean up. The
AWS calls each request makes are counted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from smtphub import wiring
from smtphub.smtps.models import Smtp
from tests.support.api import (
    MISSING_APP,
    PASSWORD,
    SERVER,
    Failing,
    NoCalls,
    client_error,
    error,
    items,
    labels,
    new_app,
    new_smtp,
    ok,
    our_labels,
    password_a_check_reads,
    pinned_password,
    pinned_version,
    scheduled_for_deletion,
    secret,
    secret_names,
    settle,
    stored,
    version_password,
    versions_by_password,
)
from tests.support.aws import SECRET_PREFIX, Stream
from tests.support.lambdas import ACCOUNT_A, call

# --- passwords ----------------------------------------------------------------------------------------


def everything_logged(captured_logs: Any, caplog: Any, json_logs: Any) -> str:
    """Every log line in every form: stdout, stderr, logging records with their extras, Powertools' JSON."""
    records = "".join(repr(vars(record)) for record in caplog.records)
    return captured_logs() + records + json.dumps(json_logs())


def test_passwords_are_never_answered_stored_in_dynamodb_or_logged(
    aws: Any, captured_logs: Any, caplog: Any, json_logs: Any
) -> None:
    second = "Second-pa55word-also-hidden"
    idapp = new_app()
    replies = []
    created = call("smtps_save", {**SERVER, "idapp": idapp})
    idsmtp = created.json["_id"]
    replies += [
        created,
        call("smtps_save", body=json.dumps({**SERVER, "idapp": idapp}), content_type="application/json"),
        call("smtps_save", {"idsmtp": idsmtp, "password": second, "port": 2525}),
        call("smtps_find_by_id", {"idsmtp": idsmtp}),
        call("smtps_find_by_app", {"idapp": idapp}),
        call("smtps_save", {"idsmtp": idsmtp, "password": second, "port": "bad"}),  # a 400 with a password
        call("smtps_save", {**SERVER, "idapp": MISSING_APP}),  # a 406 with a password
        call("smtps_remove", {"idsmtp": idsmtp}),
    ]
    for reply in replies:
        assert PASSWORD not in reply.text
        assert second not in reply.text
        assert "password" not in reply.text.replace('"password":"is required when auth is true"', "")
    for item in items(aws):
        assert "password" not in {name.lower() for name in item}
        assert PASSWORD not in json.dumps(item)
    logs = everything_logged(captured_logs, caplog, json_logs)
    assert "smtp created" in logs  # the capture does see the service's lines
    assert PASSWORD not in logs
    assert second not in logs


def test_a_password_is_one_tagged_secret_under_the_prefix(aws: Any) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    assert secret_names(aws) == {SECRET_PREFIX + idsmtp}
    described = aws.secrets.describe_secret(SecretId=SECRET_PREFIX + idsmtp)
    tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
    assert tags == {"smtp-hub:smtp": idsmtp, "smtp-hub:app": idapp, "smtp-hub:owner": ACCOUNT_A}
    assert PASSWORD not in described.get("Description", "")
    assert secret(aws, idsmtp) == PASSWORD
    (item,) = items(aws)
    # the record names the version that holds its password (the secret's only one, AWSCURRENT)
    assert item["secretVersion"] == {"S": versions_by_password(aws, idsmtp)[PASSWORD]}
    assert pinned_password(aws, idsmtp) == PASSWORD


def test_passwords_are_logged_by_nothing_even_at_debug_level_while_reading_them(
    aws: Any, captured_logs: Any, caplog: Any, json_logs: Any
) -> None:
    """botocore logs whole request and response bodies at DEBUG: reading a secret must not write it out."""
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    version = pinned_version(aws, idsmtp)
    assert version is not None
    assert wiring.secret_repository().read(idsmtp, version) == {"password": PASSWORD}
    assert PASSWORD not in everything_logged(captured_logs, caplog, json_logs)


# --- write order across DynamoDB and Secrets Manager ------------------------------------------------


def test_a_failing_secret_create_leaves_no_server(aws: Any, json_logs: Any) -> None:
    """Record first (naming no secret version), then the secret: the secret failing deletes the record."""
    idapp = new_app()
    repo = wiring.secret_repository()
    repo._client = Failing(aws.secrets, "create_secret", client_error("InternalServiceError", "CreateSecret"))
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 500, "INTERNAL_ERROR")
    assert items(aws) == []
    assert secret_names(aws) == set()
    assert ok(call("smtps_find_by_app", {"idapp": idapp})) == []
    assert any(line["message"] == "unexpected error" for line in json_logs())


def test_a_failing_secret_update_leaves_the_server_as_it_was(aws: Any) -> None:
    idapp = new_app()
    created = new_smtp(idapp)
    repo = wiring.secret_repository()
    repo._client = Failing(
        aws.secrets, "put_secret_value", client_error("InternalServiceError", "PutSecretValue")
    )
    error(
        call("smtps_save", {"idsmtp": created["_id"], "password": "new-one", "port": 25}),
        500,
        "INTERNAL_ERROR",
    )
    assert ok(call("smtps_find_by_id", {"idsmtp": created["_id"]})) == created
    assert secret(aws, created["_id"]) == PASSWORD
    assert pinned_password(aws, created["_id"]) == PASSWORD


def test_a_refused_transaction_leaves_no_record_and_no_secret(aws: Any) -> None:
    """The app is gone: the transaction's condition refuses the create (406) before any secret exists."""
    idapp = new_app()
    assert call("apps_remove", {"idapp": idapp}).status == 200
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 406, "APP_NOT_FOUND")
    assert items(aws) == []
    assert secret_names(aws) == set()


def test_a_failing_transaction_leaves_no_secret(aws: Any) -> None:
    idapp = new_app()
    service = wiring.smtp_service()
    service.smtps.client = Failing(
        aws.dynamodb, "transact_write_items", client_error("InternalServerError", "TransactWriteItems")
    )
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 500, "INTERNAL_ERROR")
    assert items(aws) == []
    assert secret_names(aws) == set()


def create_with_the_last_step_failing(aws: Any) -> str:
    """A create with a password whose last step (secretVersion set) fails: its record and secret stay."""
    idapp = new_app()
    service = wiring.smtp_service()
    service.smtps.client = Failing(
        aws.dynamodb, "update_item", client_error("InternalServerError", "UpdateItem")
    )
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 500, "INTERNAL_ERROR")
    service.smtps.client = aws.dynamodb
    (item,) = items(aws)
    return str(item["_id"]["S"])


def test_a_crash_after_the_secret_leaves_a_record_without_password_whose_removal_cleans_the_secret(
    aws: Any, stream: Stream
) -> None:
    """The last step (secretVersion set) fails: the record says it has no password, never the opposite; its
    secret is named after it, and goes when the record does."""
    idsmtp = create_with_the_last_step_failing(aws)
    assert "secretVersion" not in stored(aws, idsmtp)  # type: ignore[operator]
    assert pinned_password(aws, idsmtp) is None
    assert secret_names(aws) == {SECRET_PREFIX + idsmtp}
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)


def test_an_edit_after_a_crash_reuses_the_secret_left_behind(aws: Any) -> None:
    """CreateSecret finds the secret an earlier failure left (named after this server): it stores a new
    version of it instead."""
    idsmtp = create_with_the_last_step_failing(aws)
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "second-try"}))
    assert secret(aws, idsmtp) == "second-try"
    version = versions_by_password(aws, idsmtp)["second-try"]
    assert stored(aws, idsmtp)["secretVersion"] == {"S": version}  # type: ignore[index]
    assert pinned_password(aws, idsmtp) == "second-try"


def test_a_server_removed_during_its_create_leaves_no_secret(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removed between its record and its secret (the stream's cleanup found no secret yet): the create
    answers SMTP_NOT_FOUND and deletes the secret it made itself."""
    idapp = new_app()
    service = wiring.smtp_service()
    real_create = service.secrets.create

    def removed_first(smtp: Smtp, password: str) -> str:
        assert call("smtps_remove", {"idsmtp": smtp.id}).status == 200
        return real_create(smtp, password)

    monkeypatch.setattr(service.secrets, "create", removed_first)
    error(call("smtps_save", {**SERVER, "idapp": idapp}), 406, "SMTP_NOT_FOUND")
    assert items(aws) == []
    (name,) = secret_names(aws)
    assert scheduled_for_deletion(aws, name.removeprefix(SECRET_PREFIX))


def test_a_failing_record_write_that_adds_a_password_leaves_the_secret_to_the_record(
    aws: Any, stream: Stream
) -> None:
    """The secret stays (named after the record, which still says it has none) and goes with the record."""
    idapp = new_app()
    relay = new_smtp(idapp, auth="false", username=None, password=None)
    service = wiring.smtp_service()
    service.smtps.client = Failing(
        aws.dynamodb, "update_item", client_error("InternalServerError", "UpdateItem")
    )
    error(call("smtps_save", {"idsmtp": relay["_id"], "password": "pw", "port": 25}), 500, "INTERNAL_ERROR")
    service.smtps.client = aws.dynamodb
    assert ok(call("smtps_find_by_id", {"idsmtp": relay["_id"]})) == relay
    assert "secretVersion" not in stored(aws, relay["_id"])  # type: ignore[operator]
    assert secret_names(aws) == {SECRET_PREFIX + relay["_id"]}
    assert call("smtps_remove", {"idsmtp": relay["_id"]}).status == 200
    stream.drain()
    assert scheduled_for_deletion(aws, relay["_id"])


def test_remove_makes_no_secrets_manager_call(aws: Any, stream: Stream) -> None:
    """One conditional DeleteItem; the secret is the stream's business."""
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    wiring.secret_repository()._client = NoCalls()
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    assert items(aws) == []
    assert not scheduled_for_deletion(aws, idsmtp)
    wiring.secret_repository()._client = aws.secrets
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)


def test_calls_per_request(aws: Any, aws_calls: list[str]) -> None:
    """The request path, then the stream's (SecretsCleanupFunction, shortly after): a password edit makes
    3 calls in the request; its labels are tidied from the stream."""
    idapp = new_app()
    aws_calls.clear()
    idsmtp = new_smtp(idapp)["_id"]
    assert aws_calls == ["TransactWriteItems", "CreateSecret", "UpdateItem"]
    aws_calls.clear()
    settle(aws)
    assert aws_calls == ["DescribeSecret"]  # the create's first version is AWSCURRENT already
    aws_calls.clear()
    relay = new_smtp(idapp, auth="false", username=None, password=None)["_id"]
    assert aws_calls == ["TransactWriteItems"]  # the app's check is a step of the transaction
    aws_calls.clear()
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "new"}))
    # the new version under its own label, the record naming it: nothing else in the request
    assert aws_calls == ["GetItem", "PutSecretValue", "UpdateItem"]
    aws_calls.clear()
    settle(aws)
    assert aws_calls == ["DescribeSecret", "UpdateSecretVersionStage"]  # AWSCURRENT moved to it (adopt)
    aws_calls.clear()
    ok(call("smtps_save", {"idsmtp": relay, "password": "first"}))
    assert aws_calls == ["GetItem", "CreateSecret", "UpdateItem"]
    aws_calls.clear()
    settle(aws)
    assert aws_calls == ["DescribeSecret"]  # a first secret is AWSCURRENT from the start: nothing to move
    aws_calls.clear()
    ok(call("smtps_save", {"idsmtp": idsmtp, "priority": 3}))
    assert aws_calls == ["GetItem", "UpdateItem"]
    aws_calls.clear()
    settle(aws)
    assert aws_calls == []  # secretVersion as it was: the stream's record makes no call
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    assert aws_calls == ["GetItem", "TransactWriteItems"]  # its app, then deleted with its quota slots
    aws_calls.clear()
    settle(aws)
    assert aws_calls == ["DeleteSecret"]


# --- labels: set in the request, tidied from the stream ---------------------------------------------------


def test_right_after_an_edit_the_pinned_version_holds_the_new_password_under_its_own_label(aws: Any) -> None:
    """Before the stream reaches the cleanup, nothing but the edit's own label keeps its version: that is
    enough (Secrets Manager only purges unlabelled versions), and a check already reads the new password."""
    idsmtp = new_smtp(new_app())["_id"]
    settle(aws)
    first = pinned_version(aws, idsmtp)
    assert first is not None
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "new-password"}))
    version = pinned_version(aws, idsmtp)
    assert version is not None
    assert version != first
    assert version_password(aws, idsmtp, version) == "new-password"
    assert password_a_check_reads(idsmtp) == "new-password"
    # its own label, numbered after the record version it edited (1); AWSCURRENT has not moved yet
    (label,) = our_labels(aws, idsmtp, version)
    assert label.startswith("sh-r1-")
    assert labels(aws, idsmtp) == {first: ["AWSCURRENT"], version: [label]}


def test_the_stream_moves_awscurrent_and_removes_stale_labels(aws: Any) -> None:
    """Two edits, and a third that died between its secret write and its record write (its label stays until
    a later edit's record supersedes it): the stream leaves AWSCURRENT on the newest record's version and
    none of our labels on any other."""
    idsmtp = new_smtp(new_app())["_id"]
    settle(aws)
    first = pinned_version(aws, idsmtp)
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "second"}))
    crashed = wiring.secret_repository().put(idsmtp, "crashed", base_version=2)  # never named by a record
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "third"}))
    version = versions_by_password(aws, idsmtp)
    assert all(our_labels(aws, idsmtp, version[pw]) for pw in ("second", "crashed", "third"))
    assert "AWSCURRENT" in labels(aws, idsmtp)[first or ""]

    settle(aws)

    assert pinned_password(aws, idsmtp) == "third"  # labelled, and AWSCURRENT
    assert version["crashed"] == crashed
    stages = labels(aws, idsmtp)
    assert "AWSCURRENT" in stages[version["third"]]
    assert our_labels(aws, idsmtp, version["third"])  # its own label stays while the record names it
    for stale in (first or "", version["second"], crashed):
        assert "AWSCURRENT" not in stages.get(stale, [])
        assert our_labels(aws, idsmtp, stale) == []


def test_a_change_that_names_no_new_version_makes_no_secrets_manager_call(aws: Any) -> None:
    """Edits without a write-only value (and the health probes' updates) reach the cleanup too, since the
    filter only sees that the record names a version: it skips them without a call."""
    idsmtp = new_smtp(new_app())["_id"]
    settle(aws)
    before = labels(aws, idsmtp)
    ok(call("smtps_save", {"idsmtp": idsmtp, "priority": 7}))
    ok(call("smtps_save", {"idsmtp": idsmtp, "defaultfromname": "Ops"}))
    wiring.secret_repository()._client = NoCalls()
    answers = settle(aws)
    wiring.secret_repository()._client = aws.secrets
    assert answers[-1] == {"batchItemFailures": []}
    assert labels(aws, idsmtp) == before
