"""An app, and the commands that create, edit, find and remove one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

STATUS_ACTIVE = "A"


class AppFields(TypedDict, total=False):
    """What an account sets on an app (apps/save); on an edit, only what is given changes."""

    name: str
    strategy: str
    testemail: str
    defaultfromemail: str
    defaultfromname: str


@dataclass(frozen=True, slots=True)
class App:
    id: str
    account_id: str
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


@dataclass(frozen=True, slots=True)
class AppPage:
    """One page of an account's apps, oldest first."""

    content: tuple[App, ...]
    total: int
    number: int
    size: int


@dataclass(frozen=True, slots=True)
class SaveApp:
    """apps/save: a create when `app_id` is None (then `fields` has a name), else an edit."""

    account_id: str
    fields: AppFields
    app_id: str | None = None


@dataclass(frozen=True, slots=True)
class AppRef:
    """One of the account's apps (findById, remove, an SMTP list)."""

    account_id: str
    app_id: str


@dataclass(frozen=True, slots=True)
class ListApps:
    account_id: str
    page: int = 0
    size: int = 20
