"""Health (issue 13): the scheduled sweep over 100 to 10,000 SMTP servers of which a tenth are due, and what
one scheduled probe costs, per server and month at the default interval.

Against moto, in this process, through the real handlers (functions/health_sweep, functions/health_worker):
the sweep's AWS calls (index pages, SendMessageBatch by 10), its wall time and how it grows (SQS answered in
memory for this part: moto's SQS recounts a queue's messages on every send, which is quadratic in the
messages queued and would measure moto, not the sweep); then one probe
of a real server (aiosmtpd on 127.0.0.1, AUTH on) through the worker, its calls priced with bench.cost's
list prices. Printed as its own table; the figures also go to latest.json under "sweep".
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

from bench.cost import LATENCY_MS, PRICES, aws_latency_ms, request_units
from bench.counting import counting
from bench.lambdas import SMTPS_TABLE
from bench.world import invoke, moto_world

SIZES = (100, 1000, 10_000)
DUE_SHARE = 10  # one server in ten is due
SLACK = 1.5  # "linear": 10x the servers may cost at most 15x the time
NOW = 1_795_514_400
SQS_REQUEST = 0.40 / 1e6  # standard queue, per 64 KB request (us-east-1 list price, 2025-06)
SMTP_SESSION_MS = 800.0  # a real SMTP session with TLS (the README's assumption for the check)
PROBES_PER_MONTH = 730.0 / 24  # at HEALTH_INTERVAL_HOURS=24
MEMORY_GB = 256 / 1024
LOG_BYTES_PER_PROBE = 1500.0  # the check's log line and the batch's, assumed


def _handler(folder: str) -> Any:
    from local_runtime.loader import load_handler

    return load_handler(f"functions/{folder}/")


def _queue(world: Any) -> tuple[Any, str]:
    import boto3

    from smtphub import wiring

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"bench-health-{time.monotonic_ns()}")["QueueUrl"]
    os.environ["HEALTH_QUEUE_URL"] = url
    wiring.reset()
    wiring.override("clock", lambda: float(NOW))
    return sqs, url


def _seed(world: Any, size: int) -> None:
    """`size` servers in the index, a tenth due (half of those disabled), written in batches of 25."""
    items = []
    for n in range(size):
        due = n % DUE_SHARE == 0
        items.append(
            {
                "_id": {"S": f"{n:024x}"},
                "status": {"S": "D" if due and n % 20 == 0 else "A"},
                "nextcheck": {"N": str(NOW - 60 if due else NOW + 3600 + n)},
            }
        )
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        world.dynamodb.batch_write_item(RequestItems={SMTPS_TABLE: batch})


class MemoryQueue:
    """SendMessageBatch answered in memory: every entry accepted and kept."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.calls = 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        self.messages += [entry["MessageBody"] for entry in Entries]
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}


def _one_sweep(size: int) -> dict[str, Any]:
    from smtphub import wiring

    with moto_world() as world:
        _queue(world)
        _seed(world, size)
        handler = _handler("health_sweep")
        queue = MemoryQueue()
        wiring.health_sweep().queue._client = queue  # type: ignore[assignment]
        with counting() as calls:
            started = time.perf_counter()
            result = handler({}, _Context())
            seconds = time.perf_counter() - started
        counts = calls.counts()
        return {
            "servers": size,
            "due": result["disabled"] + result["active"],
            "queued": len(queue.messages),
            "index_pages": counts["dynamodb:Query"],
            "send_message_batch": queue.calls,
            "calls": sum(counts.values()) + queue.calls,
            "seconds": round(seconds, 3),
        }


