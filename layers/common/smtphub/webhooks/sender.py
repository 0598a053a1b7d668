"""WebhooksSenderFunction: each delivery of WebhookQueue POSTed to its app's URL, signed, retried for a day.

Per attempt (smtphub.webhooks.delivery says what is sent):
- The app is read as it is now: gone, or without a URL for the event, and the delivery is dropped (nobody
  to tell); without a webhook secret it waits like a failure (nothing is ever sent unsigned; apps/save
  gives an app with a URL one).
- One HTTPS POST through the SSRF guard (smtphub.guardedhttps): the host resolved on every attempt and the
  connection made to an address that passed (public only, unless the deployment allows private addresses,
  as `make run` does), the certificate verified, 5 s for the whole attempt (`SECONDS`), redirects not
  followed, the answer's body not read.
- A 2xx is delivered. A 410 Gone is the receiver saying this URL takes no more: dropped, not retried (the
  app keeps its URL; the log line says so). Anything else, or no answer, is retried.

Retries. A failed attempt n (1 for the first) is tried again `waits[n-1]` seconds later (the last wait
repeats: 1 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 6 h, 6 h... by default), the last at the day's end
(`max_age` after the event), after which the delivery goes to the dead-letter queue. A wait is a new message:
the delivery sent again with its attempts counted and its `due` time, delayed by SQS (15 minutes at most:
one due later comes back early and is sent on, without an attempt, until it is due). Not the visibility
timeout: messages waiting that way are in flight, and a standard queue holds at most 120,000 in flight, a
limit one receiver down for hours could reach and so stall every app's webhooks; delayed messages have no
such limit, and the attempt count in the body is exact (ApproximateReceiveCount is not).

Delivery is at least once: a receiver may see a delivery twice (a duplicate SQS message, or this function
dying between the POST and the message's deletion), with the same `idevent`. Messages that are no delivery,
or whose app or secret could not be read (an AWS error), are reported in `batchItemFailures`: SQS hands
them again after the visibility timeout, and after 5 receives moves them to the dead-letter queue.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from smtphub import netguard
from smtphub.guardedhttps import Bounds, HttpProblem, Request, Resolve, request
from smtphub.observability import logger
from smtphub.webhooks.delivery import CONTENT_TYPE, SIGNATURE_HEADER, Delivery, signature
from smtphub.webhooks.events import EVENTS

if TYPE_CHECKING:
    from smtphub.apps.models import App
    from smtphub.webhooks.queue import DeliveryQueue

SECONDS = 5.0
DEFAULT_WAITS = (60, 300, 900, 1800, 3600, 7200, 14400, 21600)
MAX_AGE = 86_400  # a delivery is tried for a day after its event
PEER = "webhook receiver"
METRIC = "Webhooks"
DELIVERED, GONE, DROPPED, RETRIED, GAVE_UP = "delivered", "gone", "dropped", "retried", "gaveup"


class Apps(Protocol):
    def get(self, account_id: str, app_id: str) -> App | None: ...


class Secrets(Protocol):
    def read(self, app_id: str, version_id: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    """What came of one attempt: `outcome` DELIVERED, GONE, DROPPED or RETRIED, and why (for the log)."""

    outcome: str
    reason: str
    status: int | None = None
    host: str | None = None  # the receiver's (never the URL's path or query: they may hold a token)


class Poster:
    """One signed POST to a receiver, through the SSRF guard, within SECONDS. Safe to share between
    threads."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        seconds: float = SECONDS,
        tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
        resolve: Resolve = netguard.resolve,
    ) -> None:
        self.allow_private = allow_private
        self.seconds = seconds
        self.resolve = resolve
        self._context = tls_context()  # built once: loading the CAs costs milliseconds

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The receiver's status; HttpProblem when it gave none."""
        bounds = Bounds(
            until=time.monotonic() + self.seconds,
            out_of_time=f"The {PEER} did not answer in time",
            dns=self.seconds,
            connect=self.seconds,
            reply=self.seconds,
        )
        wanted = Request(url, PEER, "POST", headers, body, "smtp-hub-webhooks", read_body=False)
        answer = request(
            wanted,
            bounds=bounds,
            allow_private=self.allow_private,
            context=self._context,
            resolve=self.resolve,
        )
        return answer.status


