"""An account's e-mails per calendar month (UTC), counted in the accounts table.

One item per account and month, `emails#<account>#<yyyymm>`, counted up by the e-mail's own create: the
step returned here joins the TransactWriteItems that writes the e-mail (smtphub.emails.repository), so an
e-mail that is refused, or whose create fails, counts nothing, and concurrent sends cannot go beyond the
limit. Every recipient (TO, CC and BCC) counts one: the limit is on messages delivered, as a free tier's
"10,000 e-mails a month" means. The item expires (the table's TTL) well after its month.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from smtphub.errors import MonthlyLimitExceeded

if TYPE_CHECKING:
    from smtphub.dynamo import Step

EMAILS_PREFIX = "emails#"
KEPT_DAYS = 40  # after the month's end


class MonthlyCounter:
    """The transaction step that counts `n` e-mails of an account's month, refused beyond `limit`
    (0: no limit, and no step)."""

    def __init__(self, table: str, limit: int) -> None:
        self.table = table
        self.limit = limit

    @staticmethod
    def key(account_id: str, when: datetime) -> str:
        return f"{EMAILS_PREFIX}{account_id}#{when:%Y%m}"

    def steps(self, account_id: str, count: int, now: float) -> list[Step]:
        if self.limit <= 0:
            return []
        when = datetime.fromtimestamp(now, UTC)
        next_month = datetime(when.year + when.month // 12, when.month % 12 + 1, 1, tzinfo=UTC)
        update: Any = {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": self.key(account_id, when)}},
                "UpdateExpression": "ADD #count :n SET #expires = if_not_exists(#expires, :expires)",
                # what is left after this e-mail must not be negative
                "ConditionExpression": "attribute_not_exists(#count) OR #count <= :room",
                "ExpressionAttributeNames": {"#count": "count", "#expires": "expires"},
                "ExpressionAttributeValues": {
                    ":n": {"N": str(count)},
                    ":room": {"N": str(self.limit - count)},
                    ":expires": {"N": str(int(next_month.timestamp()) + KEPT_DAYS * 86400)},
                },
            }
        }
        return [(update, MonthlyLimitExceeded)]

    def refuses(self, count: int) -> bool:
        """Whether `count` e-mails could never pass, whatever was sent this month."""
        return 0 < self.limit < count
