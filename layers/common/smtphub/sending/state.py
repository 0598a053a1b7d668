"""Sending's shared state in SendStateTable: each app's pacing, each server's per-minute and per-day counts,
held in DynamoDB so that every concurrent sender sees the same (none of it lives in a process).

Pacing (`Pacer`, item `pace#<idapp>`). Two numbers, epoch milliseconds:
- `next`: no e-mail of the app may be handed to a server before it. A send is granted by one conditional
  write, `next <= now` then `next = now + gap`, so two grants are always at least `gap` apart: DynamoDB
  serializes the writes to one item, and a grant happens only once the previous one's `next` has passed. The
  guarantee is on the moments e-mails are handed to a server, as strict as the senders' clocks agree (Lambda's
  are synchronized by Amazon Time Sync).
- `tail`: the end of the line of e-mails waiting for their turn. An e-mail refused by `next` does not retry
  at `next` with every other refused e-mail of the app (a herd: all wake at once, one wins, all others are
  refused again, a write each, round after round). It reserves a slot: `tail` grows by `gap` (ADD-like, one
  write that never conflicts with the others) and the e-mail comes back at its own slot, `gap` after the
  previous one's. N waiting e-mails of an app wake N times, spread over N x gap, in the order they asked.
  A slot is a time to come back, not a grant: at its slot the e-mail still needs `next <= now` (it skips the
  line, being in it), so an e-mail that wakes late never sends closer than `gap` to the previous one; it is
  told the new `next` and comes back then, keeping its place. A newcomer is granted only when the line is
  empty as well (`tail <= now`), so it does not overtake the e-mails waiting in it.
  The trade-off: a slot whose e-mail was cancelled or failed stays unused (the app sends a little less than
  it could, never more), and a waiting e-mail costs three writes (refused, reserve, grant) instead of one.
  Every write sets `expires` (TTL) a day ahead: an app that sends nothing for a day leaves nothing behind.

Per-server windows (`Windows`, items `rate#<idsmtp>#m#<epoch minute>` and `rate#<idsmtp>#d#<yyyymmdd>`, UTC):
one conditional ADD per window (`count < limit`), the minute's first; a server whose day is full gives the
minute's count back. Fixed windows, as the providers' own limits: up to twice a limit may pass within
a few seconds around a window's turn, never more than the limit within one window. Counts are taken before
the send: a send that fails still counts (a server never gets more than its limit, sometimes less).

boto3 only here (a repository: the client is handed in, as smtphub.accounts.limits does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PACE_PREFIX = "pace#"
RATE_PREFIX = "rate#"
KEPT_SECONDS = 24 * 3600  # a pacing item outlives its last write by a day
MINUTE_KEPT = 5 * 60  # a minute's count stays a little after its minute (TTL deletion is not immediate)
DAY_KEPT = 3600
RESERVE_TRIES = 8
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True, slots=True)
class Turn:
    """The pacer's answer. `granted`: the e-mail may be handed to a server now (at `at_ms`). Otherwise it
    comes back at `at_ms` (epoch ms), with `slot_ms`, its place in the line, to give back to `Pacer.turn`."""

    granted: bool
    at_ms: int
    slot_ms: int | None = None


class _SendState:
    """SendStateTable through a client handed in; `clock` (epoch seconds) injectable for tests."""

    def __init__(self, client: DynamoDBClient, table: str, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.table = table
        self.clock = clock


class Pacer(_SendState):
    """The apps' `timebetweenemails`, across every sender (see the module's docstring)."""

    @staticmethod
    def key(app_id: str) -> dict[str, Any]:
        return {"pk": {"S": PACE_PREFIX + app_id}}

    def turn(self, app_id: str, gap_seconds: float, slot_ms: int | None = None) -> Turn:
        """May an e-mail of the app go to a server now? `slot_ms`: the slot it was given when it was last
        refused (None for an e-mail that has not waited). A refused e-mail gets its slot (a reservation,
        made here) or, when it already had one, keeps it and is told when `next` allows it."""
        now = self._now_ms()
        gap = round(gap_seconds * 1000)
        if gap <= 0:
            return Turn(True, now)
        if slot_ms is not None and slot_ms > now:
            return Turn(False, slot_ms, slot_ms)  # woken early: nothing to ask yet
        waiting = slot_ms is not None
        old = self._grant(app_id, now, gap, in_line=waiting)
        if old is None:
            return Turn(True, now)
        last_next = old.get("next", now)
        if waiting:
            return Turn(False, max(last_next, now), slot_ms)
        slot = self.reserve(app_id, gap_seconds, floor_ms=max(last_next, now), tail=old.get("tail"))[0]
        return Turn(False, slot, slot)

    def earliest(self, app_id: str) -> float | None:
        """When the app's next e-mail may go at the earliest (epoch seconds): the end of its line, or its
        `next`, whichever is later; None when that is now. One eventually consistent read, for an estimate
        (emails/send's `inittime`); e-mails queued but not yet asked for a turn are not in it."""
        answer = self.client.get_item(
            TableName=self.table,
            Key=self.key(app_id),
            ProjectionExpression="#next, #tail",
            ExpressionAttributeNames={"#next": "next", "#tail": "tail"},
        )
        item = answer.get("Item") or {}
        latest = max((int(item[name]["N"]) for name in ("next", "tail") if name in item), default=0)
        return latest / 1000 if latest > self._now_ms() else None

    def _grant(self, app_id: str, now: int, gap: int, in_line: bool) -> dict[str, int] | None:
        """None when granted; else the item's numbers as they were (from the refused write itself)."""
        names = {"#next": "next", "#expires": "expires"}
        condition = "attribute_not_exists(#next) OR #next <= :now"
        if not in_line:  # a newcomer waits behind the line too
            condition = f"({condition}) AND (attribute_not_exists(#tail) OR #tail <= :now)"
            names["#tail"] = "tail"
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self.key(app_id),
                UpdateExpression="SET #next = :next, #expires = :expires",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":next": {"N": str(now + gap)},
                    ":expires": {"N": str(self._expires(now + gap))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise
            item = error.response.get("Item", {})
            return {name: int(item[name]["N"]) for name in ("next", "tail") if name in item}
        return None

    def reserve(
        self,
        app_id: str,
        gap_seconds: float,
        count: int = 1,
        floor_ms: int | None = None,
        tail: int | None = None,
    ) -> list[int]:
        """`count` consecutive slots in the app's line, `gap` apart, the first at the line's end or at
        `floor_ms` (default now) if the line ends before it. `tail`: the line's end as last seen (only
        picks which write to try first)."""
        gap = max(1, round(gap_seconds * 1000))
        span = gap * count
        floor = max(floor_ms or 0, self._now_ms())
        extend = tail is not None and tail >= floor
        for _ in range(RESERVE_TRIES):
            first = self._extend(app_id, span, floor) if extend else self._start(app_id, span, floor)
            if first is not None:
                return [first + number * gap for number in range(count)]
            extend = not extend  # the line was (or was not) there after all: the other write
        raise RuntimeError(f"could not reserve pacing slots for app {app_id} in {RESERVE_TRIES} tries")

    def _extend(self, app_id: str, span: int, floor: int) -> int | None:
        """The line reaches `floor` or beyond: it grows by `span`; its old end is the first slot."""
        answer = self._update(
            app_id,
            "SET #tail = #tail + :span, #expires = :expires",
            "#tail >= :floor",
            {":span": span, ":floor": floor, ":expires": self._expires(floor + span)},
        )
        return None if answer is None else int(answer["tail"]["N"]) - span

    def _start(self, app_id: str, span: int, floor: int) -> int | None:
        """No line reaches `floor`: one starts there."""
        answer = self._update(
            app_id,
            "SET #tail = :end, #expires = :expires",
            "attribute_not_exists(#tail) OR #tail < :floor",
            {":end": floor + span, ":floor": floor, ":expires": self._expires(floor + span)},
        )
        return None if answer is None else floor

    def _update(
        self, app_id: str, update: str, condition: str, values: dict[str, int]
    ) -> dict[str, Any] | None:
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key=self.key(app_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#tail": "tail", "#expires": "expires"},
                ExpressionAttributeValues={name: {"N": str(value)} for name, value in values.items()},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise
            return None
        return dict(answer["Attributes"])

    def _now_ms(self) -> int:
        return math.floor(self.clock() * 1000)

    @staticmethod
    def _expires(until_ms: int) -> int:
        return until_ms // 1000 + KEPT_SECONDS


@dataclass(frozen=True, slots=True)
class Full:
    """A server at its limit: which window (`minute` or `day`) and when it ends (epoch seconds)."""

    window: str
    until: float


class Windows(_SendState):
    """Each server's `maxperminute` and `maxperday`, counted across every sender."""

    @staticmethod
    def keys(smtp_id: str, at: float) -> tuple[str, str]:
        """The keys of the minute and the day (UTC) `at` falls in."""
        day = datetime.fromtimestamp(at, UTC).strftime("%Y%m%d")
        return f"{RATE_PREFIX}{smtp_id}#m#{math.floor(at / 60)}", f"{RATE_PREFIX}{smtp_id}#d#{day}"

    def take(self, smtp_id: str, per_minute: int | None, per_day: int | None) -> Full | None:
        """Count one send through the server in each window it has a limit for; None when counted, else the
        full window (nothing counted). No limit, no write."""
        now = self.clock()
        minute_key, day_key = self.keys(smtp_id, now)
        minute_end = (math.floor(now / 60) + 1) * 60.0
        midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        day_end = (midnight + timedelta(days=1)).timestamp()
        if per_minute and not self._count(minute_key, per_minute, minute_end + MINUTE_KEPT):
            return Full("minute", minute_end)
        if per_day and not self._count(day_key, per_day, day_end + DAY_KEPT):
            if per_minute:
                self._give_back(minute_key)
            return Full("day", day_end)
        return None

    def _count(self, key: str, limit: int, expires: float) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": key}},
                UpdateExpression="ADD #count :one SET #expires = if_not_exists(#expires, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count", "#expires": "expires"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":expires": {"N": str(math.ceil(expires))},
                },
            )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise
            return False
        return True

    def _give_back(self, key: str) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": key}},
            UpdateExpression="ADD #count :minus",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":minus": {"N": "-1"}},
        )
