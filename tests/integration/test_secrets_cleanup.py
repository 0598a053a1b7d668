"""SecretsCleanupFunction through its handler, with DynamoDB stream events (local_runtime.events), on moto.

The removed servers' secrets are scheduled for deletion (recoverable); a second delivery of the same
records is harmless; a failing delete is reported in batchItemFailures by its SequenceNumber while the
other secrets are still deleted. A record that names a new secret version has that secret's labels tidied
(AWSCURRENT moved to it), and a failure there is reported too; records that name no new version make no
call.
"""

from __future__ import annotations

import json
from typing import Any

from local_runtime import events, template
from smtphub import wiring
from tests.support.api import (
    Failing,
    NoCalls,
    client_error,
    labels,
    new_app,
    new_smtp,
    ok,
    our_labels,
    pinned_version,
    scheduled_for_deletion,
    secret_names,
    stored,
)
from tests.support.aws import SECRET_PREFIX, Stream
from tests.support.lambdas import LambdaContext, call, load_event

STREAM = events.stream_arn("test-SmtpsTable")
FUNCTION = "functions/secrets_cleanup/"


def removal(idsmtp: str, sequence: int, name: str = "REMOVE") -> dict[str, Any]:
    return events.build_stream_record(name, {"_id": {"S": idsmtp}}, str(sequence), stream_arn=STREAM)


def change(old: dict[str, Any], new: dict[str, Any], sequence: int) -> dict[str, Any]:
    """A MODIFY of one record, both images, as the table's stream hands it over."""
    images = {"OldImage": old, "NewImage": new}
    return events.build_stream_record(
        "MODIFY",
        {"_id": new["_id"]},
        str(sequence),
        stream_arn=STREAM,
        view_type="NEW_AND_OLD_IMAGES",
        images=images,
    )


def handle(records: list[dict[str, Any]]) -> dict[str, Any]:
    from local_runtime.loader import load_handler

    answer: dict[str, Any] = load_handler(FUNCTION)(events.build_stream_event(records), LambdaContext())
    return answer


def make_secret(aws: Any, idsmtp: str) -> None:
    aws.secrets.create_secret(Name=SECRET_PREFIX + idsmtp, SecretString=json.dumps({"password": "pw"}))


IDS = [f"6741f0b7d1e2f3a4b5c6d7{n:02x}" for n in range(5)]


def test_the_sample_event_is_a_removal_the_handler_accepts(aws: Any) -> None:
    event = load_event("secrets_cleanup")
    (record,) = event["Records"]
    assert (record["eventName"], record["eventSource"]) == ("REMOVE", "aws:dynamodb")
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert "secretVersion" in record["dynamodb"]["OldImage"]  # a version's id, never a secret
    idsmtp = record["dynamodb"]["Keys"]["_id"]["S"]
    make_secret(aws, idsmtp)
    from local_runtime.loader import load_handler

    assert load_handler(FUNCTION)(event, LambdaContext()) == {"batchItemFailures": []}
    assert scheduled_for_deletion(aws, idsmtp)


def test_removed_servers_secrets_are_scheduled_for_deletion_and_a_second_run_is_harmless(
    aws: Any, json_logs: Any
) -> None:
    for idsmtp in IDS:
        make_secret(aws, idsmtp)
    records = [removal(idsmtp, 100 + n) for n, idsmtp in enumerate(IDS)]
    assert handle(records) == {"batchItemFailures": []}
    assert all(scheduled_for_deletion(aws, idsmtp) for idsmtp in IDS)
    deleted = [line for line in json_logs() if line["message"] == "secrets cleaned up"]
    assert (deleted[-1]["deleted"], deleted[-1]["doneAlready"], deleted[-1]["failed"]) == (5, 0, 0)
    # the same batch again (Lambda retries, replays): already scheduled counts as done
    assert handle(records) == {"batchItemFailures": []}
    assert all(scheduled_for_deletion(aws, idsmtp) for idsmtp in IDS)
    again = [line for line in json_logs() if line["message"] == "secrets cleaned up"][-1]
    assert (again["deleted"], again["doneAlready"], again["failed"]) == (0, 5, 0)


