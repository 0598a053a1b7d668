"""The outbox (`smtphub.webhooks.outbox.Outbox.notify`): what tracking, blacklists and the e-mails' outcomes
call. One delivery queued when the app has a URL for the event, one EventBridge event always; the event's
detail carries ids and the recipient, never a link; a retry with the same key carries the same `idevent`;
a refusal by SQS or EventBridge is NotifyFailed, and notify_all says which of the two was done."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from smtphub.apps.models import App
from smtphub.webhooks.delivery import Delivery
from smtphub.webhooks.outbox import BOTH, EVENT, WEBHOOK, Notice, NotifyFailed, Outbox
from smtphub.webhooks.queue import DeliveryQueue

APP = App(id="6741f0a2c3d4e5f6a7b8c9d0", account_id="acct-a", created="", modified="", name="shop",
          webhook_tracking_clicked="https://hooks.example.net/clicked")  # fmt: skip
CLICK = {
    "qm_idsending": "6741f0b7d1e2f3a4b5c6d7e8",
    "qm_email": "ann@example.org",
    "qm_url": "https://x.example/p?t=1",
}


class Sqs:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = fail

    def send_message_batch(self, **request: Any) -> Any:
        if self.fail:
            return {
                "Failed": [{"Id": e["Id"], "Code": "x", "SenderFault": False} for e in request["Entries"]]
            }
        self.sent += request["Entries"]
        return {"Successful": [{"Id": e["Id"]} for e in request["Entries"]]}


class Events:
    def __init__(self, error: BaseException | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self.error = error

    def put_events(self, **request: Any) -> Any:
        if self.error is not None:
            raise self.error
        self.entries += request["Entries"]
        return {
            "FailedEntryCount": 0,
            "Entries": [{"EventId": str(n)} for n in range(len(request["Entries"]))],
        }


def outbox(sqs: Sqs, events: Events) -> Outbox:
    return Outbox(DeliveryQueue(lambda: sqs, "https://sqs/q"), lambda: events, clock=lambda: 1_800_000_000.0)  # type: ignore[arg-type,return-value]


def test_an_event_with_a_url_queues_one_delivery_and_puts_one_event_without_the_link() -> None:
    sqs, events = Sqs(), Events()
    outbox(sqs, events).notify(APP, "tracking_clicked", CLICK)
    (message,) = sqs.sent
    delivery = Delivery.parse(message["MessageBody"])
    assert (delivery.app_id, delivery.account_id, delivery.event) == (APP.id, "acct-a", "tracking_clicked")
    assert dict(delivery.params) == CLICK
    assert message["DelaySeconds"] == 0
    (entry,) = events.entries
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "smtp-hub",
        "Link clicked",
        "default",
    )
    detail = json.loads(entry["Detail"])
    assert detail == {
        "idevent": delivery.id,
        "event": "tracking_clicked",
        "idapp": APP.id,
        "iduser": "acct-a",
        "at": "2027-01-15T08:00:00.000Z",
        "idsending": CLICK["qm_idsending"],
        "email": "ann@example.org",
    }
    assert "x.example" not in entry["Detail"]


def test_without_a_url_for_the_event_only_the_event_is_put() -> None:
    sqs, events = Sqs(), Events()
    outbox(sqs, events).notify(APP, "tracking_opened", {"qm_idsending": "1" * 24, "qm_email": "a@b.example"})
    assert sqs.sent == []
    assert [e["DetailType"] for e in events.entries] == ["Email opened"]


def test_the_same_key_gives_the_same_event_id_and_no_key_a_new_one() -> None:
    sqs, events = Sqs(), Events()
    box = outbox(sqs, events)
    for key in ("e1", "e1", None, None):
        box.notify(APP, "tracking_clicked", CLICK, key=key)
    ids = [Delivery.parse(m["MessageBody"]).id for m in sqs.sent]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 3
    assert [json.loads(e["Detail"])["idevent"] for e in events.entries] == ids


@pytest.mark.parametrize(
    ("event", "params", "problem"),
    [
        ("sending_started", {"qm_idsending": "1"}, "no such event"),
        ("tracking_clicked", {"qm_idsending": "1", "qm_email": "a@b.example"}, "qm_url is required"),
        ("sending_finished", {"qm_idsending": "1", "subject": "hi"}, "subject is not a parameter"),
    ],
)
def test_an_unknown_event_or_parameter_is_a_caller_defect(
    event: str, params: dict[str, str], problem: str
) -> None:
    sqs, events = Sqs(), Events()
    with pytest.raises(ValueError, match=problem):
        outbox(sqs, events).notify(APP, event, params)
    assert sqs.sent == []
    assert events.entries == []


def test_a_refusal_is_notify_failed_and_notify_all_says_what_was_done() -> None:
    box = outbox(Sqs(fail=True), Events())
    with pytest.raises(NotifyFailed):
        box.notify(APP, "tracking_clicked", CLICK)
    notices = [Notice(APP, "tracking_clicked", CLICK, key="k")]
    assert box.notify_all(notices) == [frozenset({EVENT})]
    down = outbox(Sqs(), Events(EndpointConnectionError(endpoint_url="https://events")))
    assert down.notify_all(notices) == [frozenset({WEBHOOK})]
    assert down.notify_all([Notice(APP, "tracking_clicked", CLICK, channels=frozenset({WEBHOOK}))]) == [BOTH]
