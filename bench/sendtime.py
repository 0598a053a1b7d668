"""The sender (EmailsSenderFunction, issue 24): CPU beside a bare smtplib loop, AWS calls, wall time.

Run as `python -m bench.sendtime OUT ROUNDS DELAY_MS bare|alone` (bench.sending starts it; `bare`: with
the smtplib loop). The SMTP peer (aiosmtpd
on 127.0.0.1, waiting DELAY_MS before each reply) is a process of its own (`python -m bench.sendtime
--peer DELAY_MS`), so that this process's CPU time (time.process_time: every thread's, user + system)
is the client side's only: the sender's, or the smtplib loop's.

Each round seeds BATCH e-mails through the real emails/send handler (untimed: their records, S3 content
and SendQueue messages land in bench.wire's in-memory AWS), then invokes the sender's handler with one SQS
event of those BATCH messages, then sends the same BATCH messages (same sender, recipient, subject and
body, built with email.message) with smtplib over one connection: connect, EHLO, AUTH, BATCH x (MAIL,
RCPT, DATA), QUIT. Each AWS call the sender makes goes through its real boto3 clients (validated,
serialized, signed, parsed); only the HTTP exchange is answered in memory. The calls are counted
(bench.counting) and checked against the function's IAM policy in template.yaml.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BATCH = 10
WARMUP = 3
SENDER_FUNCTION = "emails_sender"
SEND_FUNCTION = "emails_send"


# --- the peer: its own process ------------------------------------------------------------------------


def peer_main(delay_ms: float) -> int:
    """Serve until stdin closes, then print how many messages were received."""
    from bench import smtp

    with smtp.server(delay=delay_ms / 1000) as mail:
        print(f"ready {mail.port}", flush=True)
        sys.stdin.read()
        print(f"received {len(mail.messages)}", flush=True)
    return 0


@contextmanager
def peer(delay_ms: float) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sendtime", "--peer", str(delay_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    assert process.stdin is not None
    line = process.stdout.readline()
    if not line.startswith("ready "):
        process.kill()
        raise RuntimeError(f"the SMTP peer did not start: {line!r}")
    try:
        yield int(line.split()[1]), process
    finally:
        process.stdin.close()
        process.wait(timeout=30)


# --- one round ----------------------------------------------------------------------------------------


def sqs_event(bodies: list[str], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS poller hands the sender: one record per message body."""
    return {
        "Records": [
            {
                "messageId": f"00000000-0000-4000-a000-{number:012d}",
                "receiptHandle": f"bench-receipt-{number}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "AROABENCH",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for number, body in enumerate(bodies)
        ]
    }


def message_params(app: str, stamp: str, number: int) -> dict[str, Any]:
    from bench.smtp import RECIPIENT

    return {
        "idapp": app,
        "tos": RECIPIENT,
        "subject": f"Order {stamp}-{number}",
        "body": f"Thanks for your order {number}.\nIt ships tomorrow.\n",
    }


def bare_loop(port: int, params: list[dict[str, Any]], *, connections: int = 1) -> None:
    """The same messages with smtplib over one connection (or `connections`, the messages split evenly)."""
    share = -(-len(params) // connections)
    for start in range(0, len(params), share):
        _bare_connection(port, params[start : start + share])


def _bare_connection(port: int, params: list[dict[str, Any]]) -> None:
    import smtplib
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    from bench import smtp

    with smtplib.SMTP("127.0.0.1", port, local_hostname="smtp-hub.local", timeout=30) as client:
        client.ehlo()
        client.login(smtp.USERNAME, smtp.PASSWORD)
        for param in params:
            message = EmailMessage()
            message["From"] = smtp.SENDER
            message["To"] = param["tos"]
            message["Subject"] = param["subject"]
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = make_msgid(domain="smtp-hub.local")
            message.set_content(param["body"])
            client.send_message(message, from_addr=smtp.SENDER, to_addrs=[param["tos"]])


class Rig:
    """The sender's and emails/send's handlers on one in-memory AWS holding the demo app and a server."""

    def __init__(self, port: int) -> None:
        from bench import layer, smtp
        from bench.lambdas import by_name
        from bench.wire import use_in_layer
        from local_runtime import events
        from local_runtime.loader import load_handler

        sender, send = by_name(SENDER_FUNCTION), by_name(SEND_FUNCTION)
        if sender is None or send is None:
            raise LookupError("emails_sender or emails_send is not in template.yaml")
        self.sender_function, self.send_function = sender, send
        seed = layer.demo_seed(
            host="127.0.0.1",
            port=port,
            username=smtp.USERNAME,
            password=smtp.PASSWORD,
            servers=1,
            timebetweenemails=0,  # nothing paces: every e-mail of a batch is delivered, as AWS would
        )
        self.aws = use_in_layer(layer.in_memory(seed))
        self.app = events._APP
        self.account = events.DEMO_ACCOUNT
        self.sender = load_handler(sender.code_uri, sender.handler)
        self.send = load_handler(send.code_uri, send.handler)
        self.queue = self.aws.services["sqs"]

    def seed(self, params: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any], float]:
        """POST emails/send for each: the sender's SQS event, the send's counted calls, its CPU seconds."""
        from bench.counting import counting
        from bench.world import Context, event_for

        self.queue.messages.clear()
        with counting() as calls:
            started = time.process_time()
            for param in params:
                reply = self.send(event_for(self.send_function, param, self.account), Context())
                if reply["statusCode"] != 200:
                    raise RuntimeError(f"emails/send answered {reply['statusCode']}: {reply['body'][:300]}")
            cpu = time.process_time() - started
        bodies = [body for queued in self.queue.messages.values() for body in queued]
        if len(bodies) != len(params):
            raise RuntimeError(f"emails/send queued {len(bodies)} messages for {len(params)} e-mails")
        self.queue.messages.clear()
        return sqs_event(bodies, "arn:aws:sqs:us-east-1:123456789012:bench-send-queue"), calls.calls, cpu

    def deliver(self, event: dict[str, Any]) -> tuple[dict[str, Any], list[Any], float, float]:
        """The sender's handler on one event: its answer, its counted calls, CPU and wall seconds."""
        from bench.counting import counting
        from bench.world import Context

        with counting() as calls:
            wall, cpu = time.perf_counter(), time.process_time()
            answer = self.sender(event, Context())
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if answer.get("batchItemFailures"):
            raise RuntimeError(f"the sender failed messages: {answer['batchItemFailures']}")
        return answer, calls.calls, cpu, wall

    def denied(self, calls: list[Any]) -> list[str]:
        from bench.lambdas import required_permissions

        needed = {p for c in calls for p in required_permissions(c.service, c.operation, c.params)}
        return sorted(f"{a} on {r}" for a, r in needed if not self.sender_function.allows(a, r))

    def statuses(self) -> dict[str, int]:
        """The e-mails' states in the in-memory table (F: delivered)."""
        from bench.lambdas import function_environment

        table = function_environment()["EMAILS_TABLE"]
        found: dict[str, int] = {}
        for item in self.aws.services["dynamodb"].items.get(table, {}).values():
            status = item.get("status", {}).get("S", "?")
            found[status] = found.get(status, 0) + 1
        return found


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    quarter = statistics.quantiles(ordered, n=4) if len(ordered) >= 2 else [ordered[0]] * 3
    return {
        "median": statistics.median(ordered),
        "p25": quarter[0],
        "p75": quarter[2],
        "min": ordered[0],
        "max": ordered[-1],
    }


def measure(port: int, rounds: int, peer_process: subprocess.Popen[str], *, bare: bool) -> dict[str, Any]:
    """ROUNDS rounds (after WARMUP): sender, then (if `bare`) the smtplib loop, alternately."""
    rig = Rig(port)
    sender_cpu: list[float] = []
    bare_cpu: list[float] = []
    apart_cpu: list[float] = []
    answer_ns = 0
    walls: list[float] = []
    calls: list[Any] = []
    send_calls: list[Any] = []
    send_cpu = 0.0
    for number in range(rounds + WARMUP):
        params = [message_params(rig.app, f"{number}", n) for n in range(BATCH)]
        event, seeded_calls, seeded_cpu = rig.seed(params)
        rig.aws.answer_ns = 0
        _, counted, cpu, wall = rig.deliver(event)
        answered = rig.aws.answer_ns
        started = time.process_time()
        if bare:
            bare_loop(port, params)
        loop_cpu = time.process_time() - started
        if bare:  # for information: what smtplib spends with a connection per e-mail, as the sender opens
            started = time.process_time()
            bare_loop(port, params, connections=BATCH)
            apart_cpu.append(time.process_time() - started)
        if number < WARMUP:
            continue
        answer_ns += answered
        sender_cpu.append(cpu)
        bare_cpu.append(loop_cpu)
        walls.append(wall)
        calls.extend(counted)
        send_calls.extend(seeded_calls)
        send_cpu += seeded_cpu
    emails = rounds * BATCH
    detail: dict[str, float] = {}
    for call in calls:
        detail[call.name] = detail.get(call.name, 0) + 1 / emails
    send_detail: dict[str, float] = {}
    for call in send_calls:
        send_detail[call.name] = send_detail.get(call.name, 0) + 1 / emails
    from bench.cost import request_units

    units = {k: v / emails for k, v in request_units(calls).items()}
    send_units = {k: v / emails for k, v in request_units(send_calls).items()}
    return {
        "rounds": rounds,
        "batch": BATCH,
        "statuses": rig.statuses(),
        "sender_cpu_ms_per_email": [round(c * 1000 / BATCH, 4) for c in sender_cpu],
        "bare_cpu_ms_per_email": [round(c * 1000 / BATCH, 4) for c in bare_cpu],
        "bare_apart_cpu_ms_per_email": [round(c * 1000 / BATCH, 4) for c in apart_cpu[WARMUP:]],
        "answer_ms_per_email": round(answer_ns / 1e6 / (rounds * BATCH), 4),
        "beyond_ms_per_email": [
            round((s - b) * 1000 / BATCH, 4) for s, b in zip(sender_cpu, bare_cpu, strict=True)
        ],
        "wall_ms_per_batch": [round(w * 1000, 2) for w in walls],
        "calls_per_email": round(len(calls) / emails, 3),
        "detail": {k: round(v, 3) for k, v in sorted(detail.items())},
        "units_per_email": units,
        "denied": rig.denied(calls),
        "send": {
            "calls_per_email": round(len(send_calls) / emails, 3),
            "detail": {k: round(v, 3) for k, v in sorted(send_detail.items())},
            "units_per_email": send_units,
            "cpu_ms_per_email": round(send_cpu * 1000 / emails, 3),
            "denied": [],
        },
        "s3": _s3_requests(calls, send_calls, emails),
    }


def _s3_requests(calls: list[Any], send_calls: list[Any], emails: int) -> dict[str, float]:
    """S3 requests per e-mail by price class: PUT/COPY/POST/LIST (a DeleteObjects is a POST), GET."""
    every = [*calls, *send_calls]
    put = sum(1 for c in every if c.service == "s3" and c.operation in ("PutObject", "DeleteObjects"))
    get = sum(1 for c in every if c.service == "s3" and c.operation in ("GetObject", "HeadObject"))
    free = sum(1 for c in every if c.service == "s3" and c.operation == "DeleteObject")
    return {"put_class": put / emails, "get_class": get / emails, "free": free / emails}


def main() -> int:
    if sys.argv[1] == "--peer":
        return peer_main(float(sys.argv[2]))
    out, rounds, delay_ms, bare = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "bare"
    from bench.smtp import check_environment
    from bench.warm import Sink

    os.environ.update(check_environment())
    os.environ["DNS_CHECKS"] = "false"  # emails/send seeds untimed; its sender domain is example.net
    real_stdout, sys.stdout = sys.stdout, Sink()  # type: ignore[assignment]
    try:
        with peer(delay_ms) as (port, process):
            result = measure(port, rounds, process, bare=bare)
        assert process.stdout is not None
        received = process.stdout.read().split()
        result["peer_received"] = int(received[-1]) if received else None
        sent = (rounds + WARMUP) * BATCH
        result["delivered_ok"] = result["statuses"] == {"F": sent} and result["peer_received"] == sent * (
            3 if bare else 1
        )
    finally:
        sys.stdout = real_stdout
    result["delay_ms"] = delay_ms
    result["load_average"] = [round(value, 2) for value in os.getloadavg()]
    with open(out, "w") as stream:
        json.dump(result, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