def _probe_cost(log: Any) -> dict[str, Any]:
    """One scheduled probe of a server with AUTH, through the worker; its calls and cost."""
    from bench import smtp
    from local_runtime.health_events import sqs_event, sqs_record

    with smtp.server() as mail, moto_world(**smtp.check_environment()) as world:
        sqs, url = _queue(world)
        app = invoke("apps_save", {"name": "Probe", "testemail": smtp.RECIPIENT}).json["_id"]
        params = {"idapp": app, "host": mail.host, "port": mail.port, "auth": "true", "insecureauth": "true"}
        params.update(username=smtp.USERNAME, password=smtp.PASSWORD, defaultfromemail=smtp.SENDER)
        idsmtp = invoke("smtps_save", params).json["_id"]
        world.dynamodb.update_item(
            TableName=SMTPS_TABLE,
            Key={"_id": {"S": idsmtp}},
            UpdateExpression="SET nextcheck = :due",
            ExpressionAttributeValues={":due": {"N": str(NOW - 1)}},
        )
        _handler("health_sweep")({}, _Context())
        (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        event = sqs_event([sqs_record(message["Body"], message["MessageId"], NOW * 1000)])
        with counting() as calls:
            started = time.perf_counter()
            answer = _handler("health_worker")(event, _Context())
            handler_ms = (time.perf_counter() - started) * 1000
        stored = world.dynamodb.get_item(TableName=SMTPS_TABLE, Key={"_id": {"S": idsmtp}})["Item"]
        if answer["batchItemFailures"] or stored["lastcheck"]["M"]["ok"] != {"BOOL": True}:
            raise RuntimeError(f"the probe did not pass: {answer} {stored.get('lastcheck')}")
        return _priced(calls.calls, handler_ms)


def _priced(calls: list[Any], handler_ms: float) -> dict[str, Any]:
    detail: dict[str, float] = {}
    for call in calls:
        detail[call.name] = detail.get(call.name, 0) + 1
    units = request_units(calls)
    duration_ms = SMTP_SESSION_MS + aws_latency_ms(detail) + handler_ms
    per_probe = {
        "lambda": MEMORY_GB * duration_ms / 1000 * PRICES["lambda_arm64_gb_second"]
        + PRICES["lambda_request"] / 10,  # a batch of 10 per invocation
        "dynamodb": units["rru"] * PRICES["dynamodb_read_request_unit"]
        + units["wru"] * PRICES["dynamodb_write_request_unit"],
        "secrets_manager": units["secrets_calls"] * PRICES["secrets_manager_api_call"],
        "sqs": 3 / 10 * SQS_REQUEST,  # send, receive and delete, by 10
        "logs": LOG_BYTES_PER_PROBE / 1e9 * PRICES["cloudwatch_logs_ingested_gb"],
    }
    month = {name: value * PROBES_PER_MONTH for name, value in per_probe.items()}
    return {
        "calls": dict(sorted(detail.items())),
        "units": units,
        "duration_ms": round(duration_ms),
        "per_server_month": {name: round(value, 7) for name, value in month.items()},
        "total_per_server_month": round(sum(month.values()), 6),
        "per_10000_servers_month": round(sum(month.values()) * 10_000, 2),
        "latency_assumed_ms": {"smtp": SMTP_SESSION_MS, **LATENCY_MS},
    }


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"


def run(log: Any) -> dict[str, Any]:
    rows = []
    for size in SIZES:
        log(f"health sweep: {size} servers, a tenth due")
        rows.append(_one_sweep(size))
    times = {row["servers"]: row["seconds"] for row in rows}
    linear = all(
        times[large] / max(times[small], 1e-6) <= (large / small) * SLACK
        for small, large in itertools.pairwise(sorted(times))
    )
    log("health probe: one scheduled probe through the worker, priced")
    return {"sweeps": rows, "linear": linear, "probe": _probe_cost(log)}


def render(result: dict[str, Any]) -> str:
    lines = ["", "Health (issue 13): the sweep and one scheduled probe", ""]
    lines.append("| servers | due | index pages | SendMessageBatch | AWS calls | moto s |")
    lines.append("|---|---|---|---|---|---|")
    for row in result["sweeps"]:
        lines.append(
            f"| {row['servers']:,} | {row['due']:,} | {row['index_pages']} | {row['send_message_batch']} "
            f"| {row['calls']} | {row['seconds']} |"
        )
    lines.append(f"linear growth: {'yes' if result['linear'] else 'NO'}")
    probe = result["probe"]
    lines.append(
        f"one probe: {', '.join(f'{name} {count:g}' for name, count in probe['calls'].items())}; "
        f"about {probe['duration_ms']} ms in Lambda; ${probe['total_per_server_month']:.4f} per server-month "
        f"(${probe['per_10000_servers_month']:.2f} for 10,000 servers) at one probe a day"
    )
    return "\n".join(lines)
