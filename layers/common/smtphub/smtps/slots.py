"""The SMTP servers table's writes that give a server's quota slots back, or move them, in the same
transaction (smtphub.accounts.quotas), so that no path leaves a count behind:

- `move` (smtps/save moving a server to another app): the new app's condition and slot, the old app's
  slot given back, the record's edit, in one TransactWriteItems;
- `delete` (smtps/remove, and the apps' cleanup of servers a removal missed): the record read (its app,
  whether it is counted), then deleted while it is still as read, with its slots: GetItem, then
  TransactWriteItems (a server stored before quotas and not counted yet: a conditional DeleteItem);
- `delete_new` (a create whose secret failed, undone): the record while still at version 1, with its slots;
- `delete_of_app` (apps/remove): the app's servers, its own slot and its counter, in transactions of 100.

A delete whose condition fails is read again (moved, counted by the backfill, or gone meanwhile), so a
retry or a race gives back exactly what was deleted. The app's counter is given back to only while it
exists: a server that outlived its removed app (the apps' cleanup, or a remove before it) gives back the
account's slot alone, and never makes the app's counter again; it may still move to another app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub import dynamo
from smtphub.accounts.quotas import CounterGone
from smtphub.dynamo import CONFLICT_TRIES, condition_failed, transact_steps
from smtphub.errors import AppNotFound, Conflict
from smtphub.smtps.models import Smtp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from smtphub.dynamo import Step
    from smtphub.smtps.repository import SmtpRepository

YES = {"BOOL": True}


class _Changed(Conflict):
    """A delete's condition failed: the record is gone, or no longer as it was read."""


def counted(smtp: Smtp) -> str:
    """The condition that the record is still counted (or not) as `smtp` was read (`#counted` names the
    attribute, `:yes` is true)."""
    return "#counted = :yes" if smtp.counted else "attribute_not_exists(#counted)"


def move(repo: SmtpRepository, smtp: Smtp, update: dict[str, Any], moved_from: str) -> None:
    """The edit (`update`, an UpdateItem request) of a server moving from app `moved_from` to `smtp`'s,
    with the new app's condition and slot and the old app's slot given back, while the record is still
    counted as read: AppNotFound, or QuotaExceeded. A server stored before quotas is counted by the move."""
    update["ConditionExpression"] += " AND " + counted(smtp)
    update["ExpressionAttributeNames"]["#counted"] = "counted"
    update["ExpressionAttributeValues"][":yes"] = YES
    if not smtp.counted:
        update["UpdateExpression"] = update["UpdateExpression"].replace("SET ", "SET #counted = :yes, ", 1)
    app_live = repo.app_condition(smtp.account_id, smtp.app_id)
    moved = repo.quotas.move_smtp(smtp.account_id, moved_from, smtp.app_id, counted=smtp.counted)
    steps: list[Step] = [(app_live, AppNotFound), *moved, ({"Update": update}, Conflict)]  # type: ignore[typeddict-item]
    try:
        transact_steps(repo.client, steps)
    except CounterGone:  # the old app was removed (its removal missed this server): nothing to give back
        transact_steps(repo.client, [step for step in steps if step[1] is not CounterGone])


def delete(
    repo: SmtpRepository, account_id: str, smtp_id: str, app_id: str | None = None, *, app_gone: bool = False
) -> Smtp | None:
    """Delete a server the account has (with `app_id`: only while it is that app's) and give its slots
    back; what it deleted, None when there is none (or another account's, or another app's). `app_gone`:
    its app was removed, and the app's counter with it (the apps' cleanup)."""
    for _ in range(CONFLICT_TRIES):
        smtp = repo.get(smtp_id)
        if smtp is None or smtp.account_id != account_id or app_id not in (None, smtp.app_id):
            return None
        values = {":owner": {"S": account_id}, ":app": {"S": smtp.app_id}, ":yes": YES}
        step: Any = {
            "Delete": {
                "TableName": repo.table,
                "Key": repo._key(smtp_id),
                "ConditionExpression": "iduser = :owner AND idapp = :app AND " + counted(smtp),
                "ExpressionAttributeNames": {"#counted": "counted"},
                "ExpressionAttributeValues": values if smtp.counted else _without_yes(values),
            }
        }
        try:
            _releasing(repo, smtp, step, app_gone=app_gone)
        except CounterGone:
            app_gone = True  # the app was removed meanwhile: read again, and leave its counter be
        except _Changed:
            continue  # moved, counted or removed meanwhile: read again
        else:
            return smtp
    raise Conflict()


