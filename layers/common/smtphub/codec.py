"""Domain dataclasses to DynamoDB items and back, with one table of renamed attributes per model.

A field added to a model is stored and read back under its own name without touching a repository;
`renamed` lists only the attributes whose stored name differs (kept as upstream spells them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from smtphub.dynamo import Item, from_item, to_item

T = TypeVar("T")
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


class Codec(Generic[T]):
    def __init__(self, model: type[T], renamed: Mapping[str, str]) -> None:
        self.model = model
        self.to_stored = dict(renamed)
        self.to_field = {stored: name for name, stored in renamed.items()}
        self.names = tuple(f.name for f in fields(model))  # type: ignore[arg-type]

    def stored(self, name: str) -> str:
        """The item attribute that holds field `name`."""
        return self.to_stored.get(name, name)

    def values(self, obj: T) -> dict[str, Any]:
        """The item's values by stored name (None included: `to_item` leaves it out)."""
        return {self.stored(name): getattr(obj, name) for name in self.names}

    def encode(self, obj: T, **extra: Any) -> Item:
        return to_item({**self.values(obj), **extra})

    def decode(self, item: Mapping[str, Any]) -> T:
        values = from_item(item)
        known = {self.to_field.get(key, key): value for key, value in values.items()}
        return self.model(**{name: known[name] for name in self.names if name in known})
