"""SecretsCleanupFunction through its handler, with DynamoDB stream events (local_runtime.events), on moto.

The removed servers' secrets are scheduled for deletion (recoverable); a second delivery of the same
records is harmless; a failing delete is reported in batchItemFailures by its SequenceNumber while the
other secrets are still deleted; records other than removals are ignored.
"""

from __future__ import annotations

import json
from typing import Any

from local_runtime import events, template
from smtphub import wiring
from tests.support.api import Failing, client_error, new_app, new_smtp, scheduled_for_deletion, secret_names
from tests.support.aws import SECRET_PREFIX, Stream
from tests.support.lambdas import LambdaContext, call, load_event

STREAM = events.stream_arn("test-SmtpsTable")
FUNCTION = "functions/secrets_cleanup/"


def removal(idsmtp: str, sequence: int, name: str = "REMOVE") -> dict[str, Any]:
    return events.build_stream_record(name, {"_id": {"S": idsmtp}}, str(sequence), stream_arn=STREAM)


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


def test_only_removals_are_acted_on(aws: Any) -> None:
    make_secret(aws, IDS[0])
    records = [removal(IDS[0], 1, "INSERT"), removal(IDS[0], 2, "MODIFY")]
    records.append(events.build_stream_record("REMOVE", {}, "3", stream_arn=STREAM))  # no key: nothing to do
    assert handle(records) == {"batchItemFailures": []}
    assert not scheduled_for_deletion(aws, IDS[0])


def test_end_to_end_through_the_table_stream_and_the_templates_filter(aws: Any, stream: Stream) -> None:
    """Creates and edits reach the stream too; the filter keeps the removals only."""
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
    (source,) = template.stream_sources(doc)
    assert (source.function, source.table) == ("SecretsCleanupFunction", "SmtpsTable")
    props = source.properties
    assert [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]] == [
        {"eventName": ["REMOVE"]}
    ]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
