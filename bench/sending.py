"""`make bench`, parts "sendcpu", "sendcalls" and "sendcost" (issue 24): the sender, EmailsSenderFunction.

Each part runs bench.sendtime in a process of its own (its module says what one run does), so that one
failing leaves the others measured:

- sendcpu: the sender's CPU per delivered e-mail beyond a bare smtplib loop sending the same messages to
  the same local peer over one connection (the peer answers at once). RUNS runs of CPU_ROUNDS batches of
  10, sender and loop interleaved; the figure is the median over every batch of both runs, the brackets
  hold each run's own median. Target: at most CPU_TARGET_MS.
- sendcalls: the AWS calls the sender makes per delivered e-mail, counted over CALL_ROUNDS batches of 10
  (the batch's shared reads amortized), each checked against the function's IAM policy. Target: at most
  CALLS_TARGET.
- sendcost: dollars per 1,000 e-mails with a peer that waits DELAY_MS before each reply (COST_ROUNDS
  batches of 10): the sender's billed duration (the batch invocation's wall time, rounded up to the ms,
  / 10) at its memory on arm64, its Lambda request / 10, the DynamoDB units, S3 and SQS requests counted
  (the send's and the sender's, plus the SQS poller's ReceiveMessage and DeleteMessageBatch per batch),
  API Gateway, Lambda and DynamoDB for the emails/send request (bench.cost.per_million, as section 7);
  beside Amazon SES's SES_PER_THOUSAND. Target: at or below it.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable
from typing import Any

CPU_TARGET_MS = 1.5
CALLS_TARGET = 6
SES_PER_THOUSAND = 0.10  # Amazon SES, outbound e-mail, list price per 1,000
CPU_ROUNDS = 30
RUNS = 2
CALL_ROUNDS = 3
COST_ROUNDS = 10
DELAY_MS = 50.0
POLLER_REQUESTS_PER_BATCH = 2  # Lambda's SQS poller: a ReceiveMessage, then a DeleteMessageBatch


def _run(rounds: int, delay_ms: float, *, bare: bool) -> dict[str, Any]:
    from bench.__main__ import _subprocess

    return _subprocess("sendtime", str(rounds), f"{delay_ms:g}", "bare" if bare else "alone")


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def cpu_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs combined: the median beyond the loop over every batch, each run's own, the interquartile
    range, and the two sides' medians."""
    beyond = [value for run in runs for value in run["beyond_ms_per_email"]]
    quartiles = statistics.quantiles(beyond, n=4) if len(beyond) > 1 else [beyond[0]] * 3
    figure = _median(beyond)
    delivered = all(run["delivered_ok"] for run in runs)
    return {
        "measured": True,
        "batches": len(beyond),
        "beyond_ms": figure,
        "runs_ms": [_median(run["beyond_ms_per_email"]) for run in runs],
        "iqr_ms": [round(quartiles[0], 3), round(quartiles[2], 3)],
        "sender_ms": _median([v for run in runs for v in run["sender_cpu_ms_per_email"]]),
        "bare_ms": _median([v for run in runs for v in run["bare_cpu_ms_per_email"]]),
        "bare_apart_ms": _median([v for run in runs for v in run["bare_apart_cpu_ms_per_email"]]),
        "answer_ms": round(statistics.mean(run["answer_ms_per_email"] for run in runs), 3),
        "delivered_ok": delivered,
        "target_ms": CPU_TARGET_MS,
        "met": delivered and figure <= CPU_TARGET_MS,
        "load_average": runs[-1]["load_average"],
    }


def calls_figures(run: dict[str, Any]) -> dict[str, Any]:
    per_email = run["calls_per_email"]
    return {
        "measured": True,
        "batches": run["rounds"],
        "calls": per_email,
        "detail": run["detail"],
        "denied": run["denied"],
        "send_calls": run["send"]["calls_per_email"],
        "send_detail": run["send"]["detail"],
        "delivered_ok": run["delivered_ok"],
        "target": CALLS_TARGET,
        "met": run["delivered_ok"] and not run["denied"] and per_email <= CALLS_TARGET,
    }


