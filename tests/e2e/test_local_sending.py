"""`make run` with SQS-fed and scheduled functions (issue 24, "Locally and in tests").

Two parts:

- The runtime's machinery, on a copy of template.yaml with a queue-fed function and a scheduled one of
  this test's own (test-only stand-ins: they write what they receive to the template's EmailsBucket; they
  are not the sender). A SAM `SQS` event with BatchSize, a batching window, ReportBatchItemFailures and
  MaximumConcurrency; a queue whose RedrivePolicy sends a message that keeps failing to its DLQ; a
  `ScheduleV2` `rate(1 minute)` shortened by LOCAL_SCHEDULE_SECONDS; the bucket from the template.
- The real path on the real template, with the design's names (emails_send, EmailsSenderFunction):
  tests/e2e/test_local_runtime.py, `test_a_send_from_the_banner_s_session_lands_in_the_sink_within_seconds`
  (on that file's `make run`, so no third runtime starts here).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.runtime import Running, copy_template

TIMEOUT = 10
DELIVERY_BOUND = 15  # seconds: generous (2 CPUs shared); the figure itself is make bench's

STAND_IN = '''"""Test-only stand-ins (tests/e2e/test_local_sending.py): a consumer, a producer."""
import json
import os

import boto3

s3 = boto3.client("s3")
sqs = boto3.client("sqs")


def consume(event, context):
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        seen = {"batch": len(event["Records"]), "receive": record["attributes"]["ApproximateReceiveCount"],
                "source": record["eventSourceARN"]}
        s3.put_object(Bucket=os.environ["BUCKET"], Key="got/" + body["n"], Body=json.dumps(seen).encode())
    return {"batchItemFailures": failures}


def tick(event, context):
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps({"n": "tick", "event": event}))
'''


def _stand_ins(code: Path) -> Any:
    def change(document: dict[str, Any]) -> None:
        resources = document["Resources"]
        resources["StandInQueue"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                # Short, for the redrive test; longer than a busy machine's cold start of the consumer, so
                # that a message is not received again while its first invocation runs (SQS would).
                "VisibilityTimeout": 3,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["StandInDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": 1,
                },
            },
        }
        resources["StandInDeadLetterQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
        resources["StandInConsumerFunction"] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": str(code),
                "Handler": "app.consume",
                "Environment": {"Variables": {"BUCKET": {"Ref": "EmailsBucket"}}},
                "Events": {
                    "Work": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": {"Fn::GetAtt": ["StandInQueue", "Arn"]},
                            "BatchSize": 10,
                            "MaximumBatchingWindowInSeconds": 1,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            "ScalingConfig": {"MaximumConcurrency": 2},
                        },
                    }
                },
            },
        }
        resources["StandInTickFunction"] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": str(code),
                "Handler": "app.tick",
                "Environment": {"Variables": {"QUEUE_URL": {"Ref": "StandInQueue"}}},
                "Events": {
                    "Tick": {
                        "Type": "ScheduleV2",
                        "Properties": {
                            "ScheduleExpression": "rate(1 minute)",
                            "Input": '{"from": "schedule"}',
                        },
                    }
                },
            },
        }

    return change


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Any, Any]]:
    folder = tmp_path_factory.mktemp("stand-ins")
    code = folder / "code"
    code.mkdir()
    (code / "app.py").write_text(STAND_IN)
    path = copy_template(folder, _stand_ins(code))
    running = Running(
        ["--template", str(path), "--port", "0", "--sink-port", "0"],
        env={"LOCAL_SCHEDULE_SECONDS": "1"},
    )
    try:
        running.wait_ready()
        endpoint = re.search(r"AWS        moto on (\S+)", running.output).group(1)  # type: ignore[union-attr]
        options = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        yield running, boto3.client("sqs", **options), boto3.client("s3", **options)
    finally:
        code_ = running.stop()
    assert code_ == 0, running.output[-3000:]


def _queue(sqs: Any, suffix: str) -> str:
    [url] = [u for u in sqs.list_queues()["QueueUrls"] if u.endswith(suffix)]
    return str(url)


def _wait_object(s3: Any, bucket: str, key: str, bound: float) -> dict[str, Any]:
    deadline = time.monotonic() + bound
    while True:
        try:
            found: dict[str, Any] = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            return found
        except s3.exceptions.NoSuchKey:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _bucket(s3: Any) -> str:
    [bucket] = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].endswith("-emailsbucket")]
    return str(bucket)


def test_the_banner_names_the_queue_the_schedule_and_the_bucket_exists(stand_ins: Any) -> None:
    running, _, s3 = stand_ins
    assert (
        "Queue      StandInQueue -> StandInConsumerFunction (batches of 10, window 0.2 s, 2 at once)"
        in running.output
    )
    # The template's own, at its mapping's MaximumConcurrency (HealthWorkerConcurrency)
    health = r"Queue      HealthQueue -> HealthWorkerFunction \(batches of 10, window 0.2 s, \d+ at once\)"
    assert re.search(health, running.output)
    assert (
        "Schedule   StandInTickFunction every 1 s (rate(1 minute); LOCAL_SCHEDULE_SECONDS)" in running.output
    )
    assert (
        "Schedule   HealthSweepFunction every 1 s (rate(5 minutes); LOCAL_SCHEDULE_SECONDS)" in running.output
    )
    assert _bucket(s3) == "smtp-hub-local-emailsbucket"


def test_a_message_reaches_its_function_and_the_function_the_template_s_bucket(stand_ins: Any) -> None:
    _, sqs, s3 = stand_ins
    url = _queue(sqs, "StandInQueue")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": "direct"}))
    seen = _wait_object(s3, _bucket(s3), "got/direct", DELIVERY_BOUND)
    assert seen["receive"] == "1"
    assert seen["source"].endswith(":smtp-hub-local-StandInQueue")


def test_the_scheduled_function_runs_on_its_shortened_schedule_with_its_input(stand_ins: Any) -> None:
    running, _, s3 = stand_ins
    _wait_object(s3, _bucket(s3), "got/tick", DELIVERY_BOUND)
    assert "[schedule]" not in running.output  # no failed run


def test_a_reported_failure_is_redriven_to_the_dead_letter_queue(stand_ins: Any) -> None:
    _, sqs, _ = stand_ins
    sqs.send_message(QueueUrl=_queue(sqs, "StandInQueue"), MessageBody=json.dumps({"fail": True}))
    dlq = _queue(sqs, "StandInDeadLetterQueue")
    deadline = time.monotonic() + DELIVERY_BOUND
    dead: list[Any] = []
    while {"fail": True} not in dead and time.monotonic() < deadline:
        found = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
        dead += [json.loads(m["Body"]) for m in found]
    assert {"fail": True} in dead