class WebhookSender:
    def __init__(
        self,
        apps: Apps,
        secrets: Secrets,
        queue: DeliveryQueue,
        dead: DeliveryQueue,
        poster: Poster,
        *,
        waits: Sequence[int] = DEFAULT_WAITS,
        max_age: int = MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.apps = apps
        self.secrets = secrets
        self.queue = queue  # WebhookQueue: retries, and deliveries not due yet
        self.dead = dead  # WebhookDeadLetterQueue: deliveries given up on
        self.poster = poster
        self.waits = tuple(waits) or DEFAULT_WAITS
        self.max_age = max_age
        self.clock = clock

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """An SQS batch; the partial batch response."""
        now = int(self.clock())
        failed: list[str] = []
        due: list[tuple[str, Delivery]] = []
        later: list[tuple[str, Delivery, int]] = []
        for record in event.get("Records") or []:
            try:
                delivery = Delivery.parse(record["body"])
            except (ValueError, KeyError, TypeError):
                logger.error(
                    "a webhook message that is no delivery", extra={"messageId": record.get("messageId")}
                )
                failed.append(str(record.get("messageId")))
                continue
            if delivery.due > now:
                later.append((record["messageId"], delivery, delivery.due - now))
            else:
                due.append((record["messageId"], delivery))
        attempts = self._attempt_all(due, now)
        tally: dict[str, int] = {}
        again: list[tuple[str, Delivery, int]] = list(later)
        given_up: list[tuple[str, Delivery, int]] = []
        for message_id, delivery in due:
            attempt = attempts.get(message_id)
            if attempt is None:  # an AWS error before the POST: the message comes back
                failed.append(message_id)
                continue
            outcome, following = self._after(delivery, attempt, now)
            tally[outcome] = tally.get(outcome, 0) + 1
            if following is not None:
                (given_up if outcome == GAVE_UP else again).append((message_id, *following))
        failed += self._send(self.queue, again) + self._send(self.dead, given_up)
        logger.info("webhooks sent", extra={"later": len(later), "failed": len(failed), **tally})
        _metrics(tally)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def _after(
        self, delivery: Delivery, attempt: Attempt, now: int
    ) -> tuple[str, tuple[Delivery, int] | None]:
        """Log the attempt; its outcome for the tally, and what follows it: the delivery to send again with
        its delay (RETRIED: to the queue; GAVE_UP: to the dead letters), or None."""
        attempts = delivery.attempts + 1
        extra = _extra(delivery, attempt, attempts)
        if attempt.outcome != RETRIED:
            log = logger.warning if attempt.outcome == GONE else logger.info
            log(f"webhook {attempt.outcome}", extra=extra)
            return attempt.outcome, None
        end = delivery.fired + self.max_age
        if now >= end:
            logger.error("webhook given up", extra=extra)
            return GAVE_UP, (delivery.again(attempts=attempts, due=0), 0)
        wait = self.waits[min(attempts, len(self.waits)) - 1]
        due = min(now + wait, end)
        logger.warning("webhook not delivered", extra={**extra, "retryIn": due - now})
        return RETRIED, (delivery.again(attempts=attempts, due=due), due - now)

    def _attempt_all(self, due: Sequence[tuple[str, Delivery]], now: int) -> dict[str, Attempt]:
        """Each due delivery's attempt, side by side; a message whose attempt raised is left out."""
        if not due:
            return {}
        with ThreadPoolExecutor(max_workers=min(len(due), 10)) as pool:
            found = dict(
                zip([m for m, _ in due], pool.map(lambda item: self._guarded(item[1], now), due), strict=True)
            )
        return {message_id: attempt for message_id, attempt in found.items() if attempt is not None}

    def _guarded(self, delivery: Delivery, now: int) -> Attempt | None:
        try:
            return self._attempt(delivery, now)
        except Exception:  # an AWS error reading the app or its secret: the message is handed again
            logger.exception(
                "could not attempt a webhook", extra={"idevent": delivery.id, "idapp": delivery.app_id}
            )
            return None

    def _attempt(self, delivery: Delivery, now: int) -> Attempt:
        target = self._target(delivery)
        if isinstance(target, Attempt):
            return target
        url, secret = target
        body = delivery.form(now)
        headers = {"Content-Type": CONTENT_TYPE, SIGNATURE_HEADER: signature(secret, now, body)}
        host = urlsplit(url).hostname
        try:
            status = self.poster.post(url, body, headers)
        except HttpProblem as problem:
            return Attempt(RETRIED, problem.message, host=host)
        if 200 <= status < 300:
            return Attempt(DELIVERED, "", status, host)
        if status == 410:
            return Attempt(GONE, "the receiver answered 410 Gone: not retried", status, host)
        moved = " (redirects are not followed)" if 300 <= status < 400 else ""
        return Attempt(RETRIED, f"the receiver answered {status}{moved}", status, host)

    def _target(self, delivery: Delivery) -> tuple[str, str] | Attempt:
        """The app's URL for the delivery's event and the secret to sign with; or why there is no attempt."""
        app = self.apps.get(delivery.account_id, delivery.app_id)
        if app is None:
            return Attempt(DROPPED, "the app is gone")
        url = getattr(app, EVENTS[delivery.event].setting)
        if not url:
            return Attempt(DROPPED, "the app has no webhook URL for this event now")
        version = app.webhook_secret_version
        secret = self.secrets.read(app.id, version) if version else None
        if secret is None:
            return Attempt(RETRIED, "the app has no webhook secret (apps/save gives it one)")
        return str(url), secret

    def _send(self, queue: DeliveryQueue, items: Sequence[tuple[str, Delivery, int]]) -> list[str]:
        """Send `items` on; the message ids of those that could not be (handed again by SQS)."""
        if not items:
            return []
        try:
            refused = {delivery.id for delivery in queue.send([(d, delay) for _, d, delay in items])}
        except (ClientError, BotoCoreError):
            logger.exception("could not queue webhook deliveries", extra={"count": len(items)})
            return [message_id for message_id, _, _ in items]
        return [message_id for message_id, delivery, _ in items if delivery.id in refused]


def _extra(delivery: Delivery, attempt: Attempt, attempts: int) -> dict[str, Any]:
    return {
        "idevent": delivery.id,
        "idapp": delivery.app_id,
        "event": delivery.event,
        "attempt": attempts,
        "host": attempt.host,
        "status": attempt.status,
        "reason": attempt.reason or None,
    }


def _metrics(tally: Mapping[str, int]) -> None:
    """`Webhooks` by outcome (delivered, retried, gone, dropped, gaveup)."""
    try:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415

        for outcome, count in tally.items():
            with single_metric(name=METRIC, unit=MetricUnit.Count, value=count) as metric:
                metric.add_dimension(name="outcome", value=outcome)
    except Exception:  # a metric never fails a batch: logged with its trace
        logger.warning("could not emit the webhooks metric", exc_info=True)
