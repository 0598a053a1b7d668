"""An app, and the commands that create, edit, find and remove one.

Besides this service's own fields an app carries upstream's (QueueMail's `AppDTO`): what its senders
would use (`retaindata`, `useblacklist`, `useautoblacklist`, `timebetweenemails`, `originserver`,
`origindomain`) and the webhook URLs called on its events (smtphub.webhooks), with upstream's defaults.

An app that has a webhook URL has a webhook secret: the key its webhooks are signed with. Write-only like a
password: it lives in Secrets Manager only (smtphub.webhooks.secret), and the app's record names the one
version of it that belongs to the app (`webhook_secret_version`), never the secret itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from smtphub.record import ACTIVE, Record

STATUS_ACTIVE = ACTIVE
DEFAULT_STRATEGY = "RANDOM"
DEFAULT_SECONDS_BETWEEN_EMAILS = 60  # upstream's documented default
# Upstream's webhooks, by the names its AppDTO gives them: called (later) with the e-mail's id.
WEBHOOKS = (
    "webhook_sending_finished",
    "webhook_sending_error",
    "webhook_tracking_opened",
    "webhook_tracking_clicked",
    "webhook_blacklisted_added",
)
# Filled in from the account's e-mail when a new app does not give them (upstream's api-apps.md).
ACCOUNT_DEFAULTS = ("testemail", "defaultfromemail", "defaultfromname")


class AppFields(TypedDict, total=False):
    """What an account sets on an app (apps/save); on an edit, only what is given changes."""

    name: str
    strategy: str
    testemail: str
    defaultfromemail: str
    defaultfromname: str
    retaindata: bool
    useblacklist: bool
    useautoblacklist: bool
    timebetweenemails: int
    originserver: str
    origindomain: str
    webhook_sending_finished: str
    webhook_sending_error: str
    webhook_tracking_opened: str
    webhook_tracking_clicked: str
    webhook_blacklisted_added: str


@dataclass(frozen=True, slots=True)
class App(Record):
    """An app as stored: its own settings and upstream's (see the module's docstring)."""

    name: str
    strategy: str = DEFAULT_STRATEGY
    testemail: str | None = None
    defaultfromemail: str | None = None
    defaultfromname: str | None = None
    # Upstream's (an item stored before they existed reads with these defaults).
    retaindata: bool = False  # keep subjects, bodies and attachment URLs
    useblacklist: bool = False  # recipients may unsubscribe
    useautoblacklist: bool = False  # recipients that keep bouncing are blocked
    timebetweenemails: int = DEFAULT_SECONDS_BETWEEN_EMAILS  # seconds, at least, between two e-mails
    originserver: str | None = None  # hosts/IPs allowed to send through the app, comma-separated
    origindomain: str | None = None  # as upstream's AppDTO has it, comma-separated
    webhook_sending_finished: str | None = None  # https URLs (smtphub.apps.webhooks)
    webhook_sending_error: str | None = None
    webhook_tracking_opened: str | None = None
    webhook_tracking_clicked: str | None = None
    webhook_blacklisted_added: str | None = None
    # The version of the app's webhook secret that signs its webhooks (never the secret: smtphub.webhooks).
    webhook_secret_version: str | None = None
    deleting: bool = False  # set while apps/remove cascades; no SMTP server can be added meanwhile

    @property
    def has_webhooks(self) -> bool:
        """Whether any event of the app has a webhook URL."""
        return any(getattr(self, name) for name in WEBHOOKS)


@dataclass(frozen=True, slots=True)
class SavedApp:
    """What apps/save made: the app, and the webhook secret it generated, the one time it is shown."""

    app: App
    generated_secret: str | None = None


@dataclass(frozen=True, slots=True)
class AppPage:
    """One page of an account's apps, oldest first."""

    content: tuple[App, ...]
    total: int
    number: int
    size: int


@dataclass(frozen=True, slots=True)
class AppRef:
    """One of the account's apps (findById, remove, an SMTP list)."""

    account_id: str
    app_id: str


@dataclass(frozen=True, slots=True)
class SaveApp:
    """apps/save: a create when `app_id` is None (then `fields` has a name), else an edit.

    `account_email` is the caller's e-mail, when known: a create fills in ACCOUNT_DEFAULTS with it.
    `webhook_secret`, when given, becomes the app's webhook secret (write-only, never stored in the record).
    """

    account_id: str
    fields: AppFields
    app_id: str | None = None
    account_email: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ListApps:
    """apps/findAll: one page of the account's apps (`page` from 0, `size` apps a page)."""

    account_id: str
    page: int = 0
    size: int = 20
