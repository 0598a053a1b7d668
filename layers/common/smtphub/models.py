"""Apps and SMTP servers: their JSON (the contract's) and their DynamoDB items.

An item stores the JSON fields under the same names, plus what only the service needs: the owner,
the optimistic-locking `version`, whether a password secret exists, and the index sort key.
Passwords are never a field here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

STATUS_ACTIVE = "A"
STATUS_DISABLED = "D"
DEFAULT_PRIORITY = 10
PRIORITY_DIGITS = 7  # priorities go up to 1,000,000


# --- DynamoDB attribute values, for the shapes these items use ---------------------------------


def to_attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, dict):
        return {"M": {key: to_attribute(item) for key, item in value.items()}}
    raise TypeError(f"no DynamoDB mapping for {type(value).__name__}")


def from_attribute(attribute: dict[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "M":
        return {key: from_attribute(item) for key, item in value.items()}
    if kind == "NULL":
        return None
    return value  # S, BOOL


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item; None values are left out rather than stored as NULL."""
    return {key: to_attribute(value) for key, value in values.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: from_attribute(value) for key, value in item.items()}


# --- Apps ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class App:
    id: str
    owner: str
    name: str
    created: str
    modified: str
    strategy: str = "RANDOM"
    testemail: str | None = None
    defaultfromemail: str | None = None
    defaultfromname: str | None = None
    status: str = STATUS_ACTIVE
    version: int = 1
    deleting: bool = False  # set while apps/remove cascades; no SMTP server can be added meanwhile

    def to_json(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "iduser": self.owner,
            "name": self.name,
            "strategy": self.strategy,
            "testemail": self.testemail,
            "defaultfromemail": self.defaultfromemail,
            "defaultfromname": self.defaultfromname,
            "created": self.created,
            "modified": self.modified,
            "status": self.status,
        }

    def to_item(self) -> dict[str, Any]:
        values = self.to_json()
        values.update(version=self.version, deleting=self.deleting or None)
        return to_item(values)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> App:
        values = from_item(item)
        return cls(
            id=values["_id"],
            owner=values["iduser"],
            name=values["name"],
            created=values["created"],
            modified=values["modified"],
            strategy=values.get("strategy", "RANDOM"),
            testemail=values.get("testemail"),
            defaultfromemail=values.get("defaultfromemail"),
            defaultfromname=values.get("defaultfromname"),
            status=values.get("status", STATUS_ACTIVE),
            version=values.get("version", 1),
            deleting=values.get("deleting", False),
        )


# --- SMTP servers --------------------------------------------------------------------------------

# JSON name of each Smtp attribute that has a different one (the rest are spelled the same).
_SMTP_JSON_NAMES = {"id": "_id", "app_id": "idapp", "ssltls": "sslTls"}
# Attributes that are not part of the JSON.
_SMTP_PRIVATE = frozenset({"owner", "version", "has_password"})


@dataclass(slots=True)
class Smtp:
    id: str
    app_id: str
    owner: str
    host: str
    port: int
    created: str
    modified: str
    priority: int = DEFAULT_PRIORITY
    username: str | None = None
    auth: bool = False
    starttls: bool = False
    ssltls: bool = False
    debug: bool = False
    defaultfromemail: str | None = None
    defaultfromname: str | None = None
    numerrors: int = 0
    status: str = STATUS_ACTIVE
    lastcheck: dict[str, Any] | None = None
    version: int = 1
    has_password: bool = False

    @property
    def rank(self) -> str:
        """The byApp index's sort key: priority (lower first), then creation time, then id."""
        return f"{self.priority:0{PRIORITY_DIGITS}d}#{self.created}#{self.id}"

    def to_json(self) -> dict[str, Any]:
        return {
            _SMTP_JSON_NAMES.get(f.name, f.name): getattr(self, f.name)
            for f in fields(self)
            if f.name not in _SMTP_PRIVATE
        }

    def item_values(self) -> dict[str, Any]:
        """The stored attributes, by item name (the password is never one of them)."""
        values = self.to_json()
        values.update(iduser=self.owner, version=self.version, hasPassword=self.has_password, rank=self.rank)
        return values

    def to_item(self) -> dict[str, Any]:
        return to_item(self.item_values())

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Smtp:
        values = from_item(item)
        return cls(
            id=values["_id"],
            app_id=values["idapp"],
            owner=values["iduser"],
            host=values["host"],
            port=values["port"],
            created=values["created"],
            modified=values["modified"],
            priority=values.get("priority", DEFAULT_PRIORITY),
            username=values.get("username"),
            auth=values.get("auth", False),
            starttls=values.get("starttls", False),
            ssltls=values.get("sslTls", False),
            debug=values.get("debug", False),
            defaultfromemail=values.get("defaultfromemail"),
            defaultfromname=values.get("defaultfromname"),
            numerrors=values.get("numerrors", 0),
            status=values.get("status", STATUS_ACTIVE),
            lastcheck=values.get("lastcheck"),
            version=values.get("version", 1),
            has_password=values.get("hasPassword", False),
        )
