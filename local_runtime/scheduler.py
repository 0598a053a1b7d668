"""`make run`'s schedule (issues 13, 24): the template's scheduled functions, its queues' consumers, alerts.

- Every AWS::SQS::Queue of the template is created in moto (local_runtime.queues.create_queues), before the
  functions' variables are resolved, and each SQS event source is polled into its function
  (local_runtime.queues.QueuePoller).
- Every function with a `Schedule`/`ScheduleV2` event runs on its `rate(...)` expression, shortened to
  LOCAL_SCHEDULE_SECONDS (default 30; HEALTH_SWEEP_SECONDS is its former name) when that is shorter; a
  `cron(...)` expression runs every LOCAL_SCHEDULE_SECONDS (cron is not emulated). The first run is one
  period after start. A ScheduleV2 target gets its `Input` (SAM's default: `{}`), a Schedule rule's its
  `Input` or EventBridge's "Scheduled Event".
- A rule on moto's default event bus catches the template's alerts (source `smtp-hub`) into a queue of
  its own; each is printed: "[health] SMTP server disabled: 127.0.0.1:2525 (smtp ...) RCPT 550: ...".
- HEALTH_BACKOFF_SECONDS (default `10,30,60,300` here) becomes the template parameter HealthBackoffSeconds
  unless `--parameter HealthBackoffSeconds=...` is given.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local_runtime import queues, say, template
from local_runtime.queues import QueuePoller

BACKOFF_PARAMETER = "HealthBackoffSeconds"
LOCAL_BACKOFF = "10,30,60,300"
DEFAULT_SCHEDULE_SECONDS = 30.0
ALERTS = "smtp-hub-local-alerts"
Invoke = Callable[[dict[str, Any]], Any]


def local_parameters(
    parameters: Mapping[str, str], document: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, str]:
    """The template parameters with the local backoff (HEALTH_BACKOFF_SECONDS, else LOCAL_BACKOFF)."""
    found = dict(parameters)
    if BACKOFF_PARAMETER in document.get("Parameters", {}):
        found.setdefault(
            BACKOFF_PARAMETER, environ.get("HEALTH_BACKOFF_SECONDS", "").strip() or LOCAL_BACKOFF
        )
    return found


def schedule_seconds(environ: Mapping[str, str]) -> float:
    """LOCAL_SCHEDULE_SECONDS (or its former name, HEALTH_SWEEP_SECONDS): unset for 30, else seconds
    above 0."""
    name = "LOCAL_SCHEDULE_SECONDS" if "LOCAL_SCHEDULE_SECONDS" in environ else "HEALTH_SWEEP_SECONDS"
    text = environ.get(name)
    if text is None or not text.strip():
        return DEFAULT_SCHEDULE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{name} must be seconds above 0, not {text!r}")
    return value


_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """The period of a `rate(N unit)` expression in seconds; None for anything else (cron, at)."""
    found = _RATE.fullmatch(expression.strip())
    return None if found is None else float(int(found[1]) * _UNIT[found[2].rstrip("s")])


def schedule_event(kind: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """What the target receives: its Input, else `{}` (ScheduleV2) or EventBridge's Scheduled Event."""
    if properties.get("Input"):
        value: dict[str, Any] = json.loads(str(properties["Input"]))
        return value
    if kind == "ScheduleV2":
        return {}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def scheduled_functions(document: Mapping[str, Any]) -> list[str]:
    """The functions the template runs on a schedule (EventBridge Scheduler or a schedule rule)."""
    return sorted({source.function for source in template.schedule_sources(dict(document))})


@dataclass
class Timer:
    """One scheduled function: invoked every `period` seconds with `event`."""

    name: str
    invoke: Invoke
    period: float
    event: dict[str, Any]
    expression: str


