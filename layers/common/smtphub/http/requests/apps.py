"""Request models of the /private/apps routes.

apps/save takes this service's fields and upstream's (QueueMail's `AppDTO`, by its names): the booleans
`retaindata`, `useblacklist`, `useautoblacklist`, `timebetweenemails` in seconds, `originserver` and
`origindomain` (host names or IPs, comma-separated), five webhook URLs and the webhook secret that signs
their calls (write-only, like a password). What a request alone decides is
judged here (syntax: an https URL, no credentials, a host); whether an IP literal may be called depends on
the deployment and is the service's (`smtphub.apps.webhooks`).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, cast
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from smtphub.addresses import MAX_HOST, is_dns_name
from smtphub.apps.models import AppFields, AppRef, ListApps, SaveApp
from smtphub.http.fields import (
    SECRET_SCHEMA,
    Boolean,
    Email,
    Id,
    Name,
    PageNumber,
    PageSize,
    Strategy,
    at_most,
    forbidden_character,
    invalid,
    parse_host,
    text_of,
    text_schema,
)
from smtphub.http.requests import REQUIRED, RequestModel

MAX_SECONDS = 86_400  # a day between two e-mails
MAX_HOSTS = 50
MAX_URL = 2048
SECONDS = f"must be an integer from 0 to {MAX_SECONDS}"
HOSTS = "must be host names or IP addresses separated by commas"
HTTPS = "must be an https URL"
MIN_SECRET, MAX_SECRET = 32, 256  # a webhook secret's characters (printable ASCII: at least 192 bits)


def _seconds(value: Any) -> int:
    text = text_of(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_SECONDS)):
        raise invalid(SECONDS)
    number = int(text)
    if number > MAX_SECONDS:
        raise invalid(SECONDS)
    return number


def _host_list(value: Any) -> str:
    """`myserver.com,192.168.0.1`: each a DNS name or IP literal, stored normalized, comma-separated."""
    text = text_of(value).strip()
    items = text.split(",")
    if len(items) > MAX_HOSTS or len(text) > MAX_HOSTS * (MAX_HOST + 1):
        raise invalid(f"must list at most {MAX_HOSTS} hosts")
    hosts = []
    for item in items:
        try:
            hosts.append(parse_host(item))
        except PydanticCustomError:
            raise invalid(HOSTS) from None
    return ",".join(hosts)


def _webhook(value: Any) -> str:
    """An https URL without user info whose host is a DNS name or an IP literal; kept as sent."""
    text = at_most(MAX_URL, text_of(value).strip())
    if forbidden_character(text) or any(character.isspace() for character in text):
        raise invalid("must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced [ in the host
        raise invalid(HTTPS) from None
    if parts.scheme.lower() != "https":
        raise invalid(HTTPS)
    if "@" in parts.netloc:
        raise invalid("must not contain a user name or password")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise invalid("must have a port from 1 to 65535")
    if not _is_host(parts.hostname or ""):
        raise invalid("must name a host (a DNS name or an IP address)")
    return text


def _webhook_secret(value: Any) -> str:
    """32 to 256 printable ASCII characters, no spaces: the HMAC key is their bytes, read alike everywhere."""
    text = text_of(value)
    if not MIN_SECRET <= len(text) <= MAX_SECRET:
        raise invalid(f"must be {MIN_SECRET} to {MAX_SECRET} characters")
    if not all("!" <= character <= "~" for character in text):
        raise invalid("must be printable ASCII characters without spaces")
    return text


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return is_dns_name(host)
    return True


Seconds = Annotated[
    int, PlainValidator(_seconds), WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_SECONDS})
]
HostList = Annotated[
    str,
    PlainValidator(_host_list),
    WithJsonSchema(
        {"type": "string", "maxLength": MAX_HOSTS * (MAX_HOST + 1), "example": "myserver.com,192.0.2.1"}
    ),
]
WebhookUrl = Annotated[
    str,
    PlainValidator(_webhook),
    WithJsonSchema(
        {"type": "string", "format": "uri", "maxLength": MAX_URL, "pattern": "^[Hh][Tt][Tt][Pp][Ss]://"}
    ),
]
WebhookSecret = Annotated[
    str,
    PlainValidator(_webhook_secret),
    text_schema(MAX_SECRET, minLength=MIN_SECRET, pattern="^[!-~]+$", **SECRET_SCHEMA),
]
_WEBHOOK = (
    "An https URL (no user name or password in it) called {when}. A host that is an IP literal must be "
    "public unless the deployment allows private addresses; a name is resolved and checked when called."
)


class AppSave(RequestModel):
    """apps/save: a create (needs `name`) without `idapp`, an edit with it."""

    # For openapi.yaml: an edit names its app, a create its name (what `problems` requires).
    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": ["idapp"]}, {"required": ["name"]}]})

    app_id: Id | None = Field(None, alias="idapp", description="The app to edit; absent to create one.")
    name: Name | None = Field(
        None, description="Required to create; unique among the account's apps (406 `APP_NAME_TAKEN`)."
    )
    testemail: Email | None = Field(
        None, description="Where `smtps/check` sends its test e-mail. A new app: the account's e-mail."
    )
    defaultfromemail: Email | None = Field(
        None,
        description="From address of test e-mails, unless the SMTP server has its own. A new app: the "
        "account's e-mail.",
    )
    defaultfromname: Name | None = Field(
        None, description="Display name of that From address. A new app: the account's e-mail."
    )
    strategy: Strategy | None = Field(
        None, description="How senders pick among the app's servers (any case). A new app: `RANDOM`."
    )
    retaindata: Boolean | None = Field(
        None, description="Keep subjects, bodies and attachment URLs of sent e-mails. A new app: false."
    )
    useblacklist: Boolean | None = Field(
        None, description="Recipients may unsubscribe (the blacklist). A new app: false."
    )
    useautoblacklist: Boolean | None = Field(
        None, description="Recipients that keep bouncing are blacklisted. A new app: false."
    )
    timebetweenemails: Seconds | None = Field(
        None, description="Seconds, at least, between two e-mails of the app. A new app: 60."
    )
    originserver: HostList | None = Field(
        None, description="Hosts or IPs allowed to send through the app, comma-separated. A new app: any."
    )
    origindomain: HostList | None = Field(
        None, description="As upstream's `AppDTO`: domain names, comma-separated. Stored and returned."
    )
    webhook_sending_finished: WebhookUrl | None = Field(
        None, description=_WEBHOOK.format(when="when an e-mail was sent")
    )
    webhook_sending_error: WebhookUrl | None = Field(
        None, description=_WEBHOOK.format(when="when an e-mail could not be sent")
    )
    webhook_tracking_opened: WebhookUrl | None = Field(
        None, description=_WEBHOOK.format(when="when a recipient opens an e-mail")
    )
    webhook_tracking_clicked: WebhookUrl | None = Field(
        None, description=_WEBHOOK.format(when="when a recipient clicks a link")
    )
    webhook_blacklisted_added: WebhookUrl | None = Field(
        None, description=_WEBHOOK.format(when="when an address is added to the blacklist")
    )
    webhook_secret: WebhookSecret | None = Field(
        None,
        alias="webhooksecret",
        description='The key the app\'s webhooks are signed with (HMAC-SHA256; README, "Webhooks"). '
        "Write-only: kept in AWS Secrets Manager, never returned (the JSON says `haswebhooksecret`). "
        "Without it, the save that leaves the app with a webhook URL and no secret generates one and "
        "returns it in `webhooksecret`, that once. Changing a URL does not need it again: the secret is "
        "never sent anywhere, only signatures made with it.",
    )

    def problems(self) -> dict[str, str]:
        return {"name": REQUIRED} if self.app_id is None and self.name is None else {}

    def command(self, account_id: str, account_email: str | None = None) -> SaveApp:
        """The save; a create fills in the test recipient and the sender with `account_email`."""
        fields = cast(AppFields, self.given("app_id", "webhook_secret"))
        return SaveApp(account_id, fields, self.app_id, account_email, self.webhook_secret)


class AppById(RequestModel):
    app_id: Id = Field(alias="idapp", description="The app's id.")

    def command(self, account_id: str) -> AppRef:
        return AppRef(account_id, self.app_id)


class AppPageRequest(RequestModel):
    page: PageNumber = Field(0, description="Page number, from 0.")
    size: PageSize = Field(20, description="Apps per page.")

    def command(self, account_id: str) -> ListApps:
        return ListApps(account_id, self.page, self.size)
