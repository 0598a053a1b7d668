"""Per-account quotas: apps per account, SMTP servers per app and per account, counted in the accounts
table in the same DynamoDB transaction as the items they count.

Counter items (key `pk`; no `expires`: they live as long as what they count):

- `quota#<account>`: `apps` and `smtps`, the account's counted apps and SMTP servers;
- `quota#<account>#<app>`: `smtps`, the app's counted servers (deleted in the app's removal).

A create adds one to each of its counters in the TransactWriteItems that puts the item, each on condition
that the count is still below its limit (an absent count is 0): concurrent creates meet on the counter
item, and the one that would go beyond a limit is cancelled whole, QuotaExceeded naming that quota. Every
deletion takes one off in the transaction that deletes the item, so that no crash, retry or race leaves a
count behind: a retried deletion finds the item gone and counts nothing, a create that fails half way and
is undone gives its slot back in the undoing delete, a server moved to another app moves its slot in the
transaction that moves it. A limit lowered below a count refuses new creates only.

What counts: items with `counted` (true), as every create since quotas writes them. Items stored before
(none) are counted by the backfill (smtphub.accounts.backfill), one transaction each that marks the item
and adds it; until then they take no slot, and deleting one gives none back. The delete and the move
conditions say which kind they expect, so that a backfill in between is noticed, never counted twice.

This module only builds the steps; the repositories that own the items run them in their transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smtphub.errors import Conflict, DomainError, QuotaExceeded

if TYPE_CHECKING:
    from smtphub.dynamo import Step

QUOTA_PREFIX = "quota#"
APPS, SMTPS = "apps", "smtps"  # the counts' attribute names


class CounterGone(Conflict):
    """An app's counter is not there to take a server off: the app was removed (its servers go with it,
    or were moved away). Internal: the repository tries again without that step."""


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    """The template's AppsPerAccount, SmtpsPerApp, SmtpsPerAccount (0: none may be created)."""

    apps_per_account: int
    smtps_per_app: int
    smtps_per_account: int


class Quotas:
    """The accounts table's counter steps, for the transactions of the apps' and servers' repositories."""

    def __init__(self, table: str, limits: QuotaLimits) -> None:
        self.table = table
        self.limits = limits

    @staticmethod
    def account_key(account_id: str) -> str:
        return f"{QUOTA_PREFIX}{account_id}"

    @staticmethod
    def app_key(account_id: str, app_id: str) -> str:
        return f"{QUOTA_PREFIX}{account_id}#{app_id}"

    def take_app(self, account_id: str) -> Step:
        """One more app of the account, within its quota."""
        limit = self.limits.apps_per_account
        return self._add(
            self.account_key(account_id), {APPS: 1}, (limit, f"at most {limit} apps per account")
        )

    def take_smtp(self, account_id: str, app_id: str) -> list[Step]:
        """One more server of the app and of the account, within their quotas."""
        limit = self.limits.smtps_per_account
        per_account = (limit, f"at most {limit} SMTP servers per account")
        return [
            self._add(self.app_key(account_id, app_id), {SMTPS: 1}, self._per_app()),
            self._add(self.account_key(account_id), {SMTPS: 1}, per_account),
        ]

    def move_smtp(self, account_id: str, from_app: str, to_app: str, *, counted: bool) -> list[Step]:
        """A server moving to another of the account's apps: one more of `to_app`, within its quota, and
        one less of `from_app` (CounterGone when that app was removed). A server not `counted` yet (stored
        before quotas) is counted now instead: one more of `to_app` and of the account."""
        into = self._add(self.app_key(account_id, to_app), {SMTPS: 1}, self._per_app())
        if not counted:
            return [into, *self.count(account_id, smtps=1)]
        return [into, self._add(self.app_key(account_id, from_app), {SMTPS: -1}, existing=True)]

    def count(
        self, account_id: str, *, app_id: str | None = None, smtps: int = 0, apps: int = 0
    ) -> list[Step]:
        """Count what was stored before quotas, whatever the limits (the backfill, a move): `smtps` more
        servers of the account and, with `app_id`, of that app; `apps` more apps."""
        return self._change(account_id, app_id, smtps, apps, existing=False)

    def release(
        self, account_id: str, *, app_id: str | None = None, smtps: int = 0, apps: int = 0
    ) -> list[Step]:
        """Give back `smtps` server slots (the account's and, with `app_id`, that app's) and `apps` app
        slots. The app's step holds only while its counter exists (CounterGone otherwise), so that a
        removed app's counter is never made again."""
        return self._change(account_id, app_id, -smtps, -apps, existing=True)

    def _change(
        self, account_id: str, app_id: str | None, smtps: int, apps: int, *, existing: bool
    ) -> list[Step]:
        steps = []
        if app_id is not None and smtps:
            steps.append(self._add(self.app_key(account_id, app_id), {SMTPS: smtps}, existing=existing))
        counts = {name: count for name, count in ((APPS, apps), (SMTPS, smtps)) if count}
        if counts:
            steps.append(self._add(self.account_key(account_id), counts))
        return steps

    def forget_app(self, account_id: str, app_id: str) -> Step:
        """Delete the app's counter (its removal's last transaction)."""
        delete: Any = {
            "Delete": {"TableName": self.table, "Key": {"pk": {"S": self.app_key(account_id, app_id)}}}
        }
        return delete, Conflict

    def _per_app(self) -> tuple[int, str]:
        limit = self.limits.smtps_per_app
        return limit, f"at most {limit} SMTP servers per app"

    def _add(
        self,
        key: str,
        counts: Mapping[str, int],
        limit: tuple[int, str] | None = None,
        *,
        existing: bool = False,
    ) -> Step:
        """ADD `counts` to the item `key`; with `limit` (its one count below the limit, and the quota's
        words), only while that count is below it: QuotaExceeded otherwise. A limit of 0 refuses here."""
        names = {f"#c{n}": name for n, name in enumerate(counts)}
        values: dict[str, Any] = {f":c{n}": {"N": str(count)} for n, count in enumerate(counts.values())}
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": {"S": key}},
            "UpdateExpression": "ADD " + ", ".join(f"#c{n} :c{n}" for n in range(len(counts))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        failure: Callable[[], DomainError] = Conflict
        if limit is not None:
            most, words = limit
            failure = _exceeded(words)
            if most <= 0:
                raise failure()
            update["ConditionExpression"] = "attribute_not_exists(#c0) OR #c0 < :limit"
            values[":limit"] = {"N": str(most)}
        if existing:
            update["ConditionExpression"] = "attribute_exists(#pk)"
            names["#pk"] = "pk"
            failure = CounterGone
        step: Any = {"Update": update}
        return step, failure


def _exceeded(words: str) -> Callable[[], DomainError]:
    return lambda: QuotaExceeded(f"Quota exceeded: {words}")