def delete_new(repo: SmtpRepository, smtp: Smtp) -> None:
    """Undo a create whose secret could not be written: delete the record while nobody edited it, and
    give its slots back. Nothing when it is gone or was edited since (it is theirs now)."""
    step: Any = {
        "Delete": {
            "TableName": repo.table,
            "Key": repo._key(smtp.id),
            "ConditionExpression": "version = :first",
            "ExpressionAttributeValues": {":first": {"N": "1"}},
        }
    }
    counted_smtp = replace(smtp, counted=True)  # create() stored it counted
    for app_gone in (False, True):
        try:
            _releasing(repo, counted_smtp, step, app_gone=app_gone)
        except CounterGone:
            continue  # its app was removed meanwhile: the account's slot alone
        except _Changed:
            return
        return


def delete_of_app(
    repo: SmtpRepository,
    account_id: str,
    app_id: str,
    smtps: Mapping[str, bool],
    then: Sequence[TransactWriteItemTypeDef],
    *,
    app_counted: bool,
) -> None:
    """apps/remove: delete those servers (id -> counted) while they are the account's and that app's, and
    counted as read (one moved to another app meanwhile stays), in transactions of up to 100, the last one
    with `then`. Each gives back the slots of the counted servers it deletes; the last one also the app's
    own slot (when `app_counted`), and deletes the app's counter. Servers stored before quotas go first,
    without giving anything back."""
    values = {":owner": {"S": account_id}, ":app": {"S": app_id}, ":yes": YES}

    def deletes(counted_ones: bool) -> list[Any]:
        condition = "iduser = :owner AND idapp = :app AND "
        condition += "#counted = :yes" if counted_ones else "attribute_not_exists(#counted)"
        common = {
            "TableName": repo.table,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#counted": "counted"},
            "ExpressionAttributeValues": values if counted_ones else _without_yes(values),
        }
        chosen = [smtp_id for smtp_id, flag in smtps.items() if flag is counted_ones]
        return [{"Delete": {**common, "Key": repo._key(smtp_id)}} for smtp_id in chosen]

    def tally(deleted: int, last: bool) -> list[TransactWriteItemTypeDef]:
        if not last:
            return [step for step, _ in repo.quotas.release(account_id, app_id=app_id, smtps=deleted)]
        released = repo.quotas.release(account_id, smtps=deleted, apps=int(app_counted))
        return [step for step, _ in [*released, repo.quotas.forget_app(account_id, app_id)]]

    legacy = deletes(counted_ones=False)
    if legacy:
        dynamo.delete_all(repo.client, legacy)
    dynamo.delete_all(repo.client, deletes(counted_ones=True), then, tally)


def _releasing(repo: SmtpRepository, smtp: Smtp, step: Any, *, app_gone: bool) -> None:
    """The Delete `step`, with the record's slots given back when it is counted: _Changed when its
    condition fails, CounterGone when the app's counter is gone (unless `app_gone`)."""
    if not smtp.counted:
        try:
            repo.client.delete_item(**step["Delete"])
        except ClientError as error:
            if condition_failed(error):
                raise _Changed() from None
            raise
        return
    slots = repo.quotas.release(smtp.account_id, app_id=None if app_gone else smtp.app_id, smtps=1)
    transact_steps(repo.client, [(step, _Changed), *slots])


def _without_yes(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name != ":yes"}
