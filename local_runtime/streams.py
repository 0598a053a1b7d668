"""DynamoDB streams on moto, delivered to the template's stream-fed functions as Lambda delivers them.

For every function fed by a table's stream (a SAM `DynamoDB` event, or an AWS::Lambda::EventSourceMapping
whose EventSourceArn is `!GetAtt <Table>.StreamArn`), a `StreamPoller` reads moto's stream (DescribeStream,
GetShardIterator, GetRecords), keeps the records its FilterCriteria match (dropping the rest, as Lambda
does), and invokes the function with Lambda's event, `BatchSize` records at a time, in order. Records carry
the images the table's StreamViewType gives them (moto writes them as DynamoDB does: a MODIFY's OldImage
and NewImage, an INSERT's NewImage, a REMOVE's OldImage), so a filter on `dynamodb.NewImage` works as in AWS.

A batch that fails (the function raises or times out) is retried whole; with ReportBatchItemFailures, the
records from the lowest reported SequenceNumber on are retried. After MaximumRetryAttempts retries the
batch is dropped with a line saying so (in AWS it would go to the OnFailure destination). Not emulated:
the batching window (records go at once), BisectBatchOnFunctionError, MaximumRecordAgeInSeconds.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from local_runtime.events import build_stream_event, build_stream_record

POLL_SECONDS = 0.5
_MISSING = object()

Deliver = Callable[[dict[str, Any]], Any]  # invokes the function; raises when the invocation failed


# --- FilterCriteria: Lambda's event-filtering patterns ---------------------------------------------------


def _matches_rule(rule: Any, value: Any) -> bool:
    if isinstance(rule, Mapping):
        if "exists" in rule:
            return (value is not _MISSING) == bool(rule["exists"])
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(str(rule["prefix"]))
        if "anything-but" in rule:
            others = rule["anything-but"]
            others = others if isinstance(others, list) else [others]
            return value is not _MISSING and value not in others
        return False
    if isinstance(value, list):
        return rule in value
    return bool(value == rule)


def matches(pattern: Any, value: Any) -> bool:
    """Whether `value` (a stream record, or part of one) matches an event pattern (or part of one)."""
    if isinstance(pattern, Mapping):
        if not isinstance(value, Mapping):
            return False
        return all(matches(sub, value.get(key, _MISSING)) for key, sub in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_rule(rule, value) for rule in pattern)
    return False


def filters_of(properties: Mapping[str, Any]) -> list[Any]:
    """The patterns of an event source's FilterCriteria; [] lets every record through."""
    filters = (properties.get("FilterCriteria") or {}).get("Filters") or []
    return [
        json.loads(item["Pattern"]) if isinstance(item["Pattern"], str) else item["Pattern"]
        for item in filters
    ]


