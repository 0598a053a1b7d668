"""`make run`'s schedule (local_runtime.scheduler): the template's sweep and queue consumer found, run through
the same handlers in moto, each status change printed; the local settings."""

from __future__ import annotations

import boto3
import pytest

from local_runtime import scheduler, template
from local_runtime.cfn import Resolver
from tests.support.health import call_handler, create_server, server_json
from tests.support.lambdas import call


def test_the_template_s_schedule_and_consumer_are_found():
    document = template.default()
    assert scheduler.scheduled_functions(document) == ["HealthSweepFunction", "EmailsSweepFunction"]
    resolver = Resolver(document)
    resolver.physical["HealthQueue"] = "https://sqs.local/health"
    resolver.physical["SendQueue"] = "https://sqs.local/send"
    resolver.physical["WebhookQueue"] = "https://sqs.local/webhooks"
    assert scheduler.queue_consumers(document, resolver) == [
        ("https://sqs.local/health", "HealthWorkerFunction", 10),
        ("https://sqs.local/send", "EmailsSenderFunction", 10),
        ("https://sqs.local/webhooks", "WebhooksSenderFunction", 10),
    ]


def test_the_local_backoff_and_sweep_interval():
    document = template.default()
    assert scheduler.local_parameters({}, document, {})["HealthBackoffSeconds"] == "10,30,60,300"
    assert (
        scheduler.local_parameters({}, document, {"HEALTH_BACKOFF_SECONDS": "5,50"})["HealthBackoffSeconds"]
        == "5,50"
    )
    given = {"HealthBackoffSeconds": "1"}
    assert scheduler.local_parameters(given, document, {"HEALTH_BACKOFF_SECONDS": "5"}) == given
    assert scheduler.sweep_seconds(None) == 30
    assert scheduler.sweep_seconds("0.5") == 0.5
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ValueError, match="HEALTH_SWEEP_SECONDS"):
            scheduler.sweep_seconds(bad)


def test_the_template_s_queues_are_created_for_ref_and_getatt(aws):
    document = template.default()
    resolver = Resolver(document)
    created = scheduler.create_queues(boto3.client("sqs", region_name="us-east-1"), document, resolver)
    assert len(created) == len(template.resources(document, "AWS::SQS::Queue"))
    assert str(resolver.ref("HealthQueue")).startswith("https://")
    assert resolver.get_att("HealthQueue", "Arn").startswith("arn:aws:sqs:")


def test_a_round_sweeps_drains_and_prints_each_status_change(health, flaky):
    printed: list[str] = []
    schedule = scheduler.HealthSchedule(
        health.sqs,
        boto3.client("events", region_name="us-east-1"),
        sweeps=[lambda event: call_handler("health_sweep", event)],
        consumers=[(health.queue_url, lambda event: call_handler("health_worker", event), 10)],
        interval=3600,
        log=printed.append,
    )
    schedule.start()
    try:
        idsmtp = create_server(flaky.port)
        flaky.sink.failing = True
        assert call("smtps_check", {"idsmtp": idsmtp}).status == 406
        flaky.sink.failing = False
        health.clock.advance(10)
        schedule.round()
    finally:
        schedule.stop()
    assert server_json(idsmtp)["status"] == "A"
    assert [line.split(":")[0] for line in printed] == [
        "[health] SMTP server disabled",
        "[health] SMTP server enabled",
    ]
    assert f"(smtp {idsmtp}, scheduled)" in printed[1]