def timers(
    document: Mapping[str, Any], resolver: Any, functions: Mapping[str, Invoke], cap: float
) -> list[Timer]:
    found = []
    for source in template.schedule_sources(dict(document)):
        if source.function not in functions:
            continue
        props = resolver.resolve(source.properties)
        if props.get("Enabled", True) in (False, "false") or props.get("State") == "DISABLED":
            continue
        expression = str(props.get("ScheduleExpression") or props.get("Schedule") or "")
        period = rate_seconds(expression)
        found.append(
            Timer(
                source.function,
                functions[source.function],
                min(period, cap) if period is not None else cap,
                schedule_event(source.kind, props),
                expression,
            )
        )
    return found


class Schedule:
    """The scheduled functions each on its timer, the queues polled into their consumers, alerts printed."""

    def __init__(
        self,
        sqs: Any,
        events: Any,
        *,
        timers: Sequence[Timer],
        pollers: Sequence[QueuePoller],
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.sqs = sqs
        self.events = events
        self.timers = list(timers)
        self.pollers = list(pollers)
        self.log = log or (lambda line: None)
        self.alerts: QueuePoller | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def active(self) -> bool:
        return bool(self.timers or self.pollers)

    def start(self) -> None:
        if not self.active:
            return
        url = self.sqs.create_queue(QueueName=ALERTS)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(Name=ALERTS, EventPattern=json.dumps({"source": ["smtp-hub"]}))
        self.events.put_targets(Rule=ALERTS, Targets=[{"Id": "print", "Arn": arn}])
        self.alerts = QueuePoller(
            "alerts", self.sqs, url, arn, self._print, properties={}, workers=1, log=self.log
        )
        for poller in [*self.pollers, self.alerts]:
            poller.start()
        for timer in self.timers:
            thread = threading.Thread(
                target=self._run, args=(timer,), name=f"schedule-{timer.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for poller in [*self.pollers, *([self.alerts] if self.alerts else [])]:
            poller.stop()

    def _run(self, timer: Timer) -> None:
        while not self._stop.wait(timer.period):
            self.fire(timer)

    def fire(self, timer: Timer) -> None:
        """One scheduled invocation (also called by the tests); a failure is printed, the next one comes."""
        try:
            timer.invoke(dict(timer.event))
        except Exception as error:
            self.log(f"[schedule] {timer.name} failed: {type(error).__name__}: {error}")

    def _print(self, event: Mapping[str, Any]) -> None:
        for record in event["Records"]:
            self.log(alert_line(json.loads(record["body"])))


def alert_line(event: Mapping[str, Any]) -> str:
    detail = event.get("detail") or {}
    where = (
        f"{detail.get('host')}:{detail.get('port')} (smtp {detail.get('idsmtp')}, {detail.get('trigger')})"
    )
    if event.get("detail-type") == "SMTP certificate expiring":
        days, until = detail.get("daysLeft"), detail.get("notAfter")
        return f"[health] {event['detail-type']}: {where} in {days} days ({until})"
    stage = f" {detail.get('stage')} {detail.get('code') or ''}".rstrip() if detail.get("stage") else ""
    return f"[health] {event.get('detail-type')}: {where}{stage}: {detail.get('message')}"


def invoker(function: Any) -> Invoke:
    """Invoke a LocalFunction as an event source does: its answer, or an error when the invocation failed."""

    def deliver(event: dict[str, Any]) -> Any:
        outcome = function.invoke(event)
        if not outcome.ok:
            raise RuntimeError(outcome.error or f"{function.name} timed out")
        return outcome.value

    return deliver


def for_runtime(runtime: Any, environ: Mapping[str, str]) -> Schedule:
    """The schedule of a started LocalRuntime (its functions, its moto, its template)."""
    log = None if runtime.settings.quiet else say
    functions = {name: invoker(function) for name, function in runtime.functions.items()}
    cap = queues.window_cap(environ.get("LOCAL_BATCH_WINDOW_SECONDS"))
    return Schedule(
        runtime.aws.client("sqs"),
        runtime.aws.client("events"),
        timers=timers(runtime.document, runtime.resolver, functions, schedule_seconds(environ)),
        pollers=queues.pollers(runtime, invoker, cap, log),
        log=log,
    )
