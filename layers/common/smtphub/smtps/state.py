"""The SMTP repository's writes of a server's health (its `SmtpRepository` inherits them): a check's
result recorded on the record, and the schedule's index `byNextCheck` (status, nextcheck), sparse.

Only servers with a `nextcheck` (epoch seconds) are in the index: every disabled server (re-probed with
backoff) and, while HEALTH_INTERVAL_HOURS is not 0, every active one. Its key is the status, so the sweep's
two Queries (`status = D AND nextcheck <= now`, the same for A) read only what is due, never the table,
and its projection is the keys alone (a page holds thousands of servers).

A probe claims its server first: one UpdateItem moving `nextcheck` from the time the sweep saw (`due`) to
a lease a few minutes ahead, only if it is still `due`. A message delivered twice, or sent by two sweeps,
finds another `nextcheck` and does nothing: one probe, one result. The result is then written only while
`nextcheck` is still that lease (`record_check`): a manual check or an edit meanwhile wins. A worker that
dies holding a lease leaves the server due again when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.dynamo import condition_failed, from_item, to_attribute, update_if
from smtphub.errors import Conflict, SmtpNotFound
from smtphub.smtps.items import SMTP_CODEC, result_from_map, result_to_map
from smtphub.smtps.models import STATUS_ACTIVE, STATUS_DISABLED, Smtp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from smtphub.smtps.results import CheckResult

BY_NEXT_CHECK_INDEX = "byNextCheck"


class HealthWrites:
    """The writes of a server's health state: its checks' results, the schedule's leases (a half of
    smtphub.smtps.repository.SmtpRepository, which holds `client` and `table`)."""

    client: DynamoDBClient
    table: str
    pages = 0  # index pages read by `due` (make bench)

    def _key(self, smtp_id: str) -> dict[str, Any]:
        return {"_id": {"S": smtp_id}}

    def record_check(
        self,
        smtp: Smtp,
        result: CheckResult,
        *,
        disable: bool = True,
        nextcheck: int | None = None,
        lease: int | None = None,
    ) -> Recorded:
        """Store a check's result (as `lastcheck`) in one conditional UpdateItem; what it replaced.

        Success: status A, numerrors 0, the senders' fault state gone (smtphub.smtps.faults); failure:
        numerrors + 1 (atomic ADD, so concurrent checks all count) and, when `disable`, status D. `nextcheck`
        is the next scheduled probe (None: none), `checks` counts the results (the history's sequence).
        `version` and `modified` stay as they are: a check is not an edit and never makes a concurrent edit
        fail. The write holds only while the server exists, is the same account's, is still at the version the
        check used and, for a scheduled probe, still held by its `lease`: otherwise SmtpNotFound when it is
        gone, Conflict when it changed, and nothing is written.
        """
        expression, condition, names, values = _record_update(
            smtp, result, disable=disable, nextcheck=nextcheck, lease=lease
        )
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key=self._key(smtp.id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            old = error.response.get("Item") or {}
            if old.get("iduser") != {"S": smtp.account_id}:
                raise SmtpNotFound() from None
            raise Conflict() from None
        before = from_item(answer.get("Attributes") or {})
        previous = before.get("lastcheck")
        return Recorded(
            before.get("status"),
            result_from_map(previous) if previous else None,
            int(before.get("checks") or 0) + 1,
        )

    def due(self, status: str, now: int) -> Iterator[tuple[str, int]]:
        """(server id, its nextcheck) of every server of `status` due by `now`, page by page."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_NEXT_CHECK_INDEX,
            "KeyConditionExpression": "#status = :status AND nextcheck <= :now",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": {"S": status}, ":now": {"N": str(now)}},
        }
        while True:
            page = self.client.query(**request)
            self.pages += 1
            for item in page.get("Items", []):
                yield item["_id"]["S"], int(item["nextcheck"]["N"])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim(self, smtp_id: str, due: int, lease: int) -> Smtp | None:
        """The server, now held until `lease`, if its nextcheck is still `due`; None otherwise (another
        delivery of the same message, a sweep's duplicate, a check or removal since)."""
        return update_if(
            self.client,
            SMTP_CODEC.decode,
            TableName=self.table,
            Key=self._key(smtp_id),
            UpdateExpression="SET nextcheck = :lease",
            ConditionExpression="nextcheck = :due",
            ExpressionAttributeValues={":lease": {"N": str(lease)}, ":due": {"N": str(due)}},
        )

    def reschedule(self, smtp_id: str, lease: int, nextcheck: int | None) -> bool:
        """Release a claimed server without a result (nothing could be probed): next time `nextcheck`."""
        values: dict[str, Any] = {":lease": {"N": str(lease)}}
        expression = "REMOVE nextcheck"
        if nextcheck is not None:
            expression, values[":next"] = "SET nextcheck = :next", {"N": str(nextcheck)}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(smtp_id),
                UpdateExpression=expression,
                ConditionExpression="nextcheck = :lease",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True


def _record_update(
    smtp: Smtp,
    result: CheckResult,
    *,
    disable: bool,
    nextcheck: int | None,
    lease: int | None,
) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    """record_check's UpdateExpression, ConditionExpression, names and values."""
    ok = result.ok
    names = {"#id": "_id", "#owner": "iduser", "#version": "version", "#numerrors": "numerrors",
             "#lastcheck": "lastcheck", "#next": "nextcheck", "#checks": "checks"}  # fmt: skip
    values: dict[str, Any] = {
        ":expected": {"N": str(smtp.version)},
        ":owner": {"S": smtp.account_id},
        ":lastcheck": to_attribute(result_to_map(result)),
        ":one": {"N": "1"},
    }
    sets = ["#lastcheck = :lastcheck"]
    adds = ["#checks :one"]
    removes = []
    if ok or disable:
        sets.append("#status = :status")
        names["#status"] = "status"
        values[":status"] = {"S": STATUS_ACTIVE if ok else STATUS_DISABLED}
    if ok:  # a passing check also ends the senders' fault state (smtphub.smtps.faults)
        sets.append("#numerrors = :zero")
        values[":zero"] = {"N": "0"}
        removes += ["#faults", "#cooldown"]
        names.update({"#faults": "faults", "#cooldown": "cooldown"})
    else:
        adds.append("#numerrors :one")
    if nextcheck is not None:
        sets.append("#next = :next")
        values[":next"] = {"N": str(nextcheck)}
    if nextcheck is None:
        removes.append("#next")
    expression = f"SET {', '.join(sets)} ADD {', '.join(adds)}"
    if removes:
        expression += f" REMOVE {', '.join(removes)}"
    condition = "attribute_exists(#id) AND #owner = :owner AND #version = :expected"
    if lease is not None:
        condition += " AND #next = :lease"
        values[":lease"] = {"N": str(lease)}
    return expression, condition, names, values


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a recorded check replaced: the status before (None if the write left it alone), the lastcheck
    before, and the result's number among the server's (its history `seq`)."""

    previous_status: str | None
    previous_lastcheck: CheckResult | None
    seq: int
