"""The health functions' events, as Lambda builds them: EventBridge Scheduler's for the sweep, an SQS batch
for the worker (events/health_sweep.json, events/health_worker.json)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:smtp-hub-health"


def schedule_event() -> dict[str, Any]:
    """What the template's ScheduleV2 target receives (its Input; SAM's default is an empty object)."""
    return {}


def sqs_record(
    body: str, message_id: str, sent: int, receive_count: int = 1, queue_arn: str = QUEUE_ARN
) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent),
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": str(sent + 10),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


def sqs_event(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


def sample_worker_event(smtp_id: str) -> dict[str, Any]:
    body = json.dumps({"idsmtp": smtp_id, "due": 1795514400}, separators=(",", ":"))
    return sqs_event([sqs_record(body, "059f36b4-87a3-44ab-83d2-661975830a7d", 1795514400000)])
