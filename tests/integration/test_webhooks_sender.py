"""WebhooksSenderFunction's work (smtphub.webhooks.sender) against a local HTTPS receiver that verifies each
signature with the README's own snippet (tests/support/webhook_receiver.py).

The queue is a recording stand-in for SQS (what is sent, with its delay); the time is a clock the test
moves by each message's delay, the receiver's replay window reading the same clock. `hooks.example`
resolves to 127.0.0.1 through the SSRF guard's own lookup (netguard.resolve runs whole), so the guard
judges the address as it would a real one: refused when deployed, allowed where private addresses are
(`make run`).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from smtphub import netguard
from smtphub.apps.models import App
from smtphub.webhooks.delivery import Delivery
from smtphub.webhooks.outbox import Outbox
from smtphub.webhooks.queue import DeliveryQueue
from smtphub.webhooks.sender import SECONDS, Poster, WebhookSender
from tests.support.webhook_receiver import HOST, Receiver, readme_verify, running_receiver

pytestmark = pytest.mark.usefixtures("trust_test_ca")
SECRET = "whsec-" + "k" * 40
IDSENDING = "6741f0b7d1e2f3a4b5c6d7e8"
START = 1_800_000_000.0


class Sqs:
    """SendMessageBatch, recorded: (body, delay) in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send_message_batch(self, **request: Any) -> Any:
        self.sent += [(entry["MessageBody"], entry["DelaySeconds"]) for entry in request["Entries"]]
        return {"Successful": [{"Id": entry["Id"]} for entry in request["Entries"]]}


class Events:
    def put_events(self, **request: Any) -> Any:
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in request["Entries"]]}


class Apps:
    def __init__(self, app: App | None) -> None:
        self.app = app

    def get(self, account_id: str, app_id: str) -> App | None:
        return self.app


class Secrets:
    def __init__(self) -> None:
        self.reads = 0

    def read(self, app_id: str, version_id: str) -> str | None:
        self.reads += 1
        return SECRET if version_id == "v1" else None


class World:
    """The sender, its queues and the clock; `run()` hands each queued message to the sender once its delay
    has passed, until the queue is empty."""

    def __init__(
        self,
        receiver: Receiver,
        *,
        allow_private: bool = True,
        url: str | None = None,
        seconds: float = SECONDS,
    ) -> None:
        self.now = START
        self.app = App(id="6741f0a2c3d4e5f6a7b8c9d0", account_id="acct", created="", modified="",
                       name="shop", webhook_sending_finished=url or receiver.url(),
                       webhook_secret_version="v1")  # fmt: skip
        self.queue, self.dead = Sqs(), Sqs()
        self.apps, self.secrets = Apps(self.app), Secrets()
        receiver.clock = lambda: self.now
        self.sender = WebhookSender(
            self.apps,
            self.secrets,
            DeliveryQueue(lambda: self.queue, "https://sqs/webhooks"),  # type: ignore[arg-type,return-value]
            DeliveryQueue(lambda: self.dead, "https://sqs/webhooks-dlq"),  # type: ignore[arg-type,return-value]
            Poster(allow_private=allow_private, seconds=seconds),
            clock=lambda: self.now,
        )
        self.outbox = Outbox(DeliveryQueue(lambda: self.queue, "q"), Events, clock=lambda: self.now)  # type: ignore[arg-type,return-value]
        self.waits: list[int] = []  # the delay of every message after the first

    def fire(self) -> None:
        self.outbox.notify(self.app, "sending_finished", {"qm_idsending": IDSENDING}, key=IDSENDING)

    def step(self) -> None:
        """Hand the first queued message to the sender once its delay has passed."""
        body, delay = self.queue.sent.pop(0)
        self.waits.append(delay)
        self.now += delay
        answer = self.sender.handle({"Records": [{"messageId": f"m{len(self.waits)}", "body": body}]})
        assert answer == {"batchItemFailures": []}

    def run(self, rounds: int = 200) -> None:
        """Step until the queue is empty."""
        for _ in range(rounds):
            if not self.queue.sent:
                return
            self.step()
        raise AssertionError("the queue never emptied")


