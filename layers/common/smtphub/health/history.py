"""The last results of each server: HistoryTable, key (idsmtp, seq), `expires` its TTL attribute.

`seq` is the server's own count of recorded checks (the record's `checks`, counted up by the same write
that records the result), so the newest results are one Query away (ScanIndexForward false, Limit), and
keeping the last `KEEP` costs no read: the write of result n deletes result n - KEEP in the same
BatchWriteItem. Every item also expires `TTL_DAYS` after it was written (DynamoDB deletes expired items
within a few days; reads do not filter them, the window is a bound on storage, not a promise of absence).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smtphub.aws import LazyClient
from smtphub.dynamo import from_attribute, to_attribute
from smtphub.smtps.items import result_from_map, result_to_map
from smtphub.smtps.results import CheckResult

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from smtphub.smtps.models import SmtpRef
    from smtphub.smtps.repository import SmtpRepository

KEEP = 50
TTL_DAYS = 30
MAX_LIMIT = 50
DEFAULT_LIMIT = 20


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded check: its result, what asked for it (`manual`: smtps/check; `scheduled`: a probe of the
    health schedule) and the server's status once it was recorded."""

    result: CheckResult
    trigger: str
    status: str


def entry_to_map(entry: HistoryEntry) -> dict[str, Any]:
    """A history item's `result`: the check result's stored map (smtphub.smtps.items) with `trigger` and
    `status`, as every release since issue 13 has written it."""
    return {**result_to_map(entry.result), "trigger": entry.trigger, "status": entry.status}


def entry_from_map(stored: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(result_from_map(stored), str(stored.get("trigger")), str(stored.get("status")))


class HistoryRepository(LazyClient["DynamoDBClient"]):
    def __init__(self, client: Callable[[], DynamoDBClient], table: str) -> None:
        super().__init__(client)
        self.table = table

    def _key(self, smtp_id: str, seq: int) -> dict[str, Any]:
        return {"idsmtp": {"S": smtp_id}, "seq": {"N": str(seq)}}

    def add(self, smtp_id: str, seq: int, entry: HistoryEntry, now: float) -> None:
        """Result number `seq` of the server; result `seq - KEEP` goes in the same call."""
        item = {
            **self._key(smtp_id, seq),
            "expires": {"N": str(int(now) + TTL_DAYS * 86400)},
            "result": to_attribute(entry_to_map(entry)),
        }
        requests: list[Any] = [{"PutRequest": {"Item": item}}]
        if seq > KEEP:
            requests.append({"DeleteRequest": {"Key": self._key(smtp_id, seq - KEEP)}})
        pending: Any = {self.table: requests}
        for attempt in range(4):
            pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(0.05 * 2**attempt)
        raise RuntimeError("DynamoDB left a history write unprocessed after retries")

    def latest(self, smtp_id: str, limit: int = DEFAULT_LIMIT) -> list[HistoryEntry]:
        """The server's newest `limit` results, newest first (one Query)."""
        page = self.client.query(
            TableName=self.table,
            KeyConditionExpression="idsmtp = :id",
            ExpressionAttributeValues={":id": {"S": smtp_id}},
            ScanIndexForward=False,
            Limit=min(max(limit, 1), MAX_LIMIT),
        )
        items = page.get("Items", [])
        return [entry_from_map(from_attribute(item["result"])) for item in items if "result" in item]


class HistoryService:
    """smtps/history: the account's server first (another account's is SmtpNotFound), then its results."""

    def __init__(self, smtps: SmtpRepository, history: HistoryRepository) -> None:
        self.smtps = smtps
        self.history = history

    def latest(self, ref: SmtpRef, limit: int = DEFAULT_LIMIT) -> list[HistoryEntry]:
        self.smtps.get_owned(ref.account_id, ref.smtp_id)
        return self.history.latest(ref.smtp_id, limit)