def test_a_removed_server_without_a_secret_is_done(aws: Any) -> None:
    assert handle([removal(IDS[0], 7)]) == {"batchItemFailures": []}
    assert secret_names(aws) == set()


def test_a_failing_delete_is_reported_and_the_others_are_still_deleted(aws: Any) -> None:
    for idsmtp in IDS:
        make_secret(aws, idsmtp)
    doomed = SECRET_PREFIX + IDS[2]
    wiring.secret_repository()._client = Failing(
        aws.secrets,
        "delete_secret",
        client_error("InternalServiceError", "DeleteSecret"),
        when=lambda kwargs: kwargs["SecretId"] == doomed,
    )
    records = [removal(idsmtp, 100 + n) for n, idsmtp in enumerate(IDS)]
    assert handle(records) == {"batchItemFailures": [{"itemIdentifier": "102"}]}
    assert [scheduled_for_deletion(aws, idsmtp) for idsmtp in IDS] == [True, True, False, True, True]
    wiring.secret_repository()._client = aws.secrets
    assert handle(records[2:]) == {"batchItemFailures": []}  # Lambda's retry, from the failed record on
    assert all(scheduled_for_deletion(aws, idsmtp) for idsmtp in IDS)


def test_only_removals_delete(aws: Any) -> None:
    make_secret(aws, IDS[0])
    records = [removal(IDS[0], 1, "INSERT"), removal(IDS[0], 2, "MODIFY")]
    records.append(events.build_stream_record("REMOVE", {}, "3", stream_arn=STREAM))  # no key: nothing to do
    assert handle(records) == {"batchItemFailures": []}
    assert not scheduled_for_deletion(aws, IDS[0])


def test_end_to_end_through_the_table_stream_and_the_templates_filter(aws: Any, stream: Stream) -> None:
    """Creates and edits reach the stream too; the filter keeps the removals and the changes of records
    that name a secret version (an edit without a password among them: skipped, no call)."""
    idapp = new_app()
    kept = new_smtp(idapp)["_id"]
    gone = new_smtp(idapp)["_id"]
    call("smtps_save", {"idsmtp": kept, "priority": 3})
    assert call("smtps_remove", {"idsmtp": gone}).status == 200
    stream.drain()
    (answer,) = stream.answers  # one batch
    assert answer == {"batchItemFailures": []}
    assert scheduled_for_deletion(aws, gone)
    assert not scheduled_for_deletion(aws, kept)
    stream.drain()
    assert len(stream.answers) == 1  # nothing new: nothing delivered


def test_a_failed_record_is_retried_by_the_local_event_source(aws: Any, stream: Stream) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    wiring.secret_repository()._client = Failing(
        aws.secrets, "delete_secret", client_error("InternalServiceError", "DeleteSecret")
    )
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    stream.drain()
    assert len(stream.answers[-1]["batchItemFailures"]) == 1
    assert not scheduled_for_deletion(aws, idsmtp)
    wiring.secret_repository()._client = aws.secrets
    stream.drain()  # the pending record again
    assert stream.answers[-1] == {"batchItemFailures": []}
    assert scheduled_for_deletion(aws, idsmtp)


def test_the_template_feeds_the_function_from_the_smtps_tables_removals() -> None:
    doc = template.default()
    (source,) = [source for source in template.stream_sources(doc) if source.table == "SmtpsTable"]
    assert source.function == "SecretsCleanupFunction"
    props = source.properties
    assert [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]] == [
        {"eventName": ["REMOVE"]},
        {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"secretVersion": {"S": [{"exists": True}]}}}},
    ]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


# --- labels tidied from the stream (MODIFY) ---------------------------------------------------------------


