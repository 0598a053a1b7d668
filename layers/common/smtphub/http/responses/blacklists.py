"""The JSON of a blacklist entry (upstream's, plus `addedby`) and of a page of them (a Spring Data Page)."""

from typing import TYPE_CHECKING, Annotated, cast

from typing_extensions import TypedDict

from smtphub.http import fields
from smtphub.http.responses import Id, OneOf, Timestamp
from smtphub.http.responses.apps import Count, PageableJson, SortJson, spring_page

if TYPE_CHECKING:
    from smtphub.blacklists.models import Entry, EntryPage


class EntryJson(TypedDict):
    """An address the app no longer sends to."""

    _id: Id
    idapp: Id
    idsending: Id | None
    """The e-mail that led to the entry: the one unsubscribed from, or the one rejected for good; null for an
    entry the account added."""
    email: str
    """The address, in lower case."""
    ip: str | None
    """Where the request that added it came from (the account's, or the recipient's when unsubscribing);
    null for an automatic entry."""
    created: Timestamp
    addedby: Annotated[str, OneOf("smtphub.blacklists.models", "SOURCES")]
    """`ACCOUNT` (blacklist/add), `RECIPIENT` (the unsubscribe link: blacklist/remove refuses it) or
    `AUTOMATIC` (a permanent rejection, with the app's `useautoblacklist`). Upstream's two lists are this
    one page: filter on it."""


class EntryPageJson(TypedDict):
    """One page of the app's entries, by address: a Spring Data `Page` as `PageImpl` serializes it."""

    content: list[EntryJson]
    pageable: PageableJson
    last: bool
    totalPages: Count
    totalElements: Count
    """The app's entries."""
    size: fields.PageSize
    """The page size asked for."""
    number: Count
    """This page's number, from 0."""
    sort: SortJson
    first: bool
    numberOfElements: Count
    """Entries on this page."""
    empty: bool
    """Whether this page has no entry."""


def entry_json(entry: "Entry") -> EntryJson:
    return {
        "_id": entry.id,
        "idapp": entry.app_id,
        "idsending": entry.sending_id,
        "email": entry.email,
        "ip": entry.ip,
        "created": entry.created,
        "addedby": entry.addedby,
    }


def entry_page_json(page: "EntryPage") -> EntryPageJson:
    content = [entry_json(entry) for entry in page.content]
    return cast(EntryPageJson, spring_page(content, page.total, page.number, page.size))
