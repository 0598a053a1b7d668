"""`make bench`, part "delivery" (issue 24): queued to delivered in `make run` when nothing paces.

`python -m local_runtime` on free loopback ports (the demo account, whose app has `timebetweenemails` 0
and a server pointing at the sink). One e-mail first (the sender's cold start, reported apart), then
EMAILS e-mails one after the other, each sent when the one before reached the sink: from the moment
POST /private/emails/send answered 200 (`status` Q: the id is on SendQueue) to the moment the sink
printed the e-mail's Subject line (the sender handed it over and the server accepted it). The figures
are the median and the max; the target is every one under TARGET_SECONDS. The load average is recorded
beside them.

The path is the real one: emails/send's function, SendQueue in moto, the local runtime's SQS poller
(batching window LOCAL_BATCH_WINDOW_SECONDS), EmailsSenderFunction in its execution environment, S3 and
DynamoDB in moto, the sink over SMTP. Until emails_send and EmailsSenderFunction are in template.yaml,
the part answers "not measured" naming what is missing.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from bench.runstart import INBOX, TIMEOUT, Runtime
from local_runtime import template

EMAILS = 10
TARGET_SECONDS = 2.0
SEND = ("POST", "/private/emails/send")
SENDER = "EmailsSenderFunction"


def missing(document: dict[str, Any] | None = None) -> list[str]:
    """What the template lacks for this part (empty: it can be measured)."""
    document = document if document is not None else template.default()
    found = []
    if not any((r.method, r.path) == SEND for r in template.routes(document)):
        found.append("emails_send")
    if SENDER not in template.functions(document):
        found.append(SENDER)
    return found


class Watched(Runtime):
    """The runtime, each output line's arrival time kept for the Subject lines the sink prints."""

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("Subject: "):
                with self.seen:
                    self.subjects[line.rstrip("\n")[len("Subject: ") :]] = time.perf_counter()
                    self.seen.notify_all()

    def __init__(self) -> None:
        self.seen = threading.Condition()
        self.subjects: dict[str, float] = {}
        super().__init__()

    def delivered(self, subject: str, timeout: float) -> float:
        with self.seen:
            if not self.seen.wait_for(lambda: subject in self.subjects, timeout):
                raise RuntimeError(f"the sink did not receive {subject!r} within {timeout} s")
            return self.subjects[subject]


def one(runtime: Watched, token: str, idapp: str, subject: str) -> float:
    """Seconds from emails/send's 200 to the sink's Subject line for one e-mail."""
    reply = requests.post(
        f"{runtime.api}/private/emails/send",
        data={"idapp": idapp, "tos": INBOX, "subject": subject, "body": "make bench: queued to delivered"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    queued = time.perf_counter()
    if reply.status_code != 200 or reply.json().get("status") != "Q":
        raise RuntimeError(f"emails/send answered {reply.status_code}: {reply.text[:300]}")
    return runtime.delivered(subject, TIMEOUT) - queued


def figures(cold: float, warm: list[float]) -> dict[str, Any]:
    return {
        "measured": True,
        "emails": len(warm),
        "cold_s": round(cold, 3),
        "seconds": [round(value, 3) for value in warm],
        "median_s": round(statistics.median(warm), 3),
        "max_s": round(max(warm), 3),
        "target_s": TARGET_SECONDS,
        "met": max(warm) < TARGET_SECONDS,
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def run(log: Callable[[str], None], emails: int = EMAILS) -> dict[str, Any]:
    lacking = missing()
    if lacking:
        log(f"delivery: not measured: {', '.join(lacking)} missing from template.yaml")
        return {"measured": False, "missing": lacking}
    log(f"make run: queued to delivered, 1 cold then {emails} e-mails")
    runtime = Watched()
    try:
        token = runtime.login()
        apps = requests.get(
            f"{runtime.api}/private/apps/findAll",
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        idapp = apps.json()["content"][0]["_id"]
        stamp = time.time_ns()
        cold = one(runtime, token, idapp, f"bench {stamp} cold")
        warm = [one(runtime, token, idapp, f"bench {stamp} {n}") for n in range(emails)]
    finally:
        runtime.stop()
    return figures(cold, warm)


def render(result: dict[str, Any]) -> str:
    head = "make run: queued to delivered (issue 24)"
    if not result.get("measured"):
        return f"\n{head}\n  not measured: {', '.join(result.get('missing', []))} missing"
    return (
        f"\n{head}\n  {result['emails']} e-mails, nothing pacing: median {result['median_s']:.3f} s, "
        f"max {result['max_s']:.3f} s (the first, a cold start: {result['cold_s']:.3f} s); target under "
        f"{result['target_s']:g} s each: {'met' if result['met'] else 'MISSED'} "
        f"(load average {result['load_average'][0]})"
    )


def missed(result: dict[str, Any]) -> list[str]:
    return ["make run: queued to delivered"] if result.get("measured") and not result["met"] else []


if __name__ == "__main__":  # python -m bench.delivery: this part alone
    outcome = run(lambda message: print(f"  .. {message}", file=sys.stderr, flush=True))
    print(render(outcome))
    sys.exit(1 if missed(outcome) else 0)
