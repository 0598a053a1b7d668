"""`make run`'s SQS event sources (local_runtime.queues) on moto, as Lambda's poller behaves: batches of
BatchSize, the batching window, ReportBatchItemFailures, the redrive to the DLQ, DelaySeconds, the
visibility timeout, MaximumConcurrency. The function is a plain Python callable here (the poller only
needs "invoke, answer or raise"); test_local_runtime_queues.py drives a real runtime."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from local_runtime import queues
from local_runtime.cfn import Resolver


def queue_template(visibility: int) -> dict[str, Any]:
    return {
        "Resources": {
            "WorkQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": {"Fn::Sub": "${AWS::StackName}-work"},
                    "VisibilityTimeout": visibility,
                    "RedrivePolicy": {
                        "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDlq", "Arn"]},
                        "maxReceiveCount": 2,
                    },
                },
            },
            "WorkDlq": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}},
        }
    }


@pytest.fixture
def sqs() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def create(sqs: Any, visibility: int = 30) -> tuple[str, str, str]:
    """The template's two queues created: (work URL, work ARN, DLQ URL)."""
    document = queue_template(visibility)
    resolver = Resolver(document)
    assert queues.create_queues(sqs, document, resolver) == [
        f"queue {resolver.stack_name}-work",
        f"queue {resolver.stack_name}-WorkDlq",
    ]
    return str(resolver.ref("WorkQueue")), resolver.get_att("WorkQueue", "Arn"), str(resolver.ref("WorkDlq"))


@pytest.fixture
def work(sqs: Any) -> tuple[str, str, str]:
    return create(sqs)


def poller(
    sqs: Any, work: tuple[str, str, str], deliver: Callable[[dict[str, Any]], Any], **props: Any
) -> Any:
    workers = props.pop("workers", 1)
    return queues.QueuePoller(
        "WorkQueue -> Function", sqs, work[0], work[1], deliver, properties=props, workers=workers
    )


def send(sqs: Any, url: str, count: int, **options: Any) -> list[str]:
    return [
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}), **options)["MessageId"]
        for n in range(count)
    ]