# --- records --------------------------------------------------------------------------------------------


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as GetRecords answers it (boto3's types) made into the record Lambda hands a function."""
    dynamodb = record.get("dynamodb") or {}
    created: Any = dynamodb.get("ApproximateCreationDateTime")
    timestamp = created.timestamp() if hasattr(created, "timestamp") else created
    images = {name: _lambda_json(dynamodb[name]) for name in ("NewImage", "OldImage") if name in dynamodb}
    return build_stream_record(
        str(record["eventName"]),
        dynamodb.get("Keys") or {},
        str(dynamodb["SequenceNumber"]),
        stream_arn=stream_arn,
        region=str(record.get("awsRegion") or "us-east-1"),
        event_id=record.get("eventID"),
        created=timestamp,
        view_type=str(dynamodb.get("StreamViewType") or "KEYS_ONLY"),
        images=images,
    )


def _lambda_json(value: Any) -> Any:
    """An image as Lambda's event carries it: boto3 hands binary attributes (B, BS) over as bytes, Lambda's
    JSON as base64 text."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {key: _lambda_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lambda_json(item) for item in value]
    return value


class StreamPoller:
    """One event source: a table's stream read from where it starts, delivered to one function."""

    def __init__(
        self,
        name: str,
        client: Any,
        stream_arn: str,
        deliver: Deliver,
        properties: Mapping[str, Any],
        *,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.client = client  # a dynamodbstreams client
        self.stream_arn = stream_arn
        self.deliver = deliver
        self.batch_size = int(properties.get("BatchSize", 100))
        self.max_retries = int(properties.get("MaximumRetryAttempts", -1))  # -1: until the record expires
        self.reports_failures = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self.starting = str(properties.get("StartingPosition", "TRIM_HORIZON")).upper()
        self.filters = filters_of(properties)
        self.log = log or (lambda line: None)
        self._iterators: dict[str, str | None] = {}  # shard id -> next iterator (None: the shard closed)
        self.pending: list[dict[str, Any]] = []
        self._attempts = 0
        self.delivered = 0
        self.dropped = 0

    def _keep(self, record: Mapping[str, Any]) -> bool:
        return not self.filters or any(matches(pattern, record) for pattern in self.filters)

    def fetch(self) -> int:
        """Read what the stream has added; keep the records the filters match. Returns how many were read."""
        read = 0
        shards = self.client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"].get("Shards", [])
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                position = "LATEST" if self.starting == "LATEST" else "TRIM_HORIZON"
                self._iterators[shard_id] = self.client.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=position
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            while iterator:
                page = self.client.get_records(ShardIterator=iterator, Limit=1000)
                records = page.get("Records", [])
                read += len(records)
                for record in records:
                    converted = lambda_record(record, self.stream_arn)
                    if self._keep(converted):
                        self.pending.append(converted)
                iterator = page.get("NextShardIterator")
                self._iterators[shard_id] = iterator
                if not records:
                    break
        return read

    def deliver_pending(self) -> None:
        """Deliver the pending records in batches; stop at a failure (retried on the next round)."""
        while self.pending:
            batch = self.pending[: self.batch_size]
            started = time.perf_counter()
            failed_from = self._deliver(batch)
            ms = (time.perf_counter() - started) * 1000
            if failed_from is None:
                self.log(f"[stream] {self.name}: {len(batch)} record(s) -> ok ({ms:.0f} ms)")
                self.pending = self.pending[len(batch) :]
                self.delivered += len(batch)
                self._attempts = 0
                continue
            self.delivered += failed_from
            self.pending = self.pending[failed_from:]
            self._attempts += 1
            retried = len(batch) - failed_from
            if 0 <= self.max_retries < self._attempts:
                self.log(
                    f"[stream] {self.name}: {retried} record(s) failed after {self.max_retries} retries: "
                    "dropped (in AWS: sent to the OnFailure destination)"
                )
                self.pending = self.pending[retried:]
                self.dropped += retried
                self._attempts = 0
                continue
            self.log(f"[stream] {self.name}: {retried} record(s) failed: retrying ({ms:.0f} ms)")
            return

    def _deliver(self, batch: Sequence[dict[str, Any]]) -> int | None:
        """None when the whole batch succeeded, else the index of the first record to retry."""
        try:
            answer = self.deliver(build_stream_event(batch))
        except Exception:
            return 0
        if not self.reports_failures or not isinstance(answer, Mapping):
            return None
        failures = answer.get("batchItemFailures") or []
        if not failures:
            return None
        sequences = [str(record["dynamodb"]["SequenceNumber"]) for record in batch]
        positions = []
        for failure in failures:
            identifier = str((failure or {}).get("itemIdentifier") or "")
            if identifier not in sequences:
                return 0  # Lambda retries the whole batch when it cannot tell which record failed
            positions.append(sequences.index(identifier))
        return min(positions)

    def poll(self) -> None:
        self.fetch()
        self.deliver_pending()


class StreamPumps:
    """Every poller, run by one background thread every POLL_SECONDS until `stop()`."""

    def __init__(self, pollers: Sequence[StreamPoller], interval: float = POLL_SECONDS) -> None:
        self.pollers = list(pollers)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.pollers or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="dynamodb-streams", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for poller in self.pollers:
                if self._stop.is_set():
                    return
                try:
                    poller.poll()
                except Exception as error:  # moto going away at shutdown, say: try again next round
                    if not self._stop.is_set():
                        poller.log(f"[stream] {poller.name}: cannot read the stream: {error}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