@pytest.fixture
def receiver(ca: trustme.CA, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    lookups: list[str] = []
    real = netguard._lookup

    def lookup(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
        lookups.append(host)
        if host == HOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]
        return real(host, port, timeout)

    monkeypatch.setattr(netguard, "_lookup", lookup)
    with running_receiver(ca, SECRET) as running:
        running.lookups = lookups  # type: ignore[attr-defined]
        yield running


def test_a_delivery_is_a_signed_form_post_the_readmes_snippet_verifies(
    receiver: Receiver, json_logs: Any
) -> None:
    world = World(receiver)
    world.fire()
    world.run()
    (request,) = receiver.received
    assert request.signed
    assert request.status == 200
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=UTF-8"
    form = request.form
    assert form == {"event": "sending_finished", "timestamp": str(int(START)), "idevent": form["idevent"],
                    "qm_idsending": IDSENDING}  # fmt: skip
    assert request.headers["Smtp-Hub-Signature"].startswith(f"t={int(START)},v1=")
    assert receiver.delivered() == {form["idevent"]: 1}
    assert all(SECRET not in json.dumps(line) for line in json_logs())


def test_the_readmes_snippet_refuses_a_tampered_body_another_key_and_a_replay() -> None:
    verify = readme_verify()
    delivery = Delivery("e1", "a", "u", "sending_finished")
    body = delivery.form(int(START))
    from smtphub.webhooks.delivery import signature

    header = signature(SECRET, int(START), body)
    assert verify(SECRET, header, body, START + 299)
    assert not verify(SECRET, header, body + b"&x=1", START)
    assert not verify("another-" + SECRET, header, body, START)
    assert not verify(SECRET, header, body, START + 301)  # older than 5 minutes: the receiver refuses it
    assert not verify(SECRET, "v1=" + header.split("v1=")[1], body, START)


def test_a_receiver_answering_500_twice_gets_three_attempts_and_one_delivery(receiver: Receiver) -> None:
    receiver.answers = [500, 500]
    world = World(receiver)
    world.fire()
    world.run()
    assert [r.status for r in receiver.received] == [500, 500, 200]
    assert all(r.signed for r in receiver.received)
    assert len({r.form["idevent"] for r in receiver.received}) == 1  # one delivery, the same id every time
    assert receiver.delivered() == {receiver.received[0].form["idevent"]: 1}
    assert world.waits == [0, 60, 300]  # growing waits, minutes
    assert receiver.lookups.count(HOST) == 3  # type: ignore[attr-defined]  # resolved and judged on every attempt
    assert world.dead.sent == []


def test_a_private_address_is_refused_when_deployed(receiver: Receiver, json_logs: Any) -> None:
    world = World(receiver, allow_private=False)
    world.fire()
    world.step()  # the first attempt only: it is retried later
    assert receiver.received == []  # nothing reached 127.0.0.1
    ((body, delay),) = world.queue.sent
    assert (Delivery.parse(body).attempts, delay) == (1, 60)
    (line,) = [line for line in json_logs() if line["message"] == "webhook not delivered"]
    assert "not publicly routable" in line["reason"]
    assert line["host"] == HOST


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.redirects = {"/old"}
    world = World(receiver, url=receiver.url("/old"))
    world.fire()
    world.step()
    assert [(r.path, r.status) for r in receiver.received] == [("/old", 302)]  # never /moved
    ((body, delay),) = world.queue.sent
    assert (Delivery.parse(body).attempts, delay) == (1, 60)


def test_410_gone_is_not_retried(receiver: Receiver) -> None:
    receiver.answers = [410]
    world = World(receiver)
    world.fire()
    world.run()
    assert [r.status for r in receiver.received] == [410]
    assert world.dead.sent == []


def test_a_day_of_failures_ends_in_the_dead_letter_queue(receiver: Receiver) -> None:
    receiver.answers = [503] * 100
    world = World(receiver)
    world.fire()
    world.run(rounds=500)
    # 0, 1 min, 6 min, 21 min, 51 min, 1 h 51, 3 h 51, 7 h 51, 13 h 51, 19 h 51, then the day's end
    assert len(receiver.received) == 11
    assert world.now == START + 86_400
    ((body, _),) = world.dead.sent
    assert Delivery.parse(body).attempts == 11
    assert max(world.waits) == 900  # SQS's longest delay: a longer wait comes back early, without an attempt


def test_an_app_that_lost_its_url_or_is_gone_drops_the_delivery(receiver: Receiver) -> None:
    world = World(receiver)
    world.fire()
    world.apps.app = None
    world.run()
    assert receiver.received == []
    assert world.dead.sent == []


def test_a_receiver_slower_than_the_bound_is_a_failed_attempt(receiver: Receiver, json_logs: Any) -> None:
    assert SECONDS == 5.0  # deployed: 5 s for the whole attempt; here scaled down, not to wait 5 s
    receiver.slow = 1.0
    world = World(receiver, seconds=0.3)
    world.fire()
    world.step()
    ((body, delay),) = world.queue.sent
    assert (Delivery.parse(body).attempts, delay) == (1, 60)
    (line,) = [line for line in json_logs() if line["message"] == "webhook not delivered"]
    assert "did not answer in time" in line["reason"]
