"""A blacklist entry (upstream's `{_id, idapp, idsending, email, ip, created}`, plus how it was added) and the
commands of the blacklist endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# How an entry was added: by the account (blacklist/add), by the recipient (the unsubscribe link, which the
# account cannot undo: upstream's 406), or automatically (a permanent rejection, the app's useautoblacklist).
BY_ACCOUNT: Final = "ACCOUNT"
BY_RECIPIENT: Final = "RECIPIENT"
AUTOMATIC: Final = "AUTOMATIC"
SOURCES = (BY_ACCOUNT, BY_RECIPIENT, AUTOMATIC)


def normalized(address: str) -> str:
    """The form an address is listed and looked up by: trimmed, lower case (the send service compares
    recipients the same way)."""
    return address.strip().lower()


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    app_id: str
    email: str  # normalized
    created: str
    addedby: str = BY_ACCOUNT
    sending_id: str | None = None  # the e-mail that led to it (an unsubscribe, an automatic entry)
    ip: str | None = None  # where the request that added it came from (none for an automatic entry)


@dataclass(frozen=True, slots=True)
class EntryPage:
    content: tuple[Entry, ...]
    total: int
    number: int
    size: int


@dataclass(frozen=True, slots=True)
class AddEntry:
    """blacklist/add: the account lists `email` for its app."""

    account_id: str
    app_id: str
    email: str
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class EntryRef:
    """blacklist/isBlackListed and blacklist/remove: an address of one of the account's apps."""

    account_id: str
    app_id: str
    email: str


@dataclass(frozen=True, slots=True)
class ListEntries:
    """blacklist/findByApp: one page of the app's entries, by address."""

    account_id: str
    app_id: str
    page: int = 0
    size: int = 20
