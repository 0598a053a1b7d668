"""7. Cost per million requests, from the measured calls, durations and memory, at public list prices.

The prices are us-east-1 list prices as published on the AWS pricing pages and known to us as of
2025-06 (DynamoDB's on-demand prices are those after its 2024-11-01 cut); this machine has no web
access, so they are not re-checked at run time: update PRICES when they change.

The duration of a warm request in Lambda is estimated, not measured: this machine's measured CPU time
per request (bench.warm, p50: the handler with the real boto3 client, so the SDK's own CPU -
validation, serialization, signing, parsing - is counted; only the network exchange is left out)
scaled by the CPU share Lambda gives the configured memory (one vCPU at 1,769 MB, proportionally less
below), plus the latency of each AWS call the request makes (LATENCY_MS, typical in-region figures:
assumptions, stated in the README).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

PRICES: dict[str, Any] = {
    "as_of": "2025-06 (us-east-1 list prices, not re-checked at run time)",
    "lambda_arm64_gb_second": 0.0000133334,  # first 7.5 billion GB-s a month
    "lambda_request": 0.20 / 1e6,
    "api_gateway_rest_request": 3.50 / 1e6,  # first 333 million a month
    "dynamodb_read_request_unit": 0.125 / 1e6,  # on-demand, since 2024-11-01
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "secrets_manager_api_call": 0.05 / 10_000,
    "secrets_manager_secret_month": 0.40,
    "cloudwatch_logs_ingested_gb": 0.50,
    "xray_trace_recorded": 5.00 / 1e6,  # first 100,000 a month free
    "cognito_plus_mau": 0.02,  # threat protection (the template's default) puts the pool on Plus
    "sqs_request": 0.40 / 1e6,  # standard queue, past the first million a month; per 64 KB chunk
    "s3_put_request": 0.005 / 1000,  # S3 Standard PUT, COPY, POST, LIST (DeleteObjects is a POST)
    "s3_get_request": 0.0004 / 1000,  # S3 Standard GET, SELECT and the rest
}
FULL_VCPU_MB = 1769
XRAY_SAMPLED = 0.05  # the default sampling rule: 1 request a second, then 5 %
PLATFORM_LOG_BYTES = 600  # Lambda's own start/report records per invocation (JSON log format), assumed

# Typical in-region latency of one call from Lambda, in ms (assumptions).
LATENCY_MS = {
    "dynamodb": 8.0,
    "dynamodb:TransactWriteItems": 20.0,
    "dynamodb:BatchWriteItem": 15.0,
    "secretsmanager": 30.0,
    "cognito-idp": 150.0,
}


@cache
def _indexed_tables() -> frozenset[str]:
    """DynamoDB tables with global secondary indexes (every write to them writes the index too)."""
    from bench.lambdas import table_schemas

    return frozenset(name for name, schema in table_schemas().items() if schema["indexes"])


def _kb(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def request_units(calls: list[Any]) -> dict[str, float]:
    """DynamoDB read and write request units, Secrets Manager and Cognito calls, of one request.

    Reads: 1 unit per 4 KB strongly consistent, half eventually consistent (queries on an index always
    are). Writes: 1 unit per KB, plus one per index the write touches; in a transaction every action
    costs two (a ConditionCheck is counted as a transactional write: the dearer reading).
    """
    from bench.counting import attribute_size

    indexed = _indexed_tables()
    rru = wru = 0.0
    secrets = cognito = 0
    for call in calls:
        params = call.params
        if call.service == "secretsmanager":
            secrets += 1
        elif call.service == "cognito-idp":
            cognito += 1
        elif call.service != "dynamodb":
            continue
        operation = call.operation
        if operation == "GetItem":
            rru += 1.0 if params.get("ConsistentRead") else 0.5
        elif operation in ("Query", "Scan"):
            pages = max(1, math.ceil(call.item_bytes / 4096))
            rru += pages * (1.0 if params.get("ConsistentRead") and not params.get("IndexName") else 0.5)
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            size = attribute_size(params.get("Item", {})) if operation == "PutItem" else 1024
            wru += _kb(size) + (1 if params.get("TableName") in indexed else 0)
        elif operation == "BatchWriteItem":
            for table, requests in params.get("RequestItems", {}).items():
                wru += len(requests) * (1 + (1 if table in indexed else 0))
        elif operation == "TransactWriteItems":
            for step in params.get("TransactItems", []):
                ((kind, action),) = step.items()
                size = attribute_size(action.get("Item", {})) if kind == "Put" else 1024
                wru += 2 * _kb(size) + (
                    1 if kind != "ConditionCheck" and action.get("TableName") in indexed else 0
                )
    return {"rru": rru, "wru": wru, "secrets_calls": secrets, "cognito_calls": cognito}


def aws_latency_ms(detail: dict[str, float]) -> float:
    total = 0.0
    for name, count in detail.items():
        service = name.split(":", 1)[0]
        total += count * LATENCY_MS.get(name, LATENCY_MS.get(service, 10.0))
    return total


def per_million(
    *,
    units: dict[str, float],
    detail: dict[str, float],
    handler_ms: float,
    memory_mb: int,
    log_bytes: float,
    extra_ms: float = 0.0,
) -> dict[str, Any]:
    """Dollars per million requests of one endpoint, by item, and the duration assumed.

    `handler_ms` is the CPU time of one warm request on this machine, the SDK's included.
    """
    cpu_share = min(1.0, memory_mb / FULL_VCPU_MB)
    cpu_ms = handler_ms / cpu_share
    duration_ms = math.ceil(cpu_ms + aws_latency_ms(detail) + extra_ms)  # billed per ms
    gb = memory_mb / 1024
    million = 1e6
    items = {
        "api_gateway": PRICES["api_gateway_rest_request"] * million,
        "lambda_requests": PRICES["lambda_request"] * million,
        "lambda_duration": gb * duration_ms / 1000 * PRICES["lambda_arm64_gb_second"] * million,
        "dynamodb": (
            units["rru"] * PRICES["dynamodb_read_request_unit"]
            + units["wru"] * PRICES["dynamodb_write_request_unit"]
        )
        * million,
        "secrets_manager": units["secrets_calls"] * PRICES["secrets_manager_api_call"] * million,
        "logs": (log_bytes + PLATFORM_LOG_BYTES) / 1e9 * PRICES["cloudwatch_logs_ingested_gb"] * million,
        "xray": XRAY_SAMPLED * PRICES["xray_trace_recorded"] * million,
    }
    return {
        "duration_ms": duration_ms,
        "cpu_ms": round(cpu_ms, 2),
        "items": {k: round(v, 4) for k, v in items.items()},
        "total": round(sum(items.values()), 2),
    }