def waiting(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_batches_of_batch_size_as_lambda_records_and_deleted_once_delivered(sqs, work):
    events: list[dict[str, Any]] = []
    source = poller(sqs, work, events.append, BatchSize=4, MaximumBatchingWindowInSeconds=5)
    send(sqs, work[0], 6)
    assert source.window == queues.DEFAULT_WINDOW_CAP  # 5 s shortened locally
    assert source.poll() == 4
    assert source.poll() == 2
    assert source.poll() == 0
    assert [len(event["Records"]) for event in events] == [4, 2]
    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == work[1]
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert int(record["attributes"]["SentTimestamp"]) > 0
    assert sorted(json.loads(r["body"])["n"] for e in events for r in e["Records"]) == list(range(6))
    assert waiting(sqs, work[0]) == 0


def test_reported_item_failures_stay_and_the_rest_are_deleted(sqs):
    work = create(sqs, visibility=0)  # the failure visible again at once
    ids = send(sqs, work[0], 3)
    source = poller(
        sqs,
        work,
        lambda event: {"batchItemFailures": [{"itemIdentifier": ids[1]}]},
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert source.poll() == 2
    left = sqs.receive_message(QueueUrl=work[0], MaxNumberOfMessages=10)["Messages"]
    assert [m["MessageId"] for m in left] == [ids[1]]


def test_without_report_batch_item_failures_an_answer_naming_failures_deletes_all(sqs, work):
    ids = send(sqs, work[0], 2)
    source = poller(sqs, work, lambda event: {"batchItemFailures": [{"itemIdentifier": ids[0]}]})
    assert source.poll() == 2
    assert waiting(sqs, work[0]) == 0


@pytest.mark.parametrize("failure", [{"itemIdentifier": "not-in-the-batch"}, {"itemIdentifier": ""}, {}])
def test_an_answer_naming_an_unknown_or_empty_item_fails_the_whole_batch(sqs, work, failure):
    send(sqs, work[0], 2)
    source = poller(
        sqs,
        work,
        lambda event: {"batchItemFailures": [failure]},
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert source.poll() == 0
    assert waiting(sqs, work[0]) == 2


def test_a_failed_invocation_leaves_the_batch_then_the_redrive_moves_it_to_the_dlq(sqs):
    work = create(sqs, visibility=0)
    printed: list[str] = []
    calls: list[str] = []

    def fails(event: dict[str, Any]) -> Any:
        calls.append(event["Records"][0]["attributes"]["ApproximateReceiveCount"])
        raise RuntimeError("Function timed out")

    [message] = send(sqs, work[0], 1)
    source = queues.QueuePoller(
        "WorkQueue -> Function", sqs, work[0], work[1], fails, properties={}, workers=1, log=printed.append
    )
    assert source.poll() == 0
    assert source.poll() == 0  # VisibilityTimeout 0: back at once
    assert source.poll() == 0  # received maxReceiveCount (2) times: moved to the DLQ instead
    assert calls == ["1", "2"]
    assert "the function failed (Function timed out); 1 message(s) back on the queue" in printed[0]
    [dead] = sqs.receive_message(QueueUrl=work[2], MaxNumberOfMessages=10)["Messages"]
    assert dead["MessageId"] == message
    assert waiting(sqs, work[0]) == 0


def test_the_visibility_timeout_holds_a_failed_batch(sqs):
    url = sqs.create_queue(QueueName="slow", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    calls: list[Any] = []

    def fails(event: dict[str, Any]) -> Any:
        calls.append(event)
        raise RuntimeError("boom")

    send(sqs, url, 1)
    source = queues.QueuePoller("slow", sqs, url, arn, fails, properties={}, workers=1)
    assert source.poll() == 0
    assert source.poll() == 0
    assert len(calls) == 1  # invisible for 60 s
    assert waiting(sqs, url) == 1


def test_delay_seconds_are_honoured(sqs, work):
    events: list[dict[str, Any]] = []
    source = poller(sqs, work, events.append)
    send(sqs, work[0], 1, DelaySeconds=1)
    assert source.poll() == 0
    time.sleep(1.1)
    assert source.poll() == 1


def test_the_window_gathers_a_batch_sent_in_pieces(sqs, work):
    events: list[dict[str, Any]] = []
    source = queues.QueuePoller(
        "w",
        sqs,
        work[0],
        work[1],
        events.append,
        properties={"BatchSize": 10, "MaximumBatchingWindowInSeconds": 5},
        workers=1,
        window_cap=2,
    )
    send(sqs, work[0], 1)
    later = threading.Timer(0.3, lambda: send(sqs, work[0], 9))
    later.start()
    try:
        assert source.poll(wait=1) == 10
    finally:
        later.join()
    assert [len(event["Records"]) for event in events] == [10]


def test_batches_in_flight_are_bounded_by_maximum_concurrency(sqs, work):
    current, seen, lock = [0], [0], threading.Lock()

    def slow(event: dict[str, Any]) -> Any:
        with lock:
            current[0] += 1
            seen[0] = max(seen[0], current[0])
        time.sleep(0.2)
        with lock:
            current[0] -= 1

    props = {"BatchSize": 1, "ScalingConfig": {"MaximumConcurrency": 3}}
    assert queues.workers_of(props, 4) == 3
    assert queues.workers_of({"BatchSize": 1}, 4) == 4  # without it: the function's own concurrency
    source = poller(sqs, work, slow, BatchSize=1, workers=queues.workers_of(props, 4))
    send(sqs, work[0], 12)
    source.start()
    try:
        deadline = time.monotonic() + 20
        while source.delivered < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        source.stop()
    assert source.delivered == 12
    assert seen[0] == 3
    assert source.most_in_flight == 3


def test_window_setting():
    assert queues.window_cap(None) == 0.2
    assert queues.window_cap("0") == 0
    assert queues.window_cap("1.5") == 1.5
    for bad in ("-1", "soon"):
        with pytest.raises(ValueError, match="LOCAL_BATCH_WINDOW_SECONDS"):
            queues.window_cap(bad)


def test_new_consumers_in_the_template_are_found_queues_and_the_emails_table_s_stream():
    """What the sender and a stream consumer of EmailsTable will declare is found with no runtime change."""
    from local_runtime import template

    document = template.load()  # a copy of its own: template.default() is shared by every test
    declared = {(s.name, s.function, s.queue) for s in template.queue_sources(document)}
    resources = document["Resources"]
    resources["ExtraQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    function = {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "functions/x/"}}
    resources["SenderFunction"] = {
        **function,
        "Properties": {
            "Events": {
                "Send": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["ExtraQueue", "Arn"]}}}
            }
        },
    }
    resources["MappedFunction"] = function
    resources["MappedQueue"] = {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "FunctionName": {"Ref": "MappedFunction"},
            "EventSourceArn": {"Fn::GetAtt": "ExtraQueue.Arn"},
        },
    }
    resources["EmailsStream"] = {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "FunctionName": {"Ref": "MappedFunction"},
            "EventSourceArn": {"Fn::GetAtt": ["EmailsTable", "StreamArn"]},
        },
    }
    found = {(s.name, s.function, s.queue) for s in template.queue_sources(document)}
    assert ("HealthWorkerQueue", "HealthWorkerFunction", "HealthQueue") in declared
    assert found == declared | {
        ("SenderFunctionSend", "SenderFunction", "ExtraQueue"),
        ("MappedQueue", "MappedFunction", "ExtraQueue"),
    }
    streams = {(s.name, s.function, s.table) for s in template.stream_sources(document)}
    assert ("EmailsStream", "MappedFunction", "EmailsTable") in streams
    assert document["Resources"]["EmailsTable"]["Properties"]["StreamSpecification"]  # so moto gives it one
