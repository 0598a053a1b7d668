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
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from smtphub.aws import LazyClient
from smtphub.observability import logger
from smtphub.smtps.models import STATUS_ACTIVE, STATUS_DISABLED, Smtp

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "smtp-hub"
DISABLED = "SMTP server disabled"
ENABLED = "SMTP server enabled"
EXPIRING = "SMTP certificate expiring"
EXPIRY_DAYS = 14
DISABLED_LINE = "smtp server disabled"  # the metric filter's pattern (template.yaml)


def expiring(tls: Any) -> bool:
    days = tls.get("daysLeft") if isinstance(tls, Mapping) else None
    return isinstance(days, int) and days < EXPIRY_DAYS


class Alerts(LazyClient["EventBridgeClient"]):
    def __init__(self, client: Callable[[], EventBridgeClient], bus: str = "default") -> None:
        super().__init__(client)
        self.bus = bus

    def after(
        self,
        smtp: Smtp,
        result: Mapping[str, Any],
        previous_status: str | None,
        previous_lastcheck: Mapping[str, Any] | None,
    ) -> list[str]:
        """Publish what this result changed; the detail-types published."""
        status = result.get("status")
        kinds = []
        if previous_status is not None and status != previous_status:
            kinds.append(DISABLED if status == STATUS_DISABLED else ENABLED)
        tls = result.get("tls")
        if isinstance(tls, Mapping) and expiring(tls) and not _announced(tls, previous_lastcheck):
            kinds.append(EXPIRING)
        if status == STATUS_DISABLED and previous_status == STATUS_ACTIVE:
            logger.warning(DISABLED_LINE, extra={"idsmtp": smtp.id, "trigger": result.get("trigger")})
        if kinds:
            self._publish([self._entry(kind, smtp, result) for kind in kinds])
        return kinds

    def _entry(self, kind: str, smtp: Smtp, result: Mapping[str, Any]) -> PutEventsRequestEntryTypeDef:
        detail: dict[str, Any] = {
            "idsmtp": smtp.id,
            "idapp": smtp.app_id,
            "iduser": smtp.account_id,
            "host": smtp.host,
            "port": smtp.port,
            "status": result.get("status"),
            "trigger": result.get("trigger"),
            "mode": result.get("mode"),
            "stage": result.get("stage"),
            "code": result.get("code"),
            "message": result.get("message"),
            "at": result.get("at"),
        }
        if kind == EXPIRING:
            tls = result.get("tls") or {}
            detail.update({name: tls.get(name) for name in ("notAfter", "daysLeft", "subject", "issuer")})
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


def _announced(tls: Mapping[str, Any], previous: Mapping[str, Any] | None) -> bool:
    """Whether the previous result already found this certificate (same notAfter) expiring."""
    before = (previous or {}).get("tls")
    return expiring(before) and isinstance(before, Mapping) and before.get("notAfter") == tls.get("notAfter")
