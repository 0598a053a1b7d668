"""SQS on moto, and the template's SQS event sources polled into their functions as Lambda polls them.

- `create_queues`: every AWS::SQS::Queue of the template in moto with its attributes (VisibilityTimeout,
  DelaySeconds, MessageRetentionPeriod, ReceiveMessageWaitTimeSeconds, MaximumMessageSize, FIFO), then the
  RedrivePolicy of each (its dead-letter queue's ARN exists by then). `!Ref` is the queue's URL,
  `!GetAtt .Arn` its ARN. moto honours the visibility timeout, a message's or the queue's DelaySeconds and
  the redrive (a message received `maxReceiveCount` times moves to the DLQ at the next receive, as SQS).
- `QueuePoller`: one per SAM `SQS` event or AWS::Lambda::EventSourceMapping on a queue. Up to
  `ScalingConfig.MaximumConcurrency` pollers at once (without it, the function's concurrency: its
  ReservedConcurrentExecutions or LOCAL_CONCURRENCY), each long-polling the queue, gathering up to
  `BatchSize` messages for at most `MaximumBatchingWindowInSeconds` (shortened locally to
  LOCAL_BATCH_WINDOW_SECONDS, 0.2 s, so a message reaches its function within a second), and invoking the
  function with Lambda's SQS event. What Lambda does with the answer: with `ReportBatchItemFailures`, the
  reported messages stay on the queue and the rest are deleted (an answer naming an unknown or empty
  itemIdentifier fails the whole batch, as in AWS); without it, all are deleted. An invocation that raises
  or times out leaves the whole batch, received again after the queue's visibility timeout.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from local_runtime import template
from local_runtime.cfn import Resolver

DEFAULT_WINDOW_CAP = 0.2
LONG_POLL_SECONDS = 1
_ATTRIBUTES = (
    "VisibilityTimeout",
    "DelaySeconds",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
    "FifoQueue",
    "ContentBasedDeduplication",
)
Deliver = Callable[[dict[str, Any]], Any]  # invokes the function; raises when the invocation failed


def _attribute(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def create_queues(sqs: Any, document: Mapping[str, Any], resolver: Resolver) -> list[str]:
    """The template's queues in moto with their attributes; URLs and ARNs recorded for !Ref and !GetAtt."""
    created, redrives = [], {}
    for name, resource in template.resources(dict(document), "AWS::SQS::Queue").items():
        if resource.get("Condition") and not resolver.condition(str(resource["Condition"])):
            continue
        raw = dict(resource.get("Properties") or {})
        if "RedrivePolicy" in raw:
            redrives[name] = raw.pop("RedrivePolicy")
        props = resolver.resolve(raw)
        queue = str(props.get("QueueName") or f"{resolver.stack_name}-{name}")
        attributes = {key: _attribute(props[key]) for key in _ATTRIBUTES if key in props}
        url = sqs.create_queue(QueueName=queue, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.physical[name] = url
        resolver.attributes.update({(name, "Arn"): arn, (name, "QueueName"): queue})
        created.append(f"queue {queue}")
    for name, policy in redrives.items():
        resolved = resolver.resolve(policy)
        text = resolved if isinstance(resolved, str) else json.dumps(resolved)
        sqs.set_queue_attributes(QueueUrl=resolver.physical[name], Attributes={"RedrivePolicy": text})
    return created


def window_cap(text: str | None) -> float:
    """LOCAL_BATCH_WINDOW_SECONDS: unset for 0.2, else seconds of at least 0."""
    if text is None or not text.strip():
        return DEFAULT_WINDOW_CAP
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"LOCAL_BATCH_WINDOW_SECONDS must be seconds of at least 0, not {text!r}")
    return value


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A message as ReceiveMessage answers it (AttributeNames All) made into the record Lambda hands over."""
    attributes = message.get("Attributes") or {}
    body = str(message.get("Body", ""))
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {
            key: str(attributes[key])
            for key in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
                "MessageGroupId",
                "MessageDeduplicationId",
                "SequenceNumber",
            )
            if key in attributes
        },
        "messageAttributes": {
            key: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType"),
            }
            for key, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or _md5(body),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(answer: Any, ids: Sequence[str]) -> set[str]:
    """The messages ReportBatchItemFailures leaves on the queue: those the answer names, or every message
    when the answer names one that is empty or not in the batch (Lambda fails the whole batch then)."""
    items = (answer or {}).get("batchItemFailures") if isinstance(answer, Mapping) else None
    if not items:
        return set()
    named = {item.get("itemIdentifier") if isinstance(item, Mapping) else None for item in items}
    return {str(name) for name in named} if named <= set(ids) else set(ids)


class QueuePoller:
    """One SQS event source: `workers` threads receiving batches from one queue into one function."""

    def __init__(
        self,
        name: str,
        client: Any,
        url: str,
        arn: str,
        deliver: Deliver,
        *,
        properties: Mapping[str, Any],
        workers: int,
        window_cap: float = DEFAULT_WINDOW_CAP,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.client = client
        self.url = url
        self.arn = arn
        self.deliver = deliver
        self.batch_size = int(properties.get("BatchSize", 10))
        self.window = min(float(properties.get("MaximumBatchingWindowInSeconds", 0)), window_cap)
        self.reports_failures = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self.workers = max(1, workers)
        self.log = log or (lambda line: None)
        self.region = arn.split(":")[3] if arn.count(":") >= 5 else "us-east-1"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.delivered = 0

    def start(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"sqs-{self.name}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=LONG_POLL_SECONDS + 5)
        self._threads = []

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll(LONG_POLL_SECONDS)
            except Exception as error:  # moto gone at shutdown, or a bug: say it and go on
                if self._stop.is_set():
                    return
                self.log(f"[sqs] {self.name}: {type(error).__name__}: {error}")
                self._stop.wait(1)

    def _receive(self, wait: int, count: int) -> list[dict[str, Any]]:
        answer = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(count, 10)),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def batch(self, wait: int) -> list[dict[str, Any]]:
        """Up to BatchSize messages: the first receive long-polls `wait` s, then the window gathers more."""
        messages = self._receive(wait, self.batch_size)
        deadline = time.monotonic() + self.window
        while messages and len(messages) < self.batch_size and time.monotonic() < deadline:
            known = {m["MessageId"] for m in messages}  # a visibility timeout of 0 hands one back at once
            more = [
                m for m in self._receive(0, self.batch_size - len(messages)) if m["MessageId"] not in known
            ]
            messages += more
            if not more:
                self._stop.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        return messages

    def poll(self, wait: int = 0) -> int:
        """One batch received and delivered (also called by the tests). Returns how many were delivered."""
        messages = self.batch(wait)
        if not messages:
            return 0
        event = {"Records": [lambda_record(m, self.arn, self.region) for m in messages]}
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            answer = self.deliver(event)
        except Exception as error:
            self.log(
                f"[sqs] {self.name}: the function failed ({error}); {len(messages)} message(s) back on the "
                "queue after its visibility timeout"
            )
            return 0
        finally:
            with self._lock:
                self.in_flight -= 1
        failed = failed_ids(answer, [m["MessageId"] for m in messages]) if self.reports_failures else set()
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.client.delete_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                    for index, m in enumerate(done[start : start + 10])
                ],
            )
        self.delivered += len(done)
        return len(done)


def workers_of(properties: Mapping[str, Any], function_concurrency: int) -> int:
    """Concurrent batches of one event source: ScalingConfig.MaximumConcurrency, else the function's."""
    scaling = properties.get("ScalingConfig") or {}
    maximum = scaling.get("MaximumConcurrency") if isinstance(scaling, Mapping) else None
    return int(maximum) if maximum else function_concurrency


def pollers(runtime: Any, deliver: Callable[[Any], Deliver], cap: float, log: Any) -> list[QueuePoller]:
    """A poller per enabled SQS event source of a started LocalRuntime whose function and queue exist."""
    found = []
    client = runtime.aws.client("sqs")
    for source in template.queue_sources(runtime.document):
        if source.condition and not runtime.resolver.condition(source.condition):
            continue
        if source.function not in runtime.functions or source.queue not in runtime.resolver.physical:
            continue
        properties = runtime.resolver.resolve(source.properties)
        if properties.get("Enabled", True) in (False, "false"):
            continue
        function = runtime.functions[source.function]
        found.append(
            QueuePoller(
                f"{source.queue} -> {source.function}",
                client,
                str(runtime.resolver.ref(source.queue)),
                str(runtime.resolver.get_att(source.queue, "Arn")),
                deliver(function),
                properties=properties,
                workers=workers_of(properties, function.concurrency),
                window_cap=cap,
                log=log,
            )
        )
    return found