def edited(aws: Any, stream: Stream) -> tuple[str, str, str]:
    """A server whose create the stream has seen, then an edit with a new password it has not: (id, the
    create's version, the edit's)."""
    idsmtp = new_smtp(new_app())["_id"]
    stream.drain()
    first = pinned_version(aws, idsmtp)
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "edited"}))
    second = pinned_version(aws, idsmtp)
    assert first is not None
    assert second is not None
    return idsmtp, first, second


def test_a_failing_tidy_is_reported_and_retried(aws: Any, stream: Stream, json_logs: Any) -> None:
    idsmtp, first, second = edited(aws, stream)
    wiring.secret_repository()._client = Failing(
        aws.secrets,
        "update_secret_version_stage",
        client_error("ThrottlingException", "UpdateSecretVersionStage"),
    )
    stream.drain()
    (failure,) = stream.answers[-1]["batchItemFailures"]
    (pending,) = stream.poller.pending  # the edit's MODIFY, kept for Lambda's retry
    assert (pending["eventName"], failure["itemIdentifier"]) == (
        "MODIFY",
        pending["dynamodb"]["SequenceNumber"],
    )
    assert "AWSCURRENT" in labels(aws, idsmtp)[first]
    assert our_labels(aws, idsmtp, second)  # nothing lost meanwhile: the version keeps its own label
    lines = json_logs()
    (logged,) = [line for line in lines if line["message"] == "could not tidy the labels of a secret"]
    assert (logged["idsmtp"], logged["sequenceNumber"]) == (idsmtp, failure["itemIdentifier"])
    assert [line["failed"] for line in lines if line["message"] == "secrets cleaned up"][-1] == 1
    wiring.secret_repository()._client = aws.secrets
    stream.drain()  # the retry
    assert stream.answers[-1] == {"batchItemFailures": []}
    assert "AWSCURRENT" in labels(aws, idsmtp)[second]


def test_records_that_name_no_new_version_make_no_call(aws: Any, stream: Stream, json_logs: Any) -> None:
    """A probe's update or an edit without a write-only value: the images name the same version."""
    idsmtp, _, _ = edited(aws, stream)
    stream.drain()
    item = stored(aws, idsmtp)
    assert item is not None
    probed = {**item, "numerrors": {"N": "1"}, "modified": {"S": "2026-12-01T00:00:00.000Z"}}
    record = change(item, probed, 900)
    wiring.secret_repository()._client = NoCalls()
    assert handle([record, record]) == {"batchItemFailures": []}
    tally = [line for line in json_logs() if line["message"] == "secrets cleaned up"][-1]
    assert (tally["unchanged"], tally["adopted"], tally["failed"]) == (2, 0, 0)


def test_a_creates_last_step_keeps_the_label_of_an_edit_racing_it(aws: Any) -> None:
    """The create names its first version without changing `version` (1): an edit that read the record just
    before (no version yet) writes a version under `sh-r1-...` and may win with version 1 as well. Tidying
    after the create's step must not take that label (it may be the record's next version)."""
    idsmtp = new_smtp(new_app())["_id"]
    item = stored(aws, idsmtp)
    assert item is not None
    assert item["version"] == {"N": "1"}
    racing = wiring.secret_repository().put(idsmtp, "racing", base_version=1)
    before = {key: value for key, value in item.items() if key != "secretVersion"}
    record = change(before, item, 901)
    assert handle([record]) == {"batchItemFailures": []}
    assert our_labels(aws, idsmtp, racing)
    assert "AWSCURRENT" in labels(aws, idsmtp)[item["secretVersion"]["S"]]


def test_a_tidy_for_a_removed_servers_secret_is_done(aws: Any, stream: Stream) -> None:
    """Edited, then removed, and the edit's record retried after the removal's: nothing left to tidy."""
    idsmtp, _, _ = edited(aws, stream)
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)
    Stream(aws).drain()  # a replay of the whole stream, the edit's MODIFY before the REMOVE
    assert stream.answers[-1] == {"batchItemFailures": []}
