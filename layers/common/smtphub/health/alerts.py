"""Alerts: events on the default EventBridge bus, and the metric of servers disabled.

Source `smtp-hub`; detail-types `SMTP server disabled` and `SMTP server enabled` (every change of status,
whoever's check made it: the write that changed it says so, so two concurrent checks never both announce
one change) and `SMTP certificate expiring` (the first result that finds a certificate within
`EXPIRY_DAYS` of its notAfter; once per certificate). The detail carries ids, host, port, the result's
stage, code and message (scrubbed like lastcheck), never a credential. Users route them with a rule
(README, "Checking a server").

Each change from A to D also logs one line `smtp server disabled`: the template's metric filter on the
functions' log group counts them as `SmtpServersDisabled` (its alarm), so the check's one metric per check
stays one. Publishing is best effort after the result is stored: the client retries, a failure is logged
(`health events not published`, with the types), and the result stands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smtphub.aws import LazyClient
from smtphub.observability import logger
from smtphub.smtps.models import STATUS_ACTIVE, STATUS_DISABLED, Smtp

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from smtphub.health.history import HistoryEntry
    from smtphub.smtps.results import CheckResult, TlsFacts

SOURCE = "smtp-hub"
DISABLED = "SMTP server disabled"
ENABLED = "SMTP server enabled"
EXPIRING = "SMTP certificate expiring"
EXPIRY_DAYS = 14
DISABLED_LINE = "smtp server disabled"  # the metric filter's pattern (template.yaml)


def expiring(tls: TlsFacts | None) -> bool:
    return tls is not None and tls.days_left is not None and tls.days_left < EXPIRY_DAYS


class Alerts(LazyClient["EventBridgeClient"]):
    def __init__(self, client: Callable[[], EventBridgeClient], bus: str = "default") -> None:
        super().__init__(client)
        self.bus = bus

    def after(
        self,
        smtp: Smtp,
        entry: HistoryEntry,
        previous_status: str | None,
        previous_lastcheck: CheckResult | None,
    ) -> list[str]:
        """Publish what this result changed; the detail-types published."""
        status, tls = entry.status, entry.result.tls
        kinds = []
        if previous_status is not None and status != previous_status:
            kinds.append(DISABLED if status == STATUS_DISABLED else ENABLED)
        if tls is not None and expiring(tls) and not _announced(tls, previous_lastcheck):
            kinds.append(EXPIRING)
        if status == STATUS_DISABLED and previous_status == STATUS_ACTIVE:
            logger.warning(DISABLED_LINE, extra={"idsmtp": smtp.id, "trigger": entry.trigger})
        if kinds:
            self._publish([self._entry(kind, smtp, entry) for kind in kinds])
        return kinds

    def _entry(self, kind: str, smtp: Smtp, entry: HistoryEntry) -> PutEventsRequestEntryTypeDef:
        """The event: its detail is this module's JSON (the members the README lists for each type)."""
        result = entry.result
        detail: dict[str, Any] = {
            "idsmtp": smtp.id,
            "idapp": smtp.app_id,
            "iduser": smtp.account_id,
            "host": smtp.host,
            "port": smtp.port,
            "status": entry.status,
            "trigger": entry.trigger,
            "mode": result.mode,
            "stage": result.stage,
            "code": result.code,
            "message": result.message,
            "at": result.at,
        }
        tls = result.tls
        if kind == EXPIRING and tls is not None:
            detail.update(notAfter=tls.not_after, daysLeft=tls.days_left, subject=tls.subject)
            detail["issuer"] = tls.issuer
        return {
            "Source": SOURCE,
            "DetailType": kind,
            "Detail": json.dumps(detail, ensure_ascii=False),
            "EventBusName": self.bus,
        }

    def _publish(self, entries: list[PutEventsRequestEntryTypeDef]) -> None:
        try:
            answer = self.client.put_events(Entries=entries)
            failed = int(answer.get("FailedEntryCount") or 0)
        except (ClientError, BotoCoreError):  # an answer or no answer from EventBridge: the result stands
            logger.exception("could not publish a health event", extra={"types": _types(entries)})
            failed = len(entries)
        if failed:
            logger.error("health events not published", extra={"failed": failed, "types": _types(entries)})
        else:
            logger.info("health events published", extra={"types": _types(entries)})


def _types(entries: list[PutEventsRequestEntryTypeDef]) -> list[str]:
    return [str(entry.get("DetailType")) for entry in entries]


def _announced(tls: TlsFacts, previous: CheckResult | None) -> bool:
    """Whether the previous result already found this certificate (same notAfter) expiring."""
    before = previous.tls if previous is not None else None
    return before is not None and expiring(before) and before.not_after == tls.not_after
