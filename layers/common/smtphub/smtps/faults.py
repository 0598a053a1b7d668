"""The SMTP repository's writes of a server's sending faults (its `SmtpRepository` inherits them): the state
every sender shares, so that a server that faults is passed over by all of them, not by one process.

Three attributes of the server's record, none of which an edit writes (edits write only the fields they
change: smtphub.smtps.repository `update`), so no write here conflicts with one:
- `faults`: consecutive sending faults (a successful send or check ends the run);
- `cooldown`: epoch seconds until which senders pass the server over;
- `numerrors`, which a fault also counts, as a failed check does.

A fault is counted once per cool-down: the write holds only when the server is not cooling down already,
so the senders that were talking to it when it went down (each e-mail of a batch, every concurrent
invocation) count one fault together, not one each. `faults` thus counts outages seen one cool-down
apart, which is what `DISABLE_AFTER` in a row means for sending. Disabling is a second conditional write
(status A -> D only while the run is still that long), so exactly one sender announces it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from smtphub.dynamo import condition_failed, update_if
from smtphub.smtps.items import SMTP_CODEC
from smtphub.smtps.models import STATUS_ACTIVE, STATUS_DISABLED, Smtp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_NAMES = {"#id": "_id", "#faults": "faults", "#cooldown": "cooldown"}


class FaultWrites:
    """The writes of a server's sending faults (a part of smtphub.smtps.repository.SmtpRepository, which
    holds `client` and `table`)."""

    client: DynamoDBClient
    table: str

    def record_fault(self, smtp_id: str, *, now: int, cooldown_until: int) -> Smtp | None:
        """One sending fault: `faults` and `numerrors` + 1, senders pass the server over until
        `cooldown_until`. Nothing is written when the server is cooling down already at `now` (another
        sender counted this outage) or is gone: None then; else the server as it is now."""
        return update_if(
            self.client,
            SMTP_CODEC.decode,
            TableName=self.table,
            Key={"_id": {"S": smtp_id}},
            UpdateExpression="SET #cooldown = :until ADD #faults :one, numerrors :one",
            ConditionExpression="attribute_exists(#id) AND "
            "(attribute_not_exists(#cooldown) OR #cooldown <= :now)",
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={
                ":until": {"N": str(cooldown_until)},
                ":now": {"N": str(now)},
                ":one": {"N": "1"},
            },
        )

    def disable_for_faults(self, smtp_id: str, *, faults: int, nextcheck: int) -> Smtp | None:
        """Status A -> D after `faults` faults in a row, with the health schedule's `nextcheck` (its probe
        re-enables the server when it passes). Only while the server is active and its run of faults is
        still that long (a success since ended it): the server as it is now, or None (nothing written)."""
        return update_if(
            self.client,
            SMTP_CODEC.decode,
            TableName=self.table,
            Key={"_id": {"S": smtp_id}},
            UpdateExpression="SET #status = :disabled, nextcheck = :next",
            ConditionExpression="#status = :active AND #faults >= :faults",
            ExpressionAttributeNames={"#status": "status", "#faults": "faults"},
            ExpressionAttributeValues={
                ":disabled": {"S": STATUS_DISABLED},
                ":active": {"S": STATUS_ACTIVE},
                ":faults": {"N": str(faults)},
                ":next": {"N": str(nextcheck)},
            },
        )

    def clear_faults(self, smtp_id: str) -> bool:
        """A successful send ends the run: `faults` and `cooldown` go. The caller writes only when the server
        it read had either; False when there was nothing left to clear (or the server is gone)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"_id": {"S": smtp_id}},
                UpdateExpression="REMOVE #faults, #cooldown",
                ConditionExpression="attribute_exists(#id) AND "
                "(attribute_exists(#faults) OR attribute_exists(#cooldown))",
                ExpressionAttributeNames=_NAMES,
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True
