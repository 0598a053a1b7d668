"""EmailsOutcomesFunction: each e-mail's outcome, announced once, from the EmailsTable stream.

An e-mail reaches F (finished) or E (failed) once: the sender's `finish` is one conditional write, and
nothing moves an e-mail out of F or E. That write is a MODIFY whose NewImage.status is F or E and whose
OldImage.status is not (an INSERT already in F or E counts too); the event source mapping's filter lets
only records with a NewImage.status of F or E through, and this code keeps those whose OldImage was not
(later writes to a finished e-mail are skipped without a call). Retries of the e-mail (R -> Q -> R)
are MODIFYs between Q and R: never an outcome, so `sending_finished` and `sending_error` fire once per
e-mail whatever its attempts (postal#768, a peer's webhook per retry, is the bug not copied).

For each outcome: `sending_finished` (F) or `sending_error` (E) through the outbox (smtphub.webhooks.outbox):
its webhook queued when the app has the URL, and its EventBridge event (`Email sent`, `Email failed`),
keyed by the e-mail's id (one `idevent` however often it is tried). An app removed since has no webhook
left; its event still goes (it is the account's).

Once, despite the stream: a record is handed again after a failure in its batch (Lambda retries from the
first failed record on, the ones after it that went well included). What was done for each e-mail is
written down (smtphub.webhooks.notified) after it is done and read before, so a record handed again does
only what is left: one delivery and one event per outcome. A crash between the two leaves a delivery or an
event that may go twice, with the same `idevent`. Records whose outcome could not be announced are
reported in `batchItemFailures` (Lambda retries from the first, then the dead-letter queue).

Per batch of up to 100 records: one BatchGetItem of what was done, one GetItem per app, one SendMessageBatch
per 10 webhooks, one PutEvents per 10 events, one BatchWriteItem per 25 e-mails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smtphub.apps.models import App
from smtphub.emails.models import FAILED, FINISHED
from smtphub.observability import logger
from smtphub.webhooks.events import IDSENDING, SENDING_ERROR, SENDING_FINISHED
from smtphub.webhooks.outbox import BOTH, Notice

if TYPE_CHECKING:
    from smtphub.webhooks.notified import Notified
    from smtphub.webhooks.outbox import Outbox
    from smtphub.webhooks.sender import Apps

OUTCOMES = {FINISHED: SENDING_FINISHED.name, FAILED: SENDING_ERROR.name}


@dataclass(frozen=True, slots=True)
class Outcome:
    sequence: str  # the stream record's SequenceNumber (what a partial batch response names)
    email_id: str
    app_id: str
    account_id: str
    event: str
    at: float | None  # epoch seconds the record was written


def announce(event: Mapping[str, Any], apps: Apps, notified: Notified, outbox: Outbox) -> dict[str, Any]:
    """Announce the outcomes of a DynamoDB stream event's records; the partial batch response."""
    records = event.get("Records") or []
    outcomes = [found for found in map(_outcome, records) if found is not None]
    skipped = len(records) - len(outcomes)
    if not outcomes:
        logger.info("outcomes announced", extra={"announced": 0, "again": 0, "skipped": skipped, "failed": 0})
        return {"batchItemFailures": []}
    done = notified.done(outcome.email_id for outcome in outcomes)
    left = [outcome for outcome in outcomes if done.get(outcome.email_id, frozenset()) != BOTH]
    owners = _apps(apps, left)
    notices = [
        Notice(
            owners[(o.account_id, o.app_id)],
            o.event,
            {IDSENDING: o.email_id},
            key=o.email_id,
            at=o.at,
            channels=BOTH - done.get(o.email_id, frozenset()),
        )
        for o in left
    ]
    results = outbox.notify_all(notices)
    now_done = {
        o.email_id: done.get(o.email_id, frozenset()) | result
        for o, result in zip(left, results, strict=True)
    }
    notified.mark(
        {email_id: channels for email_id, channels in now_done.items() if channels != done.get(email_id)}
    )
    failed = [o.sequence for o in left if now_done[o.email_id] != BOTH]
    logger.info(
        "outcomes announced",
        extra={
            "announced": len(left) - len(failed),
            "again": len(outcomes) - len(left),
            "skipped": skipped,
            "failed": len(failed),
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}


def _apps(apps: Apps, outcomes: Sequence[Outcome]) -> dict[tuple[str, str], App]:
    """Each outcome's app as it is now; one that is gone stands in with its ids only (no webhook URL)."""
    found: dict[tuple[str, str], App] = {}
    for outcome in outcomes:
        key = (outcome.account_id, outcome.app_id)
        if key not in found:
            app = apps.get(*key)
            found[key] = app or App(
                id=outcome.app_id, account_id=outcome.account_id, created="", modified="", name=""
            )
    return found


def _outcome(record: Mapping[str, Any]) -> Outcome | None:
    """The outcome a record says an e-mail reached; None when it says none (skipped)."""
    dynamodb = record.get("dynamodb") or {}
    new, old = dynamodb.get("NewImage") or {}, dynamodb.get("OldImage") or {}
    status = _text(new, "status")
    if record.get("eventName") not in ("INSERT", "MODIFY") or status not in OUTCOMES:
        return None
    if _text(old, "status") in OUTCOMES:
        return None
    ids = [_text(new, name) for name in ("_id", "idapp", "iduser")]
    sequence = dynamodb.get("SequenceNumber")
    if not all(ids) or not isinstance(sequence, str):
        logger.warning("an outcome record without its ids", extra={"eventID": record.get("eventID")})
        return None
    created = dynamodb.get("ApproximateCreationDateTime")
    at = float(created) if isinstance(created, int | float) else None
    email_id, app_id, account_id = (str(value) for value in ids)
    return Outcome(sequence, email_id, app_id, account_id, OUTCOMES[status], at)


def _text(image: Mapping[str, Any], name: str) -> str | None:
    value = (image.get(name) or {}).get("S")
    return value if isinstance(value, str) and value else None
