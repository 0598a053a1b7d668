"""The JSON of an app (upstream's AppDTO) and of a page of apps (a Spring Data Page)."""

import math
from typing import TYPE_CHECKING, Annotated, Any, cast

from annotated_types import Ge
from typing_extensions import TypedDict

from smtphub.http import fields
from smtphub.http.requests.apps import HostList, Seconds, WebhookUrl
from smtphub.http.responses import Id, OneOf, Timestamp

if TYPE_CHECKING:
    from smtphub.apps.models import App, AppPage, SavedApp

Count = Annotated[int, Ge(0)]


class AppJson(TypedDict):
    """An app: the SMTP servers of one sender, where their test e-mails go, and upstream's `AppDTO`
    settings: how its e-mails are sent, and the webhooks called on its events."""

    _id: Id
    iduser: str
    """The owning account (its Cognito `sub`)."""
    name: str
    retaindata: bool
    strategy: fields.Strategy
    originserver: HostList | None
    origindomain: HostList | None
    defaultfromemail: str | None
    defaultfromname: str | None
    testemail: str | None
    timebetweenemails: Seconds
    useblacklist: bool
    useautoblacklist: bool
    webhook_sending_finished: WebhookUrl | None
    webhook_sending_error: WebhookUrl | None
    webhook_tracking_opened: WebhookUrl | None
    webhook_tracking_clicked: WebhookUrl | None
    webhook_blacklisted_added: WebhookUrl | None
    haswebhooksecret: bool
    """Whether the app has a webhook secret (the secret itself is never returned, but once by the
    apps/save that generated it)."""
    created: Timestamp
    modified: Timestamp
    status: Annotated[str, OneOf("smtphub.apps.models", "STATUS_ACTIVE")]


class AppSavedJson(AppJson):
    """The app apps/save stored, and the webhook secret it generated, if it did."""

    webhooksecret: str | None
    """The webhook secret this save generated (the app got its first webhook URL without one): shown here
    once, never again. Null in every other answer, a secret the request gave included."""


class SortJson(TypedDict):
    """Spring Data's `Sort` of the page (apps are listed oldest first, which Spring calls unsorted)."""

    sorted: bool
    unsorted: bool
    empty: bool


class PageableJson(TypedDict):
    """Spring Data's `Pageable` of the page."""

    sort: SortJson
    offset: Count
    pageNumber: Count
    pageSize: fields.PageSize
    paged: bool
    unpaged: bool


class AppPageJson(TypedDict):
    """One page of the account's apps, oldest first: a Spring Data `Page` as `PageImpl` serializes it,
    which upstream's clients parse."""

    content: list[AppJson]
    pageable: PageableJson
    last: bool
    totalPages: Count
    totalElements: Count
    """The account's apps."""
    size: fields.PageSize
    """The page size asked for."""
    number: Count
    """This page's number, from 0."""
    sort: SortJson
    first: bool
    numberOfElements: Count
    """Apps on this page."""
    empty: bool
    """Whether this page has no app."""


def app_json(app: "App") -> AppJson:
    """An app as upstream's AppDTO reads it: every member present, booleans and numbers never null."""
    return {
        "_id": app.id,
        "iduser": app.account_id,
        "name": app.name,
        "retaindata": app.retaindata,
        "strategy": app.strategy,
        "originserver": app.originserver,
        "origindomain": app.origindomain,
        "defaultfromemail": app.defaultfromemail,
        "defaultfromname": app.defaultfromname,
        "testemail": app.testemail,
        "timebetweenemails": app.timebetweenemails,
        "useblacklist": app.useblacklist,
        "useautoblacklist": app.useautoblacklist,
        "webhook_sending_finished": app.webhook_sending_finished,
        "webhook_sending_error": app.webhook_sending_error,
        "webhook_tracking_opened": app.webhook_tracking_opened,
        "webhook_tracking_clicked": app.webhook_tracking_clicked,
        "webhook_blacklisted_added": app.webhook_blacklisted_added,
        "haswebhooksecret": app.webhook_secret_version is not None,
        "created": app.created,
        "modified": app.modified,
        "status": app.status,
    }


def app_saved_json(saved: "SavedApp") -> AppSavedJson:
    """apps/save's answer: the app, then the secret it generated (null but that once)."""
    return {**app_json(saved.app), "webhooksecret": saved.generated_secret}


def _unsorted() -> SortJson:
    """Spring Data's Sort of an unsorted page (apps are listed oldest first, which Spring calls unsorted)."""
    return {"sorted": False, "unsorted": True, "empty": True}


def app_page_json(page: "AppPage") -> AppPageJson:
    """A Spring Data `Page` of apps (spring_page)."""
    return cast(
        AppPageJson, spring_page([app_json(app) for app in page.content], page.total, page.number, page.size)
    )


def spring_page(content: list[Any], total: int, number: int, size: int) -> dict[str, Any]:
    """A Spring Data `Page` as PageImpl serializes it (member order included), which upstream's
    RestResponsePageDTO and a generic Spring client both parse."""
    pages = math.ceil(total / size)
    return {
        "content": content,
        "pageable": {
            "sort": _unsorted(),
            "offset": number * size,
            "pageNumber": number,
            "pageSize": size,
            "paged": True,
            "unpaged": False,
        },
        "last": number >= pages - 1,
        "totalPages": pages,
        "totalElements": total,
        "size": size,
        "number": number,
        "sort": _unsorted(),
        "first": number == 0,
        "numberOfElements": len(content),
        "empty": not content,
    }
