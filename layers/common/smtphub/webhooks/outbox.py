"""The outbox: an event of an app, told to its webhook receiver and to EventBridge.

`Outbox.notify(app, event, params, key=None)` is what the features that see something happen call: the
outcomes of e-mails (smtphub.webhooks.outcomes), opens and clicks, blacklist additions. For the event
(smtphub.webhooks.events: `sending_finished`, `sending_error`, `tracking_opened`, `tracking_clicked`,
`blacklisted_added`) and its parameters (`qm_idsending`, `qm_email`, `qm_url` as the event takes them):

- a delivery is queued in WebhookQueue when the app has a URL for that event (its `webhook_<event>`), for
  WebhooksSenderFunction to POST, signed, with retries (smtphub.webhooks.sender);
- an event is put on the default EventBridge bus: source `smtp-hub`, the event's detail-type (`Email sent`,
  `Email failed`, `Email opened`, `Link clicked`, `Recipient blacklisted`), detail `idevent`, `event`,
  `idapp`, `iduser`, `at` and, where they apply, `idsending` and `email` (never a link or any content).

Both carry one id, `idevent`: the same for the same `key` (the happening's own id, e.g. the e-mail's for
its outcome), so that a caller retrying after a failure sends what a receiver can recognise as the same;
random without a key. `notify` raises NotifyFailed when either could not be done: the caller decides
whether to retry (the outcomes do, from their stream), or to log it and go on (a click must still
redirect). `notify_all` does a batch (10 messages and 10 events a call) and says, per notice, which of the
two was done, so that a retry does only the rest.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smtphub.aws import LazyClient
from smtphub.observability import logger
from smtphub.webhooks.delivery import Delivery
from smtphub.webhooks.events import DETAIL_NAMES, EVENTS, SOURCE
from smtphub.webhooks.queue import DeliveryQueue

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from smtphub.apps.models import App

WEBHOOK, EVENT = "webhook", "event"  # what a notice does: queue a delivery, put an event
BOTH = frozenset({WEBHOOK, EVENT})
_EVENTS_BATCH = 10  # PutEvents' limit


class NotifyFailed(Exception):
    """A notice whose delivery could not be queued, or whose event could not be put (AWS said no)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One event of one app to tell. `channels`: what is left to do (a retry after one failed)."""

    app: App
    event: str
    params: Mapping[str, str]
    key: str | None = None
    at: float | None = None  # epoch seconds of the happening; now when None
    channels: frozenset[str] = field(default=BOTH)


class Outbox(LazyClient["EventBridgeClient"]):
    def __init__(
        self,
        queue: DeliveryQueue,
        events: Callable[[], EventBridgeClient],
        *,
        bus: str = "default",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(events)
        self.queue = queue
        self.bus = bus
        self.clock = clock

    def notify(self, app: App, event: str, params: Mapping[str, str], *, key: str | None = None) -> None:
        """Queue the app's webhook of `event` (when it has a URL for it) and put the event on the bus;
        NotifyFailed when either failed. ValueError for an unknown event or parameters it does not take."""
        (done,) = self.notify_all([Notice(app, event, params, key)])
        if done != BOTH:
            raise NotifyFailed(f"{event} of app {app.id}: not done: {sorted(BOTH - done)}")

    def notify_all(self, notices: Sequence[Notice]) -> list[frozenset[str]]:
        """Each notice's channels done (those it asked for and that succeeded, plus those it did not ask
        for): a notice is complete when that is both."""
        for notice in notices:
            _check(notice)
        ids = [_event_id(notice) for notice in notices]
        now = self.clock()
        webhooks_failed = self._queue(notices, ids, now)
        events_failed = self._put(notices, ids, now)
        return [
            BOTH - ({WEBHOOK} if n in webhooks_failed else set()) - ({EVENT} if n in events_failed else set())
            for n in range(len(notices))
        ]

    def _queue(self, notices: Sequence[Notice], ids: list[str], now: float) -> set[int]:
        """Queue the deliveries asked for; the positions of the notices whose delivery SQS refused."""
        wanted = {
            n: Delivery(
                ids[n],
                notice.app.id,
                notice.app.account_id,
                notice.event,
                MappingProxyType(dict(notice.params)),
                fired=int(notice.at or now),
            )
            for n, notice in enumerate(notices)
            if WEBHOOK in notice.channels and getattr(notice.app, EVENTS[notice.event].setting)
        }
        if not wanted:
            return set()
        try:
            refused = {delivery.id for delivery in self.queue.send([(d, 0) for d in wanted.values()])}
        except (ClientError, BotoCoreError):
            logger.exception("could not queue webhook deliveries", extra={"count": len(wanted)})
            return set(wanted)
        failed = {n for n, delivery in wanted.items() if delivery.id in refused}
        if failed:
            logger.error("webhook deliveries not queued", extra={"idevent": [ids[n] for n in sorted(failed)]})
        return failed

    def _put(self, notices: Sequence[Notice], ids: list[str], now: float) -> set[int]:
        """Put the events asked for; the positions of the notices whose event EventBridge refused."""
        wanted = [n for n, notice in enumerate(notices) if EVENT in notice.channels]
        failed: set[int] = set()
        for start in range(0, len(wanted), _EVENTS_BATCH):
            chunk = wanted[start : start + _EVENTS_BATCH]
            entries = [self._entry(notices[n], ids[n], now) for n in chunk]
            try:
                answer = self.client.put_events(Entries=entries)
                refused = {i for i, entry in enumerate(answer.get("Entries", [])) if entry.get("ErrorCode")}
                refused |= set(range(len(answer.get("Entries", [])), len(chunk)))  # not answered for
            except (ClientError, BotoCoreError):
                logger.exception("could not put events", extra={"count": len(chunk)})
                refused = set(range(len(chunk)))
            failed |= {chunk[i] for i in refused}
        if failed:
            logger.error("events not put", extra={"idevent": [ids[n] for n in sorted(failed)]})
        return failed

    def _entry(self, notice: Notice, event_id: str, now: float) -> PutEventsRequestEntryTypeDef:
        event = EVENTS[notice.event]
        detail: dict[str, Any] = {"idevent": event_id, "event": event.name}
        detail |= {"idapp": notice.app.id, "iduser": notice.app.account_id, "at": _iso(notice.at or now)}
        detail |= {DETAIL_NAMES[name]: value for name, value in notice.params.items() if name in DETAIL_NAMES}
        return {
            "Source": SOURCE,
            "DetailType": event.detail_type,
            "Detail": json.dumps(detail, ensure_ascii=False),
            "EventBusName": self.bus,
        }


def _event_id(notice: Notice) -> str:
    """The event's id: derived from the notice's key when it has one (the same on a retry), else random."""
    if notice.key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{notice.app.id}\n{notice.event}\n{notice.key}".encode()).hexdigest()[:32]


def _check(notice: Notice) -> None:
    event = EVENTS.get(notice.event)
    if event is None:
        raise ValueError(f"no such event: {notice.event}")
    problems = event.problems(notice.params)
    if problems:
        raise ValueError(f"{notice.event}: " + "; ".join(problems))


def _iso(epoch: float) -> str:
    """The contract's time format (smtphub.ids.now_iso's): milliseconds, UTC."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
