"""`make run`'s schedule (local_runtime.scheduler): the template's sweep and queue consumer found, run through
the same handlers in moto, each status change printed; the local settings. The queues' event sources on
their own: tests/integration/test_local_queues.py."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from local_runtime import queues, scheduler, template
from local_runtime.cfn import Resolver
from tests.support.health import call_handler, create_server, server_json
from tests.support.lambdas import call


def test_the_template_s_schedule_and_consumer_are_found():
    document = template.default()
    assert scheduler.scheduled_functions(document) == ["EmailsSweepFunction", "HealthSweepFunction"]
    sources = template.queue_sources(document)
    assert [(s.name, s.function, s.queue) for s in sources] == [
        ("HealthWorkerQueue", "HealthWorkerFunction", "HealthQueue"),
        ("EmailsSenderQueue", "EmailsSenderFunction", "SendQueue"),
        ("WebhooksSenderQueue", "WebhooksSenderFunction", "WebhookQueue"),
    ]
    resolver = Resolver(document)
    handlers = {"HealthSweepFunction": lambda event: None, "EmailsSweepFunction": lambda event: None}
    timers = scheduler.timers(document, resolver, handlers, 30)
    assert [(t.name, t.period, t.event, t.expression) for t in timers] == [
        ("HealthSweepFunction", 30, {}, "rate(5 minutes)"),
        ("EmailsSweepFunction", 30, {}, "rate(1 minute)"),
    ]
    assert (
        scheduler.timers(document, resolver, {"HealthSweepFunction": lambda event: None}, 3600)[0].period
        == 300
    )


def test_schedule_expressions_and_events():
    assert scheduler.rate_seconds("rate(1 minute)") == 60
    assert scheduler.rate_seconds("rate(5 minutes)") == 300
    assert scheduler.rate_seconds("rate(2 hours)") == 7200
    assert scheduler.rate_seconds("rate(1 day)") == 86400
    assert scheduler.rate_seconds("cron(0 12 * * ? *)") is None
    assert scheduler.schedule_event("ScheduleV2", {}) == {}
    assert scheduler.schedule_event("ScheduleV2", {"Input": '{"a": 1}'}) == {"a": 1}
    rule = scheduler.schedule_event("Schedule", {})
    assert (rule["detail-type"], rule["source"], rule["detail"]) == ("Scheduled Event", "aws.events", {})


def test_the_local_backoff_and_sweep_interval():
    document = template.default()
    assert scheduler.local_parameters({}, document, {})["HealthBackoffSeconds"] == "10,30,60,300"
    assert (
        scheduler.local_parameters({}, document, {"HEALTH_BACKOFF_SECONDS": "5,50"})["HealthBackoffSeconds"]
        == "5,50"
    )
    given = {"HealthBackoffSeconds": "1"}
    assert scheduler.local_parameters(given, document, {"HEALTH_BACKOFF_SECONDS": "5"}) == given
    assert scheduler.schedule_seconds({}) == 30
    assert scheduler.schedule_seconds({"LOCAL_SCHEDULE_SECONDS": "0.5"}) == 0.5
    assert scheduler.schedule_seconds({"HEALTH_SWEEP_SECONDS": "7"}) == 7  # the former name
    assert scheduler.schedule_seconds({"LOCAL_SCHEDULE_SECONDS": "2", "HEALTH_SWEEP_SECONDS": "7"}) == 2
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="LOCAL_SCHEDULE_SECONDS"):
            scheduler.schedule_seconds({"LOCAL_SCHEDULE_SECONDS": bad})


def test_the_template_s_queues_are_created_for_ref_and_getatt(aws):
    document = template.default()
    resolver = Resolver(document)
    sqs = boto3.client("sqs", region_name="us-east-1")
    created = queues.create_queues(sqs, document, resolver)
    assert len(created) == len(template.resources(document, "AWS::SQS::Queue"))
    assert str(resolver.ref("HealthQueue")).startswith("https://")
    assert resolver.get_att("HealthQueue", "Arn").startswith("arn:aws:sqs:")
    # The template's attributes, the redrive to the DLQ included
    attributes = sqs.get_queue_attributes(QueueUrl=str(resolver.ref("HealthQueue")), AttributeNames=["All"])
    assert attributes["Attributes"]["VisibilityTimeout"] == "1440"
    assert attributes["Attributes"]["MessageRetentionPeriod"] == "86400"
    assert json.loads(attributes["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": resolver.get_att("HealthDeadLetterQueue", "Arn"),
        "maxReceiveCount": 5,
    }


def test_a_sweep_reaches_the_worker_through_the_queue_and_each_status_change_is_printed(health, flaky):
    printed: list[str] = []
    sweep = scheduler.Timer(
        "HealthSweepFunction", lambda event: call_handler("health_sweep", event), 3600, {}, "rate(5 minutes)"
    )
    worker = queues.QueuePoller(
        "HealthQueue -> HealthWorkerFunction",
        health.sqs,
        health.queue_url,
        "arn:aws:sqs:us-east-1:123456789012:health",
        lambda event: call_handler("health_worker", event),
        properties={"BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
        workers=2,
    )
    schedule = scheduler.Schedule(
        health.sqs,
        boto3.client("events", region_name="us-east-1"),
        timers=[sweep],
        pollers=[worker],
        log=printed.append,
    )
    schedule.start()
    try:
        idsmtp = create_server(flaky.port)
        flaky.sink.failing = True
        assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
        flaky.sink.failing = False
        health.clock.advance(10)
        schedule.fire(sweep)
        deadline = time.monotonic() + 20
        while len(printed) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        schedule.stop()
    assert server_json(idsmtp)["status"] == "A"
    assert [line.split(":")[0] for line in printed] == [
        "[health] SMTP server disabled",
        "[health] SMTP server enabled",
    ]
    assert f"(smtp {idsmtp}, scheduled)" in printed[1]
    assert worker.delivered == 1
