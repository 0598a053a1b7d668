"""`make run`'s schedule (issue 13): the template's scheduled functions and queues, through the functions.

- Every AWS::SQS::Queue of the template is created in moto (its `!Ref` is the queue's URL, `!GetAtt .Arn`
  its ARN), before the functions' variables are resolved.
- Every HEALTH_SWEEP_SECONDS (default 30) the functions with a `Schedule`/`ScheduleV2` event are invoked
  (the sweep), then each queue feeding a function through an AWS::Lambda::EventSourceMapping is drained
  into it as Lambda would: batches of its BatchSize, the entries of `batchItemFailures` left on the queue
  (received again at the next round).
- A rule on moto's default event bus catches the template's alerts (source `smtp-hub`) into a queue of
  its own; each is printed: "[health] SMTP server disabled: 127.0.0.1:2525 (smtp ...) RCPT 550: ...".
- HEALTH_BACKOFF_SECONDS (default `10,30,60,300` here) becomes the template parameter HealthBackoffSeconds
  unless `--parameter HealthBackoffSeconds=...` is given.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from local_runtime import say, template
from local_runtime.cfn import Resolver
from local_runtime.health_events import sqs_event, sqs_record

BACKOFF_PARAMETER = "HealthBackoffSeconds"
LOCAL_BACKOFF = "10,30,60,300"
DEFAULT_SWEEP_SECONDS = 30.0
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


def sweep_seconds(text: str | None) -> float:
    """HEALTH_SWEEP_SECONDS: unset for 30, else seconds above 0."""
    if text is None or not text.strip():
        return DEFAULT_SWEEP_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"HEALTH_SWEEP_SECONDS must be seconds above 0, not {text!r}")
    return value


def create_queues(sqs: Any, document: Mapping[str, Any], resolver: Resolver) -> list[str]:
    """The template's queues in moto; their URLs and ARNs recorded for !Ref and !GetAtt."""
    created = []
    for name, resource in template.resources(dict(document), "AWS::SQS::Queue").items():
        props = resolver.resolve(resource.get("Properties", {}))
        queue = str(props.get("QueueName") or f"{resolver.stack_name}-{name}")
        url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.physical[name] = url
        resolver.attributes.update({(name, "Arn"): arn, (name, "QueueName"): queue})
        created.append(f"queue {queue}")
    return created


def scheduled_functions(document: Mapping[str, Any]) -> list[str]:
    """The functions the template runs on a schedule (EventBridge Scheduler or a schedule rule)."""
    return [
        name
        for name, resource in template.resources(dict(document), "AWS::Serverless::Function").items()
        if any(
            event.get("Type") in ("Schedule", "ScheduleV2")
            for event in (resource["Properties"].get("Events") or {}).values()
        )
    ]


def queue_consumers(document: Mapping[str, Any], resolver: Resolver) -> list[tuple[str, str, int]]:
    """(queue URL, function, batch size) of every event source mapping that reads a queue."""
    found = []
    for resource in template.resources(dict(document), "AWS::Lambda::EventSourceMapping").values():
        props = resource["Properties"]
        source, function = props.get("EventSourceArn"), props.get("FunctionName")
        if not (isinstance(source, dict) and "Fn::GetAtt" in source and isinstance(function, dict)):
            continue
        queue = source["Fn::GetAtt"][0]
        if document["Resources"][queue]["Type"] == "AWS::SQS::Queue":
            batch = int(resolver.resolve(props.get("BatchSize", 10)))
            found.append((str(resolver.ref(queue)), str(function.get("Ref")), batch))
    return found


class HealthSchedule:
    """The sweep every `interval` seconds, the queues drained into their consumers, the alerts printed."""

    def __init__(
        self,
        sqs: Any,
        events: Any,
        *,
        sweeps: list[Invoke],
        consumers: list[tuple[str, Invoke, int]],
        interval: float,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.sqs = sqs
        self.events = events
        self.sweeps = sweeps
        self.consumers = consumers
        self.interval = interval
        self.log = log or (lambda line: None)
        self.alerts_url = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return bool(self.sweeps)

    def start(self) -> None:
        if not self.active:
            return
        self.alerts_url = self.sqs.create_queue(QueueName=ALERTS)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.alerts_url, AttributeNames=["QueueArn"])
        self.events.put_rule(Name=ALERTS, EventPattern=json.dumps({"source": ["smtp-hub"]}))
        self.events.put_targets(Rule=ALERTS, Targets=[{"Id": "print", "Arn": arn["Attributes"]["QueueArn"]}])
        self._thread = threading.Thread(target=self._run, name="health-schedule", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.round()
            except Exception as error:  # the next round tries again; the runtime goes on
                self.log(f"[health] round failed: {type(error).__name__}: {error}")

    def round(self) -> None:
        """One sweep, its queues drained, the alerts printed (also called by the tests)."""
        for sweep in self.sweeps:
            sweep({})
        for url, consumer, batch in self.consumers:
            self._drain(url, consumer, batch)
        self.print_alerts()

    def _drain(self, url: str, consumer: Invoke, batch: int) -> None:
        for _ in range(1000):  # bounded: failures stay for the next round
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(batch, 10)).get(
                "Messages", []
            )
            if not messages:
                return
            now = int(time.time() * 1000)
            answer = consumer(sqs_event([sqs_record(m["Body"], m["MessageId"], now) for m in messages]))
            failed = {item["itemIdentifier"] for item in (answer or {}).get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if failed:
                return

    def print_alerts(self) -> None:
        while self.alerts_url:
            messages = self.sqs.receive_message(QueueUrl=self.alerts_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            for message in messages:
                self.log(alert_line(json.loads(message["Body"])))
                self.sqs.delete_message(QueueUrl=self.alerts_url, ReceiptHandle=message["ReceiptHandle"])


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


def for_runtime(runtime: Any, environ: Mapping[str, str]) -> HealthSchedule:
    """The schedule of a started LocalRuntime (its functions, its moto, its template)."""

    def invoker(function: Any) -> Invoke:
        def deliver(event: dict[str, Any]) -> Any:
            outcome = function.invoke(event)
            if not outcome.ok:
                raise RuntimeError(outcome.error or f"{function.name} timed out")
            return outcome.value

        return deliver

    functions = runtime.functions
    sweeps = [invoker(functions[name]) for name in scheduled_functions(runtime.document) if name in functions]
    consumers = [
        (url, invoker(functions[name]), batch)
        for url, name, batch in queue_consumers(runtime.document, runtime.resolver)
        if name in functions
    ]
    log = None if runtime.settings.quiet else say
    return HealthSchedule(
        runtime.aws.client("sqs"),
        runtime.aws.client("events"),
        sweeps=sweeps,
        consumers=consumers,
        interval=sweep_seconds(environ.get("HEALTH_SWEEP_SECONDS")),
        log=log,
    )
