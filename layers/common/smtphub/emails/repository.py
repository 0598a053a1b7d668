"""The e-mails table: key _id; the sparse index byWake (held, wakeat) lists what waits for the sweep.

Every state change is one conditional write, so that concurrent requests and senders agree on who did it:

- create: the record, in one TransactWriteItems with the steps handed in (the account's monthly count:
  smtphub.accounts.monthly), so a refused or failed create counts nothing;
- cancel: Q -> C, only while queued and the account's;
- claim: Q -> R for the turn a queue message names (or R -> R again, once the lease of a sender that died
  has run out): a duplicate, stale or cancelled e-mail's message claims nothing;
- finish: R -> F or E, and requeue: R -> Q, each only by the sender holding the claim (`holder`);
- hold/unhold: an e-mail waiting longer than SQS can delay a message sits in byWake until the sweep sends
  it; a new e-mail is written held for a short while too, so that one whose request died before its
  message was sent is still sent;
- remove: only once F, E or C, and the account's.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.codec import Codec
from smtphub.dynamo import Step, condition_failed, from_item, read_item, to_attribute, transact_steps
from smtphub.emails.models import CANCELLED, DONE, QUEUED, SENDING, Email
from smtphub.errors import Conflict, DomainError, EmailNotCancellable, EmailNotFound, EmailNotRemovable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_WAKE_INDEX = "byWake"
HELD = "Q"  # byWake's one partition: the e-mails the sweep must hand to the queue
EMAIL_CODEC = Codec(
    Email,
    {"id": "_id", "app_id": "idapp", "account_id": "iduser", "sender": "from", "sendername": "fromname"},
)


class EmailRepository:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def _key(self, email_id: str) -> dict[str, Any]:
        return {"_id": {"S": email_id}}

    def get(self, email_id: str) -> Email | None:
        return read_item(self.client, self.table, self._key(email_id), EMAIL_CODEC.decode)

    def get_owned(self, account_id: str, email_id: str) -> Email:
        """The account's e-mail; EmailNotFound when there is none, and when it is another account's."""
        email = self.get(email_id)
        if email is None or email.account_id != account_id:
            raise EmailNotFound()
        return email

    def create(self, email: Email, with_steps: Sequence[Step] = ()) -> None:
        """Store a new e-mail (held until `email.wakeat` when it has one) in one transaction with
        `with_steps`, each a step and the domain error its refusal raises (the account's monthly count)."""
        wake = {"held": HELD} if email.wakeat is not None else {}
        put: Any = {
            "Put": {
                "TableName": self.table,
                "Item": EMAIL_CODEC.encode(email, **wake),
                "ConditionExpression": "attribute_not_exists(#id)",
                "ExpressionAttributeNames": {"#id": "_id"},
            }
        }
        transact_steps(self.client, [(put, Conflict), *with_steps])

    def cancel(self, account_id: str, email_id: str, at: str, expires: int, deleled_by: str) -> Email:
        """Q -> C; EmailNotFound (missing, another account's) or EmailNotCancellable (not queued)."""
        return self._change(
            account_id,
            email_id,
            update="SET #status = :cancelled, finishtime = :at, modified = :at, expires = :expires, "
            "logsdeleledby = :by, #turn = #turn + :one REMOVE wakeat, held",
            condition="#status = :queued",
            values={
                ":cancelled": {"S": CANCELLED},
                ":queued": {"S": QUEUED},
                ":at": {"S": at},
                ":one": {"N": "1"},
                ":expires": {"N": str(expires)},
                ":by": {"S": deleled_by},
            },
            refused=EmailNotCancellable,
        )

    def remove(self, account_id: str, email_id: str) -> Email:
        """Delete a finished, failed or cancelled e-mail; what it was. EmailNotFound or EmailNotRemovable."""
        try:
            old = self.client.delete_item(
                TableName=self.table,
                Key=self._key(email_id),
                ConditionExpression="iduser = :owner AND #status IN (:f, :e, :c)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":owner": {"S": account_id},
                    **{f":{s.lower()}": {"S": s} for s in DONE},
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            raise _refusal(error, account_id, EmailNotRemovable) from None
        return EMAIL_CODEC.decode(old["Attributes"])

    def claim(self, email_id: str, turn: int, now: int, lease: int) -> Email | None:
        """Take the e-mail for sending, for the turn its message names; the e-mail as claimed (its `holder`
        a token of this claim's own), or None when the message is stale (a duplicate, a cancelled or
        finished e-mail, a claim still held). A claim whose lease ran out (its sender died) is taken over
        by the message's redelivery: delivery is at least once."""
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key=self._key(email_id),
                UpdateExpression="SET #status = :sending, lease = :lease, #turn = :next, holder = :holder "
                "REMOVE wakeat, held",
                ConditionExpression="(#status = :queued AND #turn = :turn) OR "
                "(#status = :sending AND #turn = :next AND lease < :now)",
                ExpressionAttributeNames={"#status": "status", "#turn": "turn"},
                ExpressionAttributeValues={
                    ":sending": {"S": SENDING},
                    ":queued": {"S": QUEUED},
                    ":turn": {"N": str(turn)},
                    ":next": {"N": str(turn + 1)},
                    ":lease": {"N": str(lease)},
                    ":now": {"N": str(now)},
                    ":holder": {"S": secrets.token_hex(8)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return EMAIL_CODEC.decode(answer["Attributes"])

    def finish(self, email: Email, changes: dict[str, Any]) -> bool:
        """R -> F or E (`changes` sets `status`, `finishtime`, the recipients' lists...), only by the
        sender holding `email`'s claim; False when it no longer does (nothing written)."""
        return self._by_holder(email, {**changes, "lease": None, "holder": None})

    def requeue(self, email: Email, changes: dict[str, Any], wake_at: int | None) -> int | None:
        """R -> Q for another turn (`changes`: attempts, inittime...), held for the sweep until `wake_at`
        when given; the new turn, or None when the sender no longer holds the claim."""
        turn = email.turn + 1
        held = {"wakeat": wake_at, "held": HELD} if wake_at is not None else {"wakeat": None, "held": None}
        changes = {**changes, **held, "status": QUEUED, "turn": turn, "lease": None, "holder": None}
        done = self._by_holder(email, changes)
        return turn if done else None

    def due(self, until: int) -> Iterator[tuple[str, int, int]]:
        """(id, turn, wakeat) of every held e-mail whose wakeat is at most `until`, soonest first."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_WAKE_INDEX,
            "KeyConditionExpression": "held = :held AND wakeat <= :until",
            "ExpressionAttributeValues": {":held": {"S": HELD}, ":until": {"N": str(until)}},
        }
        while True:
            page = self.client.query(**request)
            for item in page.get("Items", []):
                values = from_item(item)
                yield str(values["_id"]), int(values.get("turn") or 0), int(values["wakeat"])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def unhold(self, email_id: str, turn: int) -> bool:
        """The sweep has sent the e-mail's message: it leaves byWake (only while still at `turn`)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(email_id),
                UpdateExpression="REMOVE wakeat, held",
                ConditionExpression="#turn = :turn AND #status = :queued",
                ExpressionAttributeNames={"#turn": "turn", "#status": "status"},
                ExpressionAttributeValues={":turn": {"N": str(turn)}, ":queued": {"S": QUEUED}},
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def _by_holder(self, email: Email, changes: dict[str, Any]) -> bool:
        sets, removes, names, values = [], [], {"#status": "status"}, {}
        for position, (name, value) in enumerate(sorted(changes.items())):
            stored = EMAIL_CODEC.stored(name)
            names[f"#c{position}"] = stored
            if value is None:
                removes.append(f"#c{position}")
            else:
                values[f":c{position}"] = to_attribute(value)
                sets.append(f"#c{position} = :c{position}")
        expression = ("SET " + ", ".join(sets) if sets else "") + (
            " REMOVE " + ", ".join(removes) if removes else ""
        )
        values |= {":sending": {"S": SENDING}, ":holder": {"S": email.holder or ""}}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(email.id),
                UpdateExpression=expression.strip(),
                ConditionExpression="#status = :sending AND holder = :holder",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def _change(
        self,
        account_id: str,
        email_id: str,
        *,
        update: str,
        condition: str,
        values: dict[str, Any],
        refused: type[DomainError],
    ) -> Email:
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key=self._key(email_id),
                UpdateExpression=update,
                ConditionExpression=f"iduser = :owner AND {condition}",
                ExpressionAttributeNames={"#status": "status", "#turn": "turn"},
                ExpressionAttributeValues={":owner": {"S": account_id}, **values},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            raise _refusal(error, account_id, refused) from None
        return EMAIL_CODEC.decode(answer["Attributes"])


def _refusal(error: ClientError, account_id: str, refused: type[DomainError]) -> DomainError:
    """A refused conditional write on an e-mail: not found (missing, another account's), or `refused`."""
    old: Any = error.response.get("Item") or {}
    if old.get("iduser") != {"S": account_id}:
        return EmailNotFound()
    return refused()