def _sqs_requests(run: dict[str, Any]) -> float:
    """SQS requests per e-mail: the send's and the sender's (each 64 KB chunk of a payload is one more,
    never reached here), and the poller's per batch."""
    counted = sum(v for k, v in run["detail"].items() if k.startswith("sqs:"))
    counted += sum(v for k, v in run["send"]["detail"].items() if k.startswith("sqs:"))
    return counted + POLLER_REQUESTS_PER_BATCH / run["batch"]


def cost_figures(run: dict[str, Any], sender_memory_mb: int, send_memory_mb: int) -> dict[str, Any]:
    """Dollars per 1,000 e-mails, by item, from one sendtime run against the slow peer."""
    from bench.cost import FULL_VCPU_MB, PRICES, per_million

    thousand = 1000
    wall_ms = statistics.median(run["wall_ms_per_batch"])
    billed_ms = math.ceil(wall_ms) / run["batch"]  # Lambda bills each invocation by the ms
    gb = sender_memory_mb / 1024
    units = run["units_per_email"]
    send = per_million(
        units=run["send"]["units_per_email"],
        detail=run["send"]["detail"],
        handler_ms=run["send"]["cpu_ms_per_email"],
        memory_mb=send_memory_mb,
        log_bytes=0,
    )
    items = {
        "sender_lambda": (
            gb * billed_ms / 1000 * PRICES["lambda_arm64_gb_second"] + PRICES["lambda_request"] / run["batch"]
        )
        * thousand,
        "sender_dynamodb": (
            units["rru"] * PRICES["dynamodb_read_request_unit"]
            + units["wru"] * PRICES["dynamodb_write_request_unit"]
        )
        * thousand,
        "s3": (
            run["s3"]["put_class"] * PRICES["s3_put_request"]
            + run["s3"]["get_class"] * PRICES["s3_get_request"]
        )
        * thousand,
        "sqs": _sqs_requests(run) * PRICES["sqs_request"] * thousand,
        "send_api_gateway": send["items"]["api_gateway"] / thousand,
        "send_lambda": (send["items"]["lambda_requests"] + send["items"]["lambda_duration"]) / thousand,
        "send_dynamodb": send["items"]["dynamodb"] / thousand,
    }
    total = sum(items.values())
    cpu_ms = statistics.median(run["sender_cpu_ms_per_email"])
    return {
        "measured": True,
        "batches": run["rounds"],
        "delay_ms": run["delay_ms"],
        "wall_ms_per_batch": round(wall_ms, 1),
        "billed_ms_per_email": round(billed_ms, 1),
        "sender_memory_mb": sender_memory_mb,
        "items": {k: round(v, 6) for k, v in items.items()},
        "total": round(total, 5),
        "ses": SES_PER_THOUSAND,
        "cpu_ms_per_email": round(cpu_ms, 2),
        "cpu_at_memory_ms": round(cpu_ms / min(1.0, sender_memory_mb / FULL_VCPU_MB), 1),
        "delivered_ok": run["delivered_ok"],
        "met": run["delivered_ok"] and total <= SES_PER_THOUSAND,
        "load_average": run["load_average"],
    }


def _memory(name: str) -> int:
    from bench.lambdas import by_name

    function = by_name(name)
    if function is None:
        raise LookupError(f"{name} is not in template.yaml")
    return function.memory


def run_cpu(log: Callable[[str], None], rounds: int = CPU_ROUNDS, runs: int = RUNS) -> dict[str, Any]:
    log(f"sender CPU: {runs} runs of {rounds} batches of 10, beside a bare smtplib loop")
    return cpu_figures([_run(rounds, 0, bare=True) for _ in range(runs)])


def run_calls(log: Callable[[str], None], rounds: int = CALL_ROUNDS) -> dict[str, Any]:
    log(f"sender AWS calls: {rounds} batches of 10, counted")
    return calls_figures(_run(rounds, 0, bare=False))


