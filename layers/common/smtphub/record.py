"""`Record`, the fields every stored resource (an app, an SMTP server) has: a domain type, so that the
models build on it without importing anything of DynamoDB's (their items are `smtphub.codec`'s)."""

from __future__ import annotations

from dataclasses import dataclass

ACTIVE = "A"  # a resource's status unless something disabled it


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """What every stored resource (an app, an SMTP server) has: its id, its account (the token's `sub`),
    when it was created and last modified (the contract's ISO-8601 strings), its status, the version
    that its conditional writes compare and increase, and whether it is counted in its account's quotas
    (smtphub.accounts.quotas: every create since quotas; one stored before, once the backfill counted it)."""

    id: str
    account_id: str
    created: str
    modified: str
    status: str = ACTIVE
    version: int = 1
    counted: bool = False  # stored only when true
