"""Counting what was stored before quotas: run once after deploying them (smtphub.accounts.quotas).

    python -m smtphub.accounts.backfill --stack smtp-hub [--region eu-west-1]   (make backfill-quotas)

Apps and servers stored before quotas have no `counted` and take no slot. This scans the apps table, then
the SMTP servers table, for them (consistent reads, every page) and counts each in one transaction of its
own that marks it counted (only while it is there, not counted yet, and as read) and adds it to its
account's counters (and, for a server, its app's): so each is counted exactly once, whatever runs
meanwhile. A delete before the mark finds nothing counted and gives nothing back; a delete after it gives
its slot back; a create, a move or a rename meanwhile is told by its own condition. Counts may go above
the limits (a quota lowered below a count refuses new creates only).

Left alone: an app being removed, and a server whose app is gone or being removed (the removal, or the
apps' cleanup, deletes them uncounted). Idempotent and safe to run while the API serves: a second run finds
nothing left to count. Its own credentials need Scan, UpdateItem and ConditionCheckItem on the apps and
servers tables and UpdateItem on the accounts table.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from smtphub.accounts.quotas import Quotas
from smtphub.dynamo import Step, scanned, transact_steps
from smtphub.errors import Conflict, DomainError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOT_COUNTED = "attribute_not_exists(#counted)"
_NAMES = {"#id": "_id", "#counted": "counted"}


class _Skip(DomainError):
    """Not to be counted now: gone, counted already, changed, or its app is gone or being removed."""


def backfill(client: DynamoDBClient, apps_table: str, smtps_table: str, quotas: Quotas) -> Counter[str]:
    """Count every app and server stored before quotas; how many were counted and skipped."""
    tally: Counter[str] = Counter()
    for item in _uncounted(client, apps_table, "#id, iduser, deleting"):
        if item["_id"]["S"].startswith("#") or "deleting" in item:
            continue  # a name lock; an app being removed
        account, app = item["iduser"]["S"], item["_id"]["S"]
        mark = _mark(
            apps_table, {"iduser": {"S": account}, "_id": {"S": app}}, "attribute_not_exists(deleting)"
        )
        tally["apps" if _count(client, [mark, *quotas.count(account, apps=1)]) else "skipped"] += 1
    for item in _uncounted(client, smtps_table, "#id, iduser, idapp"):
        account, app = item["iduser"]["S"], item["idapp"]["S"]
        owned = "iduser = :owner AND idapp = :app"
        mark = _mark(smtps_table, {"_id": item["_id"]}, owned, {":owner": {"S": account}, ":app": {"S": app}})
        live: Any = {
            "ConditionCheck": {
                "TableName": apps_table,
                "Key": {"iduser": {"S": account}, "_id": {"S": app}},
                "ConditionExpression": "attribute_exists(#id) AND attribute_not_exists(deleting)",
                "ExpressionAttributeNames": {"#id": "_id"},
            }
        }
        steps = [mark, (live, _Skip), *quotas.count(account, app_id=app, smtps=1)]
        tally["smtps" if _count(client, steps) else "skipped"] += 1
    return tally


def _uncounted(client: DynamoDBClient, table: str, projection: str) -> Iterator[dict[str, Any]]:
    return scanned(
        client,
        TableName=table,
        ConsistentRead=True,
        FilterExpression=NOT_COUNTED,
        ProjectionExpression=projection,
        ExpressionAttributeNames=_NAMES,
    )


def _mark(table: str, key: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> Step:
    """Set `counted` on the item at `key`, while it exists, is not counted yet and meets `condition`."""
    update: Any = {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": "SET #counted = :yes",
            "ConditionExpression": f"attribute_exists(#id) AND {NOT_COUNTED} AND {condition}",
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": {":yes": {"BOOL": True}, **(values or {})},
        }
    }
    return update, _Skip


def _count(client: DynamoDBClient, steps: list[Step]) -> bool:
    try:
        transact_steps(client, steps)
    except (_Skip, Conflict):  # Conflict: lost to concurrent writes; a later run counts it
        return False
    return True


def main(argv: list[str] | None = None) -> None:
    """The command: the stack's tables from its outputs, its quotas' limits do not matter (counting only)."""
    import boto3  # noqa: PLC0415 - an operator's command, never a Lambda's

    from smtphub.accounts.quotas import QuotaLimits  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="python -m smtphub.accounts.backfill", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--stack", required=True, help="the CloudFormation stack's name")
    parser.add_argument("--region", help="its region (default: the AWS configuration's)")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    stack = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    quotas = Quotas(outputs["AccountsTableName"], QuotaLimits(0, 0, 0))
    tally = backfill(session.client("dynamodb"), outputs["AppsTableName"], outputs["SmtpsTableName"], quotas)
    print(f"counted {tally['apps']} apps and {tally['smtps']} SMTP servers; skipped {tally['skipped']}")


if __name__ == "__main__":
    main()
