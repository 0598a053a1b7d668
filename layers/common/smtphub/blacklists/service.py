"""Blacklists: the account's four endpoints, and what sending and unsubscribing ask of them.

Every endpoint is the account's app's (another account's app, or a missing one: `App not found`). An
address is listed once per app, normalized; the first entry stays (its `created`, its `idsending`), except
that the recipient's own unsubscribe replaces another kind, so that the account can no longer remove it.
A new entry fires `blacklisted_added` (smtphub.blacklists.notices); an address already listed fires
nothing.

For the send service (emails/send's seam) `listed(app_id, addresses)`; for the sender (its auto-blacklist
hook) `add_automatic(app, email, sending_id)`; for the unsubscribe route `add_by_recipient(...)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from smtphub.blacklists.models import (
    AUTOMATIC,
    BY_ACCOUNT,
    BY_RECIPIENT,
    AddEntry,
    Entry,
    EntryPage,
    EntryRef,
    ListEntries,
    normalized,
)
from smtphub.blacklists.notices import BLACKLISTED_ADDED, EMAIL, IDSENDING, NoOutbox, Outbox, tell
from smtphub.blacklists.repository import ENTRY_CODEC, BlacklistRepository
from smtphub.ids import new_id, now_iso
from smtphub.observability import logger

if TYPE_CHECKING:
    from smtphub.apps.models import App
    from smtphub.apps.repository import AppRepository

# The replies that name the mailbox as the reason a recipient is refused for good (RFC 5321): 550 mailbox
# unavailable, 551 user not local, 553 mailbox name not allowed. Any other code, a 4xx, a 5xx to the whole
# message, or no reply (a server fault) never blacklists anyone.
AUTOBLACKLIST_CODES = frozenset({550, 551, 553})


def rejects_the_mailbox(code: int | None) -> bool:
    """Whether an SMTP reply to a recipient's RCPT TO says the mailbox is refused for good."""
    return code in AUTOBLACKLIST_CODES


class BlacklistService:
    def __init__(
        self, apps: AppRepository, entries: BlacklistRepository, outbox: Outbox | None = None
    ) -> None:
        self.apps = apps
        self.entries = entries
        self.outbox = outbox or NoOutbox()

    def add(self, command: AddEntry) -> Entry:
        """blacklist/add: the entry (the one already there when the address was listed)."""
        app = self.apps.get_live(command.account_id, command.app_id)
        entry = Entry(new_id(), app.id, normalized(command.email), now_iso(), BY_ACCOUNT, ip=command.ip)
        live = self.apps.live_condition(app.account_id, app.id)
        return self._added(app, entry, self.entries.add(entry, live))

    def find_by_app(self, query: ListEntries) -> EntryPage:
        """One page of the app's entries, by address."""
        self.apps.get_owned(query.account_id, query.app_id)
        items = self.entries.entries(query.app_id)
        start = query.page * query.size
        page = tuple(ENTRY_CODEC.decode(item) for item in items[start : start + query.size])
        return EntryPage(page, len(items), query.page, query.size)

    def is_listed(self, ref: EntryRef) -> bool:
        self.apps.get_owned(ref.account_id, ref.app_id)
        return self.entries.get(ref.app_id, normalized(ref.email)) is not None

    def remove(self, ref: EntryRef) -> None:
        """blacklist/remove: EmailNotFound when not listed, ListedByRecipient when the recipient listed it."""
        self.apps.get_owned(ref.account_id, ref.app_id)
        self.entries.remove(ref.app_id, normalized(ref.email))
        logger.info("blacklist entry removed", extra={"idapp": ref.app_id})

    def listed(self, app_id: str, addresses: Iterable[str]) -> set[str]:
        """Which of `addresses` the app lists, as given (the send service skips them)."""
        given = {normalized(address): address for address in addresses}
        return {given[email] for email in self.entries.listed(app_id, given)}

    def add_automatic(self, app: App, email: str, sending_id: str, code: int | None = None) -> bool:
        """List a recipient its server rejected for good (the sender's hook, for an app with
        useautoblacklist: `code` the reply to its RCPT TO, which must name the mailbox); whether it is newly
        listed. An app without useautoblacklist, or another code, lists nothing."""
        if not app.useautoblacklist or (code is not None and not rejects_the_mailbox(code)):
            return False
        entry = Entry(new_id(), app.id, normalized(email), now_iso(), AUTOMATIC, sending_id)
        return self._added(app, entry, self.entries.add(entry)) is entry

    def add_by_recipient(self, app: App, email: str, sending_id: str, ip: str | None) -> bool:
        """List a recipient who unsubscribed (the unsubscribe route); whether it is newly listed by them."""
        entry = Entry(new_id(), app.id, normalized(email), now_iso(), BY_RECIPIENT, sending_id, ip)
        return self._added(app, entry, self.entries.add(entry)) is entry

    def _added(self, app: App, entry: Entry, stored: Entry) -> Entry:
        """`stored`; when it is `entry` (new), logged and told to the app."""
        if stored is entry:
            logger.info(
                "blacklisted",
                extra={"idapp": app.id, "addedby": entry.addedby, "idsending": entry.sending_id},
            )
            params = {EMAIL: entry.email, **({IDSENDING: entry.sending_id} if entry.sending_id else {})}
            tell(self.outbox, app, BLACKLISTED_ADDED, params, key=entry.id)
        return stored
