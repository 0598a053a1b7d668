"""Domain dataclasses to DynamoDB items and back, with one table of renamed attributes per model.

A field added to a model is stored and read back under its own name without touching a repository;
`renamed` lists only the attributes whose stored name differs (kept as upstream spells them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any, Generic, TypeVar

from smtphub.dynamo import Item, from_item, to_item

T = TypeVar("T")
# Stored only while true or not 0 (an item without one reads as false or 0): `Record.counted` and an SMTP
# server's `faults`, so that an item written before them, or written back unchanged, keeps its attributes
# as they were.
SPARSE_FLAGS = frozenset({"counted", "faults"})


class Codec(Generic[T]):
    """`model`'s items: each field under its own name or the one `renamed` gives it; a field whose value is
    not a plain value (a nested domain type) is stored as `nested[field] = (to_plain, from_plain)` say."""

    def __init__(
        self,
        model: type[T],
        renamed: Mapping[str, str],
        nested: Mapping[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] | None = None,
    ) -> None:
        self.model = model
        self.to_stored = dict(renamed)
        self.to_field = {stored: name for name, stored in renamed.items()}
        self.names = tuple(f.name for f in fields(model))  # type: ignore[arg-type]
        self.nested = dict(nested or {})

    def stored(self, name: str) -> str:
        """The item attribute that holds field `name`."""
        return self.to_stored.get(name, name)

    def values(self, obj: T) -> dict[str, Any]:
        """The item's values by stored name (None included: `to_item` leaves it out)."""
        values = {self.stored(name): getattr(obj, name) for name in self.names}
        for name in SPARSE_FLAGS.intersection(self.names):
            values[self.stored(name)] = values[self.stored(name)] or None
        for name, (to_plain, _) in self.nested.items():
            if values[self.stored(name)] is not None:
                values[self.stored(name)] = to_plain(values[self.stored(name)])
        return values

    def encode(self, obj: T, **extra: Any) -> Item:
        return to_item({**self.values(obj), **extra})

    def decode(self, item: Mapping[str, Any]) -> T:
        values = from_item(item)
        known = {self.to_field.get(key, key): value for key, value in values.items()}
        for name, (_, from_plain) in self.nested.items():
            if known.get(name) is not None:
                known[name] = from_plain(known[name])
        return self.model(**{name: known[name] for name in self.names if name in known})