def run_cost(log: Callable[[str], None], rounds: int = COST_ROUNDS) -> dict[str, Any]:
    log(f"sender cost: {rounds} batches of 10 to a peer that waits {DELAY_MS:g} ms before each reply")
    figures = _run(rounds, DELAY_MS, bare=False)
    return cost_figures(figures, _memory("emails_sender"), _memory("emails_send"))


def _verdict(result: dict[str, Any]) -> str:
    if not result["delivered_ok"]:
        return "FAIL (not every e-mail was delivered)"
    return "PASS" if result["met"] else "FAIL"


def render_cpu(result: dict[str, Any]) -> str:
    runs = ", ".join(f"{v:.2f}" for v in result["runs_ms"])
    return (
        f"\nSENDER CPU per delivered e-mail beyond a bare smtplib loop (issue 24; {result['batches']} "
        f"batches of 10, {len(result['runs_ms'])} runs)\n  {result['beyond_ms']:.2f} ms (runs {runs}; "
        f"IQR {result['iqr_ms'][0]:.2f}-{result['iqr_ms'][1]:.2f}): sender {result['sender_ms']:.2f} ms, "
        f"smtplib loop {result['bare_ms']:.2f} ms; target <= {result['target_ms']:g} ms: {_verdict(result)} "
        f"(load average {result['load_average'][0]})\n  for information: smtplib with a connection per "
        f"e-mail (as the sender opens them) {result['bare_apart_ms']:.2f} ms; the in-memory AWS answers, "
        f"counted in the sender's time as the network exchange they stand in for, "
        f"{result['answer_ms']:.3f} ms"
    )


def render_calls(result: dict[str, Any]) -> str:
    detail = ", ".join(f"{k} {v:g}" for k, v in result["detail"].items())
    iam = "yes" if not result["denied"] else "NO " + ", ".join(result["denied"])
    send = ", ".join(f"{k} {v:g}" for k, v in result["send_detail"].items())
    return (
        f"\nSENDER AWS CALLS per delivered e-mail (issue 24; batches of 10, {result['batches']} batches)\n"
        f"  {result['calls']:g} ({detail}); IAM allows: {iam}; "
        f"target <= {result['target']}: {_verdict(result)}\n"
        f"  beside it, emails/send: {result['send_calls']:g} a request ({send})"
    )


def render_cost(result: dict[str, Any]) -> str:
    items = ", ".join(f"{k} {v:.5f}" for k, v in result["items"].items())
    memory = result["sender_memory_mb"]
    return (
        f"\nSENDER COST per 1,000 e-mails (issue 24; peer waits {result['delay_ms']:g} ms before each "
        f"reply; {result['batches']} batches of 10)\n"
        f"  ${result['total']:.4f} beside Amazon SES's ${result['ses']:.2f}: {_verdict(result)}\n"
        f"  batch wall {result['wall_ms_per_batch']:.0f} ms, billed "
        f"{result['billed_ms_per_email']:.1f} ms an e-mail at {memory} MB arm64; {items}\n"
        f"  (the sender's CPU, {result['cpu_ms_per_email']:.2f} ms an e-mail here, would take about "
        f"{result['cpu_at_memory_ms']:.0f} ms at {result['sender_memory_mb']} MB's share of a vCPU)"
    )


PARTS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], str], str]] = {
    "sendcpu": (run_cpu, render_cpu, "sender CPU beyond smtplib"),
    "sendcalls": (run_calls, render_calls, "sender AWS calls per e-mail"),
    "sendcost": (run_cost, render_cost, "sender cost per 1,000 e-mails"),
}


def render(name: str, result: dict[str, Any]) -> str:
    return PARTS[name][1](result)


def missed(name: str, result: dict[str, Any]) -> list[str]:
    return [PARTS[name][2]] if result.get("measured") and not result["met"] else []


if __name__ == "__main__":  # python -m bench.sending [PART...]: these parts alone
    for part in sys.argv[1:] or list(PARTS):
        outcome = PARTS[part][0](lambda message: print(f"  .. {message}", file=sys.stderr, flush=True))
        print(render(part, outcome))
